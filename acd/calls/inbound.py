"""A new call's INVITE from a trunk: the checks in order, then answer or ring.

Source IP in a trunk's ``sources`` (403) → the dialled number's queue (404) → an SDP
offer (415/400; none: 488 ``Warning: 304``) with PCMU/PCMA audio (488 ``Warning: 305``).
Then a `Call` with a fresh internal id, `CallStarted`, and: announce mode → the RTP stream
is opened and `Bridge.answer_caller` answers; ringback mode → 180 and into the router.
Refusals after the trunk check emit a `CallEnded` with outcome ``rejected``.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import TYPE_CHECKING

from acd.logging import bind_context, get_logger
from config.routing import Media
from queueing import RoutingError
from sip.message import make_response
from sip.sdp import SdpError
from sip.transaction_events import RequestReceived

from .call import Call, Mode
from .events import CallEnded, CallStarted, HangupBy
from .wire import SDP, caller_identity, chosen_codec, parse_sdp

if TYPE_CHECKING:
    from .engine import CallControl

__all__ = ["Inbound"]

log = get_logger("acd.calls")


class Inbound:
    def __init__(self, engine: CallControl) -> None:
        self.engine = engine
        self._trunks: dict[str, str | None] = {}  # source host -> trunk (settings are fixed)

    def on_invite(self, event: RequestReceived, user: str, now: float) -> None:
        """A dialled ``user`` that is not a feature code: check, then answer or ring."""
        engine, request = self.engine, event.request
        trunk = self.trunk_for(event.source.host)
        if trunk is None:
            log.warning("call_refused", status=403, reason="not-a-trunk",
                        source=f"{event.source.host}:{event.source.port}", dialled=user)
            engine.reply(event, 403, now)
            return
        caller, display = caller_identity(request)
        try:
            queue = engine.router.queue_for_number(user)
        except RoutingError:
            self.refuse(event, 404, trunk, caller, user, "unknown-number", now)
            return
        try:
            offer = parse_sdp(request)
        except SdpError as exc:
            self.refuse(event, 400 if exc.code != "not-sdp" else 415, trunk, caller, user,
                        exc.code, now, [("Accept", SDP)])
            return
        if offer is None:
            warning = f'304 {engine.domain} "SDP offer required"'
            self.refuse(event, 488, trunk, caller, user, "no-offer", now,
                        [("Accept", SDP), ("Warning", warning)])
            return
        try:
            codec = chosen_codec(offer)
        except SdpError as exc:
            code = "305" if exc.code == "no-common-codec" else "304"
            warning = f'{code} {engine.domain} "only PCMU/PCMA audio is supported"'
            self.refuse(event, 488, trunk, caller, user, exc.code, now,
                        [("Accept", SDP), ("Warning", warning)])
            return
        qcfg = engine.queues.get(queue)
        mode = Mode.RINGBACK if qcfg is not None and qcfg.media is Media.RINGBACK else Mode.ANNOUNCE
        call = Call(
            id="c" + secrets.token_hex(8), trunk=trunk, queue=queue, mode=mode, caller=caller,
            caller_display=display, dialled=user, invite=request, key=event.key,
            source=event.source, to_tag=secrets.token_hex(8), caller_offer=offer,
            codec=codec, started_at=now,
        )
        call.caller_sdp = offer
        engine.calls[call.id] = call
        engine.by_invite[event.key] = call
        with bind_context(call_id=call.id):
            log.info("call_started", sip_call_id=request.call_id, trunk=trunk, queue=queue,
                     caller=caller, dialled=user, mode=mode.value)
        engine.emit(CallStarted(call_id=call.id, sip_call_id=request.call_id, trunk=trunk,
                                queue=queue, caller=caller, dialled=user, mode=mode.value,
                                at=now), now)
        if mode is Mode.ANNOUNCE:
            call.media_open = True
            engine.media.open(call.id, offer, call.codec,
                              lambda port, when: engine.bridge.answer_caller(call, port, when))
        else:
            ringing = make_response(request, 180, to_tag=call.to_tag,
                                    extra=[("Contact", engine.contact(event.source.transport))])
            call.ringing_sent = engine.sip.respond(event.key, ringing, now)
            engine.enter_router(call, now)

    def trunk_for(self, host: str) -> str | None:
        """The name of the trunk whose ``sources`` allow ``host`` (an IP address)."""
        try:
            return self._trunks[host]
        except KeyError:
            pass
        if len(self._trunks) >= 4096:
            self._trunks.clear()
        found = self._trunks[host] = self._match_trunk(host)
        return found

    def _match_trunk(self, host: str) -> str | None:
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None
        for trunk in self.engine.settings.trunks:
            if trunk.allows(host.strip("[]")):
                return trunk.name
        return None

    def refuse(self, event: RequestReceived, status: int, trunk: str, caller: str,
               dialled: str, reason: str, now: float,
               extra: list[tuple[str, str]] | None = None) -> None:
        engine = self.engine
        log.warning("call_refused", status=status, reason=reason, trunk=trunk, caller=caller,
                    dialled=dialled)
        engine.reply(event, status, now, extra)
        engine.emit(CallEnded(call_id="", sip_call_id=event.request.call_id, trunk=trunk,
                              queue=None, caller=caller, dialled=dialled, outcome="rejected",
                              hangup_by=HangupBy.SYSTEM, caller_status=status, agent_id=None,
                              reason=reason, at=now), now)
