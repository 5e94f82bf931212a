"""Agent legs: the router's offers made real as INVITEs, and everything until one answers.

`AgentLegs` turns `OfferCall` into an INVITE to the agent's registered contact,
`WithdrawOffer` into a CANCEL and `OverflowCall` into a 302 (ringback) or an INVITE to the
target (announce). It reads the agent's responses: 1xx → RINGING (a 180/183 relayed to a
ringback caller once); 2xx → dialog, ACK, `router.offer_answered`, then `Bridge.join`;
failures → `offer_failed` (`failure_for_status`); nothing at all within
`Keepalive.no_response_timeout` → CANCEL and UNREACHABLE.

Races: a leg being CANCELLED, or whose call ended or left QUEUED, that still gets a 2xx
is ACKed and BYEd at once (``answered-too-late``), never bridged. Every retransmission of
the 2xx is ACKed again with the same ACK, also after that BYE (RFC 3261 §13.2.2.4; RFC 5407
§3.2); they stop when the phone has the ACK, or with the transaction's timer M (64*T1).
The BYE goes out once. Each leg ends exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd.logging import bind_context, get_logger
from acd.registration import binding_destination
from acd.sipservice import ClientOutcome
from queueing import OfferCall, OfferFailure, OverflowCall, RoutingError, WithdrawOffer
from queueing.events import Decision
from sip.dialog import Dialog
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.headers import NameAddress
from sip.message import Response, make_response
from sip.requests import build_invite, new_call_id
from sip.sdp import SdpError
from sip.transaction_events import Address

from .agent_leg import AgentLeg, LegState, failure_for_status
from .call import Call, CallState, Mode
from .events import AgentLegEnded, HangupBy
from .wire import dialog_destination, parse_sdp, uri_destination

if TYPE_CHECKING:
    from .engine import CallControl

__all__ = ["OVERFLOW_AGENT", "AgentLegs"]

log = get_logger("acd.calls")

OVERFLOW_AGENT = "overflow"  # the key of an overflow target's leg in `Call.legs`


class AgentLegs:
    def __init__(self, engine: CallControl) -> None:
        self.engine = engine

    # -- decisions of the router --------------------------------------------------------
    def on_decision(self, decision: Decision, now: float) -> None:
        with bind_context(call_id=decision.call_id):
            if isinstance(decision, OfferCall):
                with bind_context(agent_id=decision.agent_id):
                    self.offer(decision, now)
            elif isinstance(decision, WithdrawOffer):
                with bind_context(agent_id=decision.agent_id):
                    self.withdraw(decision.call_id, decision.agent_id, decision.reason.value, now)
            elif isinstance(decision, OverflowCall):
                self.overflow(decision, now)

    def offer_failed(self, call_id: str, agent_id: str, failure: OfferFailure, now: float) -> None:
        try:
            self.engine.router.offer_failed(call_id, agent_id, failure, now)
        except RoutingError as exc:
            log.info("offer_failure_ignored", agent_id=agent_id, code=exc.code)

    def offer(self, decision: OfferCall, now: float) -> None:
        engine = self.engine
        call = engine.calls.get(decision.call_id)
        agent_id = decision.agent_id
        if call is None or call.state is not CallState.QUEUED or agent_id in call.legs:
            log.warning("offer_for_unknown_call", state=call.state.value if call else None)
            self.offer_failed(decision.call_id, agent_id, OfferFailure.UNREACHABLE, now)
            return
        bindings = engine.registration.contacts(agent_id)
        if not bindings:
            log.info("agent_not_registered")
            self.offer_failed(call.id, agent_id, OfferFailure.UNREACHABLE, now)
            return
        binding = bindings[0]
        # Exactly where the registrar's qualify pings go (Kamailio NAT rule; TCP: the
        # phone's own connection).
        dest = binding_destination(binding)
        self.invite(call, agent_id, binding.contact, binding.aor, dest, now)
        log.info("agent_ringing", contact=binding.contact, ring_timeout=decision.ring_timeout)

    def invite(self, call: Call, agent_id: str, uri: str, to_uri: str, dest: Address,
               now: float, overflow: str | None = None) -> AgentLeg:
        """INVITE an agent (or an overflow target) with the caller's original offer."""
        engine = self.engine
        local = engine.local(dest.transport)
        sender = NameAddress(f"sip:{call.caller}@{engine.domain}",
                             display_name=call.caller_display)
        invite = build_invite(
            uri, sender, NameAddress(to_uri), call_id=new_call_id(local.host),
            via_host=local.host, via_port=local.port, transport=dest.transport.upper(),
            contact=f"<{local.contact}>", sdp=call.invite.body,
        )
        key = engine.sip.request(invite, dest, now,
                                 lambda outcome, when: self.on_response(leg, outcome, when))
        leg = AgentLeg(call_id=call.id, agent_id=agent_id, invite=invite, key=key, dest=dest,
                       offered_sdp=call.caller_offer, overflow_target=overflow)
        call.legs[agent_id] = leg
        leg.timers.append(engine.deadlines.at(
            now + engine.keepalive.no_response_timeout, lambda when: self._no_response(leg, when)))
        return leg

    def _no_response(self, leg: AgentLeg, now: float) -> None:
        """Nothing at all heard from the phone (not even 100): unreachable, stop waiting."""
        if leg.state is not LegState.INVITING:
            return
        call = self.engine.calls.get(leg.call_id)
        with bind_context(call_id=leg.call_id, agent_id=leg.agent_id):
            log.info("agent_no_response")
            self.cancel(leg, now)
            self.end(leg, "unreachable", now)
            if call is not None and leg.overflow_target is None:
                call.legs.pop(leg.agent_id, None)
                self.offer_failed(call.id, leg.agent_id, OfferFailure.UNREACHABLE, now)
            elif call is not None:
                self.engine.hangup(call, HangupBy.SYSTEM, "overflow-unreachable", now)

    def cancel(self, leg: AgentLeg, now: float) -> None:
        if leg.ringing:
            leg.state = LegState.CANCELLING
            self.engine.sip.cancel(leg.key, now)

    def end(self, leg: AgentLeg, result: str, now: float) -> None:
        if leg.end():
            log.info("agent_leg_ended", agent_id=leg.agent_id, result=result,
                     status=leg.final_status)
            self.engine.emit(AgentLegEnded(call_id=leg.call_id, agent_id=leg.agent_id,
                                           status=leg.final_status, result=result, at=now), now)

    def withdraw(self, call_id: str, agent_id: str, reason: str, now: float) -> None:
        call = self.engine.calls.get(call_id)
        leg = call.legs.pop(agent_id, None) if call is not None else None
        if leg is None or not leg.ringing:
            return
        log.info("agent_offer_withdrawn", reason=reason)
        self.cancel(leg, now)

    def overflow(self, decision: OverflowCall, now: float) -> None:
        engine = self.engine
        call = engine.calls.get(decision.call_id)
        if call is None or call.ended:
            return
        call.in_router = False  # the router has recorded the overflow outcome
        log.info("call_overflowed", target=decision.target, reason=decision.reason.value)
        for leg in list(call.legs.values()):
            self.cancel(leg, now)
        call.legs.clear()
        if call.mode is Mode.RINGBACK or call.dialog is None:
            moved = make_response(call.invite, 302, to_tag=call.to_tag,
                                  extra=[("Contact", f"<{decision.target}>")])
            call.final_status = 302 if engine.sip.respond(call.key, moved, now) else 487
            engine.hangup(call, HangupBy.SYSTEM, "overflowed", now, outcome="overflowed")
            return
        try:
            dest = uri_destination(decision.target)
        except ValueError:
            engine.hangup(call, HangupBy.SYSTEM, "overflow-bad-target", now, outcome="overflowed")
            return
        call.reason = "overflowed"
        self.invite(call, OVERFLOW_AGENT, decision.target, decision.target, dest, now,
                    overflow=decision.target)

    # -- the phone's responses ------------------------------------------------------------
    def on_response(self, leg: AgentLeg, outcome: ClientOutcome, now: float) -> None:
        engine = self.engine
        call = engine.calls.get(leg.call_id)
        status, response = outcome.status, outcome.response
        with bind_context(call_id=leg.call_id, agent_id=leg.agent_id):
            if status < 200:
                if leg.state is LegState.INVITING:
                    leg.state = LegState.RINGING
                if (call is not None and call.mode is Mode.RINGBACK and status in (180, 183)
                        and not call.ringing_sent and call.state is CallState.QUEUED):
                    ringing = make_response(call.invite, 180, to_tag=call.to_tag)
                    call.ringing_sent = engine.sip.respond(call.key, ringing, now)
                return
            if status < 300 and response is not None:
                self.answered(call, leg, response, now)
                return
            leg.final_status = status
            was = leg.state
            if was is LegState.ENDED:
                return
            result = "cancelled" if was is LegState.CANCELLING else failure_for_status(status)
            self.end(leg, result, now)
            if call is None or was is LegState.CANCELLING:
                return
            call.legs.pop(leg.agent_id, None)
            if leg.overflow_target is not None:
                engine.hangup(call, HangupBy.SYSTEM, f"overflow-failed-{status}", now)
                return
            failure = (OfferFailure.UNREACHABLE if result == "unreachable"
                       else OfferFailure.REJECTED)
            self.offer_failed(call.id, leg.agent_id, failure, now)

    def answered(self, call: Call | None, leg: AgentLeg, response: Response, now: float) -> None:
        """A 2xx: ACK it; bridge when the offer is still live, else ACK + BYE at once."""
        engine = self.engine
        if leg.ack is not None:  # a 2xx retransmission: the same ACK again, nothing else
            self.ack(leg, now)
            return
        leg.final_status = response.status
        try:
            leg.dialog = Dialog.uac(leg.invite, response, engine.local(leg.dest.transport))
        except (RemoteProtocolError, LocalProtocolError) as exc:
            log.warning("agent_dialog_failed", error=str(exc))
            self.end(leg, "rejected", now)
            if call is not None and leg.agent_id in call.legs:
                del call.legs[leg.agent_id]
                self.offer_failed(call.id, leg.agent_id, OfferFailure.REJECTED, now)
            return
        self.ack(leg, now)
        try:
            sdp = parse_sdp(response)
        except SdpError:
            sdp = None
        live = (call is not None and not call.ended and call.state is CallState.QUEUED
                and leg.state in (LegState.INVITING, LegState.RINGING))
        if not live or call is None or sdp is None:
            log.info("agent_answered_too_late" if sdp is not None else "agent_answer_without_sdp",
                     leg=leg.state.value)
            self.drop(call, leg, "answered-too-late" if sdp is not None else "rejected", now)
            return
        if leg.overflow_target is None:
            try:
                engine.router.offer_answered(call.id, leg.agent_id, now)
            except RoutingError as exc:
                log.info("agent_answered_too_late", code=exc.code)
                self.drop(call, leg, "answered-too-late", now)
                return
            call.answered = True
        engine.bridge.join(call, leg, sdp, response, now)

    def drop(self, call: Call | None, leg: AgentLeg, result: str, now: float) -> None:
        """Hang up an answered leg that will not be bridged."""
        self.engine.bye(leg.dialog, leg.dest, now)
        if call is not None and call.legs.get(leg.agent_id) is leg:
            del call.legs[leg.agent_id]
        self.end(leg, result, now)

    def ack(self, leg: AgentLeg, now: float) -> None:
        """ACK the leg's 2xx: built once from the new dialog, then resent unchanged."""
        if leg.ack is None or leg.ack_dest is None:
            if leg.dialog is None:
                return
            leg.ack = leg.dialog.create_request("ACK")
            leg.ack_dest = dialog_destination(leg.dialog.remote_target, leg.dest)
        self.engine.sip.send_ack(leg.ack, leg.ack_dest, now)
