"""``sip.SipStats`` as Prometheus counters (``acd_sip_*``), read at scrape time.

Labels are bounded: a fixed list of SIP methods, status codes and RFC 3261 timers
(anything else is ``other``). Re-exported by ``metrics.collectors``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .custom_collectors import _up

__all__ = [
    "OTHER",
    "SIP_CODES",
    "SIP_METHODS",
    "SIP_TIMERS",
    "SipStatsCollector",
    "SipStatsLike",
]

SIP_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE",
               "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH")
SIP_CODES = (100, 180, 181, 182, 183, 200, 202, 301, 302, 400, 401, 403, 404, 405, 406, 407,
             408, 410, 413, 415, 416, 420, 423, 480, 481, 482, 483, 484, 486, 487, 488, 489,
             491, 500, 501, 502, 503, 504, 505, 513, 600, 603, 604, 606)
SIP_TIMERS = ("B", "F", "H")
OTHER = "other"
_SIP_METHOD_SET = frozenset(SIP_METHODS)
_SIP_CODE_SET = frozenset(SIP_CODES)


class SipStatsLike(Protocol):
    """The fields of ``sip.SipStats`` this collector reads."""

    @property
    def requests_received(self) -> Mapping[str, int]: ...
    @property
    def responses_received(self) -> Mapping[int, int]: ...
    @property
    def requests_sent(self) -> Mapping[str, int]: ...
    @property
    def responses_sent(self) -> Mapping[int, int]: ...
    @property
    def retransmissions_sent(self) -> int: ...
    @property
    def retransmissions_received(self) -> int: ...
    @property
    def stray_acks(self) -> int: ...
    @property
    def stray_responses(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def timeouts(self) -> Mapping[str, int]: ...


def _fold(counts: Mapping[str, int] | Mapping[int, int], known: Collection[str]) -> dict[str, int]:
    out = dict.fromkeys(known, 0)
    out[OTHER] = 0
    for key, n in counts.items():
        name = str(key).upper() if isinstance(key, str) else str(key)
        out[name if name in known else OTHER] += n
    return out


class SipStatsCollector(Collector):
    """``sip.SipStats`` (monotonic counters) as ``acd_sip_*`` at scrape time."""

    def __init__(
        self,
        stats_provider: Callable[[], SipStatsLike],
        transactions_alive: Callable[[], int] | None = None,
    ) -> None:
        self.stats_provider = stats_provider
        self.transactions_alive = transactions_alive

    def describe(self) -> list[CounterMetricFamily]:
        return []

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        try:
            s = self.stats_provider()
            alive = None if self.transactions_alive is None else self.transactions_alive()
            methods_in = _fold(s.requests_received, _SIP_METHOD_SET)
            methods_out = _fold(s.requests_sent, _SIP_METHOD_SET)
            codes = [str(c) for c in SIP_CODES]
            codes_in = _fold(s.responses_received, codes)
            codes_out = _fold(s.responses_sent, codes)
            timers = _fold(s.timeouts, SIP_TIMERS)
            retrans = (s.retransmissions_received, s.retransmissions_sent)
            stray = (s.stray_acks, s.stray_responses)
            rejected = s.rejected
        except Exception:
            yield _up("sip", False)
            return
        req = CounterMetricFamily("acd_sip_requests", "SIP requests (new transactions and "
                                  "ACKs), by direction and method", labels=["direction", "method"])
        for direction, folded in (("received", methods_in), ("sent", methods_out)):
            for method in (*SIP_METHODS, OTHER):
                req.add_metric([direction, method], folded[method])
        resp = CounterMetricFamily("acd_sip_responses", "SIP responses by direction and "
                                   "status code", labels=["direction", "code"])
        for direction, folded in (("received", codes_in), ("sent", codes_out)):
            for code in (*codes, OTHER):
                resp.add_metric([direction, code], folded[code])
        rt = CounterMetricFamily("acd_sip_retransmissions", "SIP retransmissions: sent by "
                                 "our timers, received and absorbed", labels=["direction"])
        rt.add_metric(["received"], retrans[0])
        rt.add_metric(["sent"], retrans[1])
        st = CounterMetricFamily("acd_sip_stray_messages", "ACKs and responses matching no "
                                 "transaction", labels=["kind"])
        st.add_metric(["ack"], stray[0])
        st.add_metric(["response"], stray[1])
        rj = CounterMetricFamily("acd_sip_messages_rejected", "Unparseable SIP messages")
        rj.add_metric([], rejected)
        to = CounterMetricFamily("acd_sip_transaction_timeouts", "Transactions timed out, "
                                 "by RFC 3261 timer", labels=["timer"])
        for timer in (*SIP_TIMERS, OTHER):
            to.add_metric([timer], timers[timer])
        yield from (req, resp, rt, st, rj, to)
        if alive is not None:
            g = GaugeMetricFamily("acd_sip_transactions_alive", "SIP transactions in memory")
            g.add_metric([], alive)
            yield g
        yield _up("sip", True)

