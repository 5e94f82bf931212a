"""Simulated agents' phones and a simulated PBX, over real SIP/UDP on loopback.

Every peer is a `UserAgent` (our sans-IO `Endpoint` on a `SipTransport` socket):

* `AgentPhone` REGISTERs with digest (MD5 or SHA-256, its preference among the ACD's
  challenges), rings for a short real delay then answers an INVITE with its own SDP (a
  dummy RTP port), answers re-INVITE/UPDATE/OPTIONS, hangs up after the call's handle
  time when it is the agent who ends the call, answers 486 when already on a call, and
  pauses / unpauses now and then through feature codes (``*22`` / ``*21``, INVITEs with
  digest) or the supervisor API.
* `Pbx` places INVITEs with SDP to the queues' numbers, ACKs, answers the ACD's 3PCC
  re-INVITE (announce mode: that is when the caller is connected; ringback: the 200),
  gives up after the caller's patience when not yet connected (BYE once answered by the
  ACD, else CANCEL) and hangs up after talking when it is the caller who ends the call.

The callers' random quantities come from the traffic model (`acd.demo.profile` on top of
`queueing.PoissonTraffic`): the PBX uses a unique caller number per call, so the phone
that gets the call finds its handle time by the From user. ``speed`` divides handle
times, patience and inter-arrival times (the ACD's own timers stay real).

The code lives in `acd.demo.phones` (`AgentPhone`, `PhoneSpec`), `acd.demo.pbx` (`Pbx`)
and `acd.demo.simcalls` (`CallerResult`, `SimCall`, `SimStats`, `stats_json`); this
module re-exports them.
"""

from __future__ import annotations

from .pbx import Pbx
from .phones import AgentPhone, PhoneSpec
from .simcalls import CallerResult, SimCall, SimStats, stats_json

__all__ = [
    "AgentPhone",
    "CallerResult",
    "Pbx",
    "PhoneSpec",
    "SimCall",
    "SimStats",
    "stats_json",
]
