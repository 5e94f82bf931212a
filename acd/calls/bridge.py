"""Answering the caller, and joining caller and agent: relay (ringback) or 3PCC (announce).

Announce mode (RFC 3725 flow I, without offerless INVITEs, which real softphones refuse):

1. the caller's INVITE is answered by the ACD with its own SDP (RTP from the MediaPlayer);
2. the agent's INVITE carries the caller's ORIGINAL offer; the agent answers it (200+SDP);
3. the ACD stops its RTP and re-INVITEs the caller with the agent's answer as a new offer
   under the ``o=`` identity the caller already knows (same session id, version + 1);
4. the caller's 200 is ACKed; only if its SDP differs from what the agent was given
   (address, port, codec or direction: `media_changed`) is the agent re-INVITEd with it.

Ringback mode: the agent's 200 SDP becomes the body of our 200 to the caller's INVITE.
If the caller cancelled meanwhile (`SipService.respond` refuses), the agent is hung up.

In-dialog re-INVITE/UPDATE from either side is answered at once with the SDP we last gave
that side (direction mirrored); a changed offer is passed on to the other side by our own
re-INVITE (hold/unhold, a moved media address).

Our re-INVITEs (`Bridge.reinvite`) outlive the call when they must: a BYE from either side
while one is pending ends the call at once (the BYE is not held back: RFC 3261 §15.1.2 has
the peer answer the pending re-INVITE 487), yet every 2xx that still arrives, and each
retransmission of it, is ACKed (§13.2.2.4; RFC 5407 §3.2) and nothing else is done with it.
One that got a provisional but no final response within 64*T1 is CANCELled (§9.1): an
INVITE transaction in Proceeding has no timer of its own.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from acd.logging import bind_context, get_logger
from acd.sipservice import ClientOutcome
from sip.dialog import Dialog
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.message import Request, Response, make_response
from sip.offer_answer import ANSWER_DIRECTION, media_changed, negotiate_answer, reoffer
from sip.requests import ALLOW
from sip.sdp import Attribute, SdpError, SessionDescription
from sip.transaction_events import Address, RequestReceived, TransactionKey

from .agent_leg import AgentLeg, LegState
from .call import Call, CallState, Mode
from .events import HangupBy
from .timers import Deadline
from .wire import SDP, dialog_destination, parse_sdp

if TYPE_CHECKING:
    from .engine import CallControl, Owner

__all__ = ["Bridge", "mirror"]

log = get_logger("acd.calls")


def mirror(current: SessionDescription, offer: SessionDescription | None) -> SessionDescription:
    """``current`` as the answer to ``offer``: the audio direction mirrored (hold gets
    recvonly, unhold sendrecv); the version bumped only when that changed it."""
    audio_offer = offer.audio if offer is not None else None
    audio = current.audio
    if offer is None or audio_offer is None or audio is None:
        return current
    wanted = ANSWER_DIRECTION.get(offer.direction_of(audio_offer), "sendrecv")
    if current.direction_of(audio) == wanted:
        return current
    attrs = tuple(a for a in audio.attributes
                  if a.name not in ("sendrecv", "sendonly", "recvonly", "inactive"))
    new_audio = dataclasses.replace(audio, attributes=(*attrs, Attribute(name=wanted)))
    media = tuple(new_audio if m is audio else m for m in current.media)
    origin = dataclasses.replace(current.origin, version=current.origin.version + 1)
    return dataclasses.replace(current, media=media, origin=origin)


class Bridge:
    def __init__(self, engine: CallControl) -> None:
        self.engine = engine

    # -- announce mode: the ACD answers --------------------------------------------------
    def answer_caller(self, call: Call, port: int | None, now: float) -> None:
        engine = self.engine
        with bind_context(call_id=call.id):
            if call.ended:
                engine.media.close(call.id)
                return
            if port is None:
                call.media_open = False
                engine.hangup(call, HangupBy.SYSTEM, "media-unavailable", now, caller_status=503)
                return
            ours = negotiate_answer(
                call.caller_offer, local_address=engine.media.host, local_port=port,
                session_id=str(secrets.randbelow(2**62) + 1), version=1, username="acd",
            )
            extra = [("Contact", engine.contact(call.source.transport)),
                     ("Allow", ", ".join(ALLOW)), *engine.keepalive.caller_headers(call)]
            answer = make_response(call.invite, 200, to_tag=call.to_tag, extra=extra,
                                   body=bytes(ours))
            answer.headers.add("Content-Type", SDP)
            if not engine.sip.respond(call.key, answer, now):
                engine.hangup(call, HangupBy.CALLER, "caller-cancelled", now)
                return
            call.final_status = 200
            call.our_sdp = ours
            try:
                call.dialog = Dialog.uas(call.invite, answer, engine.local(call.source.transport))
            except (RemoteProtocolError, LocalProtocolError) as exc:
                log.warning("caller_dialog_failed", error=str(exc))
                engine.hangup(call, HangupBy.SYSTEM, "bad-invite", now)
                return
            engine.add_dialog(call.dialog, (call, None))
            engine.media.greet(call.id, call.queue)
            engine.enter_router(call, now)
            if not call.ended:
                engine.keepalive.schedule_announcement(call, now)
                engine.keepalive.watch_caller(call, now)

    def caller_acked(self, call: Call, now: float) -> None:
        leg = call.pending_bridge
        if leg is not None and not call.ended:
            call.pending_bridge = None
            self._reinvite_caller(call, leg, now)

    # -- an agent (or overflow target) answered and was ACKed (`AgentLegs.answered`) ------
    def join(self, call: Call, leg: AgentLeg, sdp: SessionDescription, response: Response,
             now: float) -> None:
        """Bridge ``leg`` (its offer accepted by the router) to ``call``."""
        engine = self.engine
        call.legs.pop(leg.agent_id, None)
        leg.answer_sdp, leg.answer_body = sdp, response.body
        leg.state = LegState.ANSWERED
        call.bridged = leg
        assert leg.dialog is not None
        engine.add_dialog(leg.dialog, (call, leg))
        for other in list(call.legs.values()):  # ring-all: the router withdraws them too
            engine.cancel_leg(other, now)
        call.legs.clear()
        log.info("agent_answered", agent_id=leg.agent_id)
        if call.mode is Mode.RINGBACK:
            self._relay_answer(call, leg, response, now)
        else:
            call.state = CallState.CONNECTING
            if call.acked:
                self._reinvite_caller(call, leg, now)
            else:
                call.pending_bridge, call.bridged = leg, None

    def _relay_answer(self, call: Call, leg: AgentLeg, response: Response, now: float) -> None:
        engine = self.engine
        extra = [("Contact", engine.contact(call.source.transport)), ("Allow", ", ".join(ALLOW)),
                 *engine.keepalive.caller_headers(call)]
        answer = make_response(call.invite, 200, to_tag=call.to_tag, extra=extra,
                               body=response.body)
        answer.headers.add("Content-Type", SDP)
        if not engine.sip.respond(call.key, answer, now):
            log.info("caller_gone_before_answer")
            call.final_status = 487
            engine.hangup(call, HangupBy.CALLER, "caller-cancelled", now)
            return
        call.final_status = 200
        call.our_sdp = leg.answer_sdp
        try:
            call.dialog = Dialog.uas(call.invite, answer, engine.local(call.source.transport))
        except (RemoteProtocolError, LocalProtocolError):
            engine.hangup(call, HangupBy.SYSTEM, "bad-invite", now)
            return
        engine.add_dialog(call.dialog, (call, None))
        self._connected(call, leg, now)

    def _connected(self, call: Call, leg: AgentLeg, now: float) -> None:
        call.state = CallState.BRIDGED
        leg.state = LegState.CONNECTED
        log.info("call_bridged", agent_id=leg.agent_id, mode=call.mode.value)
        self.engine.keepalive.watch_caller(call, now)
        self.engine.keepalive.watch_agent(call, leg, now)

    # -- 3PCC: move the caller's media to the agent ------------------------------------------
    def _reinvite_caller(self, call: Call, leg: AgentLeg, now: float) -> None:
        engine = self.engine
        call.bridged = leg
        if call.announce is not None:
            call.announce.cancel()
            call.announce = None
        if call.media_open:
            engine.media.close(call.id)
            call.media_open = False
        dialog, previous, agent_sdp = call.dialog, call.our_sdp, leg.answer_sdp
        if dialog is None or previous is None or agent_sdp is None:
            engine.hangup(call, HangupBy.SYSTEM, "bridge-impossible", now)
            return
        offer = reoffer(agent_sdp, previous=previous)
        call.our_sdp = offer
        self.reinvite(dialog, call.source, bytes(offer), now,
                      lambda outcome, when: self._caller_reinvited(call, leg, outcome, when))
        log.info("caller_reinvited", agent_id=leg.agent_id, version=offer.origin.version)

    def _caller_reinvited(self, call: Call, leg: AgentLeg, outcome: ClientOutcome,
                          now: float) -> None:
        """The first final response to the 3PCC re-INVITE (its 2xx already ACKed)."""
        engine = self.engine
        status, response = outcome.status, outcome.response
        if call.ended or call.state is not CallState.CONNECTING:
            return  # a BYE from either side came first: the call is over, nothing to do
        with bind_context(call_id=call.id, agent_id=leg.agent_id):
            if status >= 300 or response is None:
                log.warning("caller_reinvite_failed", status=status)
                if status == 481 and call.dialog is not None:
                    call.dialog.terminate()  # §12.2.1.2: the caller's dialog is gone: no BYE
                engine.hangup(call, HangupBy.SYSTEM, f"reinvite-failed-{status}", now)
                return
            try:
                answer = parse_sdp(response)
            except SdpError:
                answer = None
            if answer is None:
                engine.hangup(call, HangupBy.SYSTEM, "reinvite-no-sdp", now)
                return
            call.caller_sdp = answer
            if leg.offered_sdp is not None and media_changed(leg.offered_sdp, answer):
                self.update_peer(call, leg, to_agent=True, sdp=answer, now=now)
            self._connected(call, leg, now)

    # -- updates passed between the two sides ------------------------------------------------
    def update_peer(self, call: Call, leg: AgentLeg, *, to_agent: bool, sdp: SessionDescription,
                    now: float) -> None:
        """Re-INVITE one side with the other side's new SDP (a fire-and-forget offer)."""
        engine = self.engine
        dialog = leg.dialog if to_agent else call.dialog
        previous = leg.offered_sdp if to_agent else call.our_sdp
        source: Address = leg.dest if to_agent else call.source
        if dialog is None or previous is None or dialog.id in engine.reinviting:
            return
        offer = reoffer(sdp, previous=previous)
        if to_agent:
            leg.offered_sdp = offer
        else:
            call.our_sdp = offer

        def done(outcome: ClientOutcome, when: float) -> None:
            if outcome.status in (408, 481) and not call.ended:
                with bind_context(call_id=call.id):
                    engine.hangup(call, HangupBy.SYSTEM, f"update-failed-{outcome.status}", when)

        self.reinvite(dialog, source, bytes(offer), now, done)
        log.info("media_update_sent", to="agent" if to_agent else "caller")

    # -- our re-INVITEs ------------------------------------------------------------------------
    def reinvite(self, dialog: Dialog, source: Address, body: bytes, now: float,
                 on_final: Callable[[ClientOutcome, float], None], *,
                 extra: tuple[tuple[str, str], ...] = ()) -> TransactionKey:
        """Send a re-INVITE on ``dialog`` (the peer's own meanwhile gets 491) and call
        ``on_final(outcome, when)`` once, for its first final response or failure. Used
        for the 3PCC, media updates and RFC 4028 refreshes (`Keepalive`, ``extra``:
        its Session-Expires/Supported headers).

        Every 2xx is ACKed, each retransmission again with the same ACK, also after the
        call ended and our BYE went out (§13.2.2.4; RFC 5407 §3.2). A provisional but no
        final response 64*T1 after sending: CANCEL (§9.1), which ends in the peer's 487 or
        in the timer B the CANCEL starts; without a provisional timer B ends it anyway."""
        engine = self.engine
        request = dialog.create_request("INVITE", body=body, content_type=SDP,
                                        extra=(*extra, ("Allow", ", ".join(ALLOW))))
        pending = _Pending(dialog, _dest(dialog, source))
        engine.reinviting.add(dialog.id)
        key = engine.sip.request(request, pending.dest, now,
                                 lambda outcome, when: self._reinvite_answered(
                                     pending, outcome, when, on_final))
        pending.guard = engine.deadlines.at(now + 64 * engine.settings.sip.t1,
                                            lambda when: self._give_up(pending, key, when))
        return key

    def _reinvite_answered(self, pending: _Pending, outcome: ClientOutcome, now: float,
                           on_final: Callable[[ClientOutcome, float], None]) -> None:
        engine = self.engine
        if outcome.status < 200:
            pending.provisional = True
            return
        if outcome.status < 300 and outcome.response is not None:
            if pending.ack is None:
                pending.ack = pending.dialog.create_request("ACK")
            engine.sip.send_ack(pending.ack, pending.dest, now)
        if pending.done:
            return  # a 2xx retransmission: ACKed again, nothing else
        pending.done = True
        if pending.guard is not None:
            pending.guard.cancel()
        engine.reinviting.discard(pending.dialog.id)
        on_final(outcome, now)

    def _give_up(self, pending: _Pending, key: TransactionKey, now: float) -> None:
        if pending.done or not pending.provisional:
            return  # answered, or no provisional: timer B (64*T1 too) ends it
        if self.engine.sip.cancel(key, now):
            log.warning("reinvite_cancelled", sip_call_id=pending.dialog.id.call_id,
                        reason="no final response in 64*T1")

    def on_reinvite(self, event: RequestReceived, now: float) -> None:
        engine = self.engine
        found = engine.find_dialog(event, now)
        if found is None:
            return
        dialog, owner = found
        if dialog.id in engine.reinviting:
            engine.sip.respond(event.key, make_response(event.request, 491), now)
            return
        self.answer_refresh(event, dialog, owner, now)

    def answer_refresh(self, event: RequestReceived, dialog: Dialog, owner: Owner,
                       now: float) -> None:
        """200 to a re-INVITE/UPDATE; pass a changed offer on to the other side."""
        engine = self.engine
        request = event.request
        try:
            offer = parse_sdp(request)
        except SdpError:
            engine.sip.respond(event.key, make_response(request, 488), now)
            return
        call, leg = owner
        if not isinstance(call, Call):
            current = engine.features.current_sdp(call)
            other = None
        elif leg is None:
            current, other = call.our_sdp, call.bridged
        else:
            current, other = leg.offered_sdp, None
        if current is None:
            engine.sip.respond(event.key, make_response(request, 500), now)
            return
        answer = mirror(current, offer) if request.method == "INVITE" or offer else current
        extra = [("Contact", engine.contact(event.source.transport))]
        if isinstance(call, Call):
            extra += engine.keepalive.refreshed(call, leg, request, now)
        body = bytes(answer) if request.method == "INVITE" or offer is not None else b""
        response = make_response(request, 200, extra=extra, body=body)
        if body:
            response.headers.add("Content-Type", SDP)
        engine.sip.respond(event.key, response, now)
        if not isinstance(call, Call) or offer is None:
            return
        if leg is None:
            call.our_sdp = answer
            if call.state is CallState.QUEUED and call.media_open:
                engine.media.update(call.id, offer)
            changed = call.caller_sdp is None or media_changed(call.caller_sdp, offer)
            call.caller_sdp = offer
            if changed and other is not None and call.state is CallState.BRIDGED:
                self.update_peer(call, other, to_agent=True, sdp=offer, now=now)
        else:
            leg.offered_sdp = answer
            changed = leg.answer_sdp is None or media_changed(leg.answer_sdp, offer)
            leg.answer_sdp = offer
            if changed and call.state is CallState.BRIDGED and leg is call.bridged:
                self.update_peer(call, leg, to_agent=False, sdp=offer, now=now)


class _Pending:
    """One re-INVITE of ours: its ACK once built (resent for 2xx retransmissions) and the
    deadline that CANCELs it when no final response comes."""

    __slots__ = ("ack", "dest", "dialog", "done", "guard", "provisional")

    def __init__(self, dialog: Dialog, dest: Address) -> None:
        self.dialog = dialog
        self.dest = dest
        self.ack: Request | None = None
        self.done = False
        self.provisional = False
        self.guard: Deadline | None = None


def _dest(dialog: Dialog, source: Address) -> Address:
    return dialog_destination(dialog.remote_target, source)
