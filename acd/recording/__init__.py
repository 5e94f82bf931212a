"""Recording: routing-core and call-engine events -> the store's records (docs/store.md,
docs/kpi.md). The composition root adds `JournalRecorder.on_event` to the routing
service's observers (see ``acd.observability``)."""

from acd.recording.journal import CALL_FACT_FIELDS, CallFacts, JournalRecorder, utc

__all__ = ["CALL_FACT_FIELDS", "CallFacts", "JournalRecorder", "utc"]
