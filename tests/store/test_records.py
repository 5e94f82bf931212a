"""Record types: validation and the spool line format."""

from __future__ import annotations

from datetime import datetime

import pytest

from acd.store import (
    AgentStateChange,
    CallOutcome,
    CallRecord,
    HangupBy,
    QueueEvent,
    QueueEventKind,
    RegistrationRow,
)
from acd.store.records import Record, decode_record, encode_record
from tests.store.util import at

SAMPLES: list[Record] = [
    QueueEvent(
        event_id="e1",
        ts=at(0),
        event=QueueEventKind.ENTER,
        call_id="c1",
        queue="q",
        data={"skills": {"粤语": 5}, "priority": 1},
    ),
    CallRecord(
        call_id="c1",
        as_of=at(60),
        trunk="pbx",
        caller_number="13800000000",
        dialled_number="12345",
        queue="q",
        arrived_at=at(0),
        queued_at=at(1),
        first_offered_at=at(2),
        answered_at=at(3),
        ended_at=at(60),
        agent_id="1001",
        outcome=CallOutcome.ANSWERED,
        wait_seconds=2.5,
        talk_seconds=57.0,
        hangup_by=HangupBy.CALLER,
        caller_sip_code=200,
        agent_sip_code=200,
        skills_required=["mandarin"],
        skills_relaxed=[],
        reason=None,
    ),
    AgentStateChange(
        change_id="a1",
        agent_id="1001",
        status="paused",
        state="idle",
        started_at=at(0),
        ended_at=at(5),
        reason="training",
    ),
    RegistrationRow(
        aor="sip:1001@acd",
        contact="sip:1001@10.0.0.5:5060",
        expires_at=at(3600),
        updated_at=at(0),
        source_transport="tcp",
        source_host="10.0.0.5",
        source_port=5060,
        user_agent="Zoiper",
        call_id="x",
        cseq=7,
        q=0.8,
    ),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: r.KIND)
def test_spool_line_round_trip(record: Record) -> None:
    line = encode_record(record)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_record(line) == record


def test_strings_become_enums() -> None:
    event = QueueEvent(ts=at(0), event="abandon")  # type: ignore[arg-type]
    assert event.event is QueueEventKind.ABANDON
    assert len(event.event_id) == 36  # a fresh UUID when none is given


@pytest.mark.parametrize(
    "build",
    [
        lambda: QueueEvent(ts=datetime(2026, 1, 1), event=QueueEventKind.ENTER),
        lambda: QueueEvent(ts=at(0), event="dance"),
        lambda: CallRecord(call_id="", as_of=at(0)),
        lambda: CallRecord(call_id="c", as_of=at(0), outcome="lost"),
        lambda: CallRecord(call_id="c", as_of=at(0), hangup_by="nobody"),
        lambda: CallRecord(call_id="c", as_of=at(0), wait_seconds=-1.0),
        lambda: CallRecord(call_id="c", as_of=at(0), ended_at=datetime(2026, 1, 1)),
        lambda: AgentStateChange(
            change_id="a", agent_id="", status="s", state="t", started_at=at(0)
        ),
        lambda: RegistrationRow(aor="a", contact="", expires_at=at(0), updated_at=at(0)),
    ],
)
def test_invalid_records_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        b'{"v":1,"kind":"unknown","rec":{}}',
        b'{"v":2,"kind":"queue_event","rec":{"ts":"2026-01-01T00:00:00+00:00","event":"enter"}}',
        b'{"v":1,"kind":"queue_event","rec":{"ts":"yesterday","event":"enter"}}',
        b'{"v":1,"kind":"queue_event","rec":{"bogus":1}}',
    ],
)
def test_malformed_spool_lines_raise_value_error(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode_record(line)


def test_nan_is_not_json() -> None:
    with pytest.raises(ValueError):
        encode_record(QueueEvent(ts=at(0), event=QueueEventKind.ENTER, data={"x": float("nan")}))
