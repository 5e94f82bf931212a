"""The call-control engine: SIP events in, router commands out; router decisions in, SIP out.

`CallControl` owns every call. Inbound INVITEs are checked (feature code → trunk → queue →
SDP), answered (announce mode) or left ringing (ringback mode) and handed to the router;
router decisions (`OfferCall` rings an agent, `WithdrawOffer` cancels it, `OverflowCall`
sends the caller elsewhere) and the agents' responses are handled by `acd.calls.legs`.
Bridging is in `acd.calls.bridge`, feature codes in `acd.calls.features`, dead-call
detection in `acd.calls.keepalive`.

Race rules: every entry point looks the call up again and checks its state; a call that
ENDED ignores everything; an agent leg whose offer was withdrawn is CANCELLING and a 2xx
on it is ACKed and hung up (`AgentLegs.answered`); a BYE from either side while our
re-INVITE is pending ends the call at once, its late 2xx is only ACKed (`Bridge.reinvite`);
the caller's BYE never goes out before its ACK to our 200 (`hangup`). Handlers never raise
for peer behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

from acd.logging import bind_context, get_logger
from acd.registration import RegistrationService
from acd.routing import RoutingService
from acd.runtime import Runtime
from acd.sipservice import ClientOutcome, SipService
from config import Settings
from queueing import OfferFailure, RoutingError
from queueing.events import Decision
from sip.dialog import Dialog, DialogId, DialogTable
from sip.message import Response, make_response
from sip.requests import ALLOW, LocalAddress
from sip.transaction_events import (
    AckReceived,
    AckTimedOut,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    TransactionKey,
)

from .agent_leg import AgentLeg, LegState
from .bridge import Bridge
from .call import Call, CallState
from .events import CallEnded, CallEngineEvent, HangupBy
from .features import FeatureCall, Features
from .inbound import Inbound
from .keepalive import Keepalive
from .legs import AgentLegs
from .media import CallMedia
from .timers import Deadlines
from .wire import SDP, dialog_destination, uri_user

__all__ = ["CallControl", "Observer"]

log = get_logger("acd.calls")

Observer = Callable[[CallEngineEvent, float], None]
Owner = tuple[Call | FeatureCall, AgentLeg | None]


class CallControl:
    def __init__(
        self,
        sip: SipService,
        routing: RoutingService,
        registration: RegistrationService,
        settings: Settings,
        media: CallMedia,
        runtime: Runtime,
    ) -> None:
        self.sip = sip
        self.routing = routing
        self.router = routing.router
        self.registration = registration
        self.settings = settings
        self.media = media
        self.domain = settings.sip.domain or "localhost"
        self.calls: dict[str, Call] = {}
        self.by_invite: dict[TransactionKey, Call | FeatureCall] = {}
        self.dialogs = DialogTable()
        self.owners: dict[DialogId, Owner] = {}
        self.reinviting: set[DialogId] = set()  # our re-INVITE outstanding (491 on glare)
        self._locals: dict[str, LocalAddress] = {}  # by transport, see local()
        self.deadlines = Deadlines()
        self.observers: list[Observer] = []
        self.queues = {q.name: q for q in settings.queues}
        self.inbound = Inbound(self)
        self.agent_legs = AgentLegs(self)
        self.bridge = Bridge(self)
        self.keepalive = Keepalive(self, settings.media)
        self.features = Features(self, settings)
        runtime.add_timed(self.deadlines)

    def install(self) -> None:
        """Take over INVITE, BYE, UPDATE, in-dialog OPTIONS, CANCEL/ACK and decisions."""
        sip = self.sip
        sip.handlers["INVITE"] = self.on_invite
        sip.handlers["BYE"] = self.on_bye
        sip.handlers["UPDATE"] = self.on_update
        self._options = sip.handlers.get("OPTIONS")
        sip.handlers["OPTIONS"] = self.on_options
        sip.dialog_handler = self.on_dialog_event
        self.routing.decision_handler = self.on_decision

    # -- plumbing ---------------------------------------------------------------------
    def emit(self, event: CallEngineEvent, now: float) -> None:
        for observe in self.observers:
            try:
                observe(event, now)
            except Exception:
                log.exception("call_observer_failed", event=type(event).__name__)

    def local(self, transport: str) -> LocalAddress:
        found = self._locals.get(transport)  # the listeners are fixed once SIP started
        if found is not None:
            return found
        host, port = self.sip.via_for(transport.lower())
        hostport = f"[{host}]" if ":" in host else host
        param = ";transport=tcp" if transport.lower() == "tcp" else ""
        found = self._locals[transport] = LocalAddress(
            host=host, port=port, transport=transport.upper(),
            contact=f"sip:acd@{hostport}:{port}{param}",
        )
        return found

    def contact(self, transport: str) -> str:
        return f"<{self.local(transport).contact}>"

    def add_dialog(self, dialog: Dialog, owner: Owner) -> None:
        if self.dialogs.get(dialog.id) is None:
            self.dialogs.add(dialog)
        self.owners[dialog.id] = owner

    def drop_dialog(self, dialog: Dialog | None) -> None:
        if dialog is not None:
            self.dialogs.remove(dialog.id)
            self.owners.pop(dialog.id, None)
            self.reinviting.discard(dialog.id)

    def send_in_dialog(
        self,
        dialog: Dialog,
        source: Address | None,
        method: str,
        now: float,
        callback: Callable[[ClientOutcome, float], None] | None = None,
        *,
        body: bytes = b"",
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        request = dialog.create_request(
            method, body=body, content_type=SDP if body else None, extra=extra
        )
        self.sip.request(request, dialog_destination(dialog.remote_target, source), now, callback)

    def bye(self, dialog: Dialog | None, source: Address | None, now: float) -> None:
        """Hang up a confirmed dialog (no-op when there is none or it already ended)."""
        if dialog is None or dialog.state.name != "CONFIRMED":
            self.drop_dialog(dialog)
            return
        try:
            self.send_in_dialog(dialog, source, "BYE", now)
        except Exception:
            log.exception("bye_failed", dialog=str(dialog.id))
        self.drop_dialog(dialog)

    def reply(self, event: RequestReceived, status: int, now: float,
              extra: list[tuple[str, str]] | None = None) -> None:
        self.sip.respond(event.key, make_response(event.request, status, extra=extra), now)

    # -- inbound INVITE ---------------------------------------------------------------
    def on_invite(self, event: RequestReceived, now: float) -> None:
        request = event.request
        if request.to.tag:
            self.bridge.on_reinvite(event, now)
            return
        user = uri_user(request.uri)
        if self.features.match(user) is not None:
            self.features.on_invite(event, user, now)
            return
        self.inbound.on_invite(event, user, now)

    def enter_router(self, call: Call, now: float) -> None:
        if call.ended:
            return
        try:
            position = self.router.call_arrived(
                call.id, call.queue, now, priority=self.routing.queue_priority(call.queue)
            )
        except RoutingError as exc:
            with bind_context(call_id=call.id):
                log.error("call_not_queued", code=exc.code)
            self.hangup(call, HangupBy.SYSTEM, f"router-{exc.code}", now, caller_status=503)
            return
        call.in_router = True
        if call.state is CallState.ANSWERING:
            call.state = CallState.QUEUED
        with bind_context(call_id=call.id):
            log.info("call_queued", queue=call.queue, position=position)

    # -- agent legs (acd.calls.legs) -------------------------------------------------------
    def on_decision(self, decision: Decision, now: float) -> None:
        self.agent_legs.on_decision(decision, now)

    def offer_failed(self, call_id: str, agent_id: str, failure: OfferFailure, now: float) -> None:
        self.agent_legs.offer_failed(call_id, agent_id, failure, now)

    def invite_target(self, call: Call, agent_id: str, uri: str, to_uri: str, dest: Address,
                      now: float, overflow: str | None = None) -> AgentLeg:
        return self.agent_legs.invite(call, agent_id, uri, to_uri, dest, now, overflow)

    def on_agent_response(self, leg: AgentLeg, outcome: ClientOutcome, now: float) -> None:
        self.agent_legs.on_response(leg, outcome, now)

    def cancel_leg(self, leg: AgentLeg, now: float) -> None:
        self.agent_legs.cancel(leg, now)

    def end_leg(self, leg: AgentLeg, result: str, now: float) -> None:
        self.agent_legs.end(leg, result, now)

    # -- dialog events: ACK, CANCEL, ACK timeout --------------------------------------
    def on_dialog_event(self, event: Event, now: float) -> None:
        if not isinstance(event, AckReceived | CancelReceived | AckTimedOut):
            return
        owner = self.by_invite.get(event.key)
        if owner is None:
            return
        if isinstance(owner, FeatureCall):
            self.features.on_dialog_event(owner, event, now)
            return
        call = owner
        with bind_context(call_id=call.id):
            if call.ended:  # hung up before the caller's ACK: its BYE waited for this
                self._bye_unacked(call, now)
            elif isinstance(event, AckReceived):
                call.acked = True
                self.bridge.caller_acked(call, now)
            elif isinstance(event, CancelReceived):
                log.info("caller_cancelled")
                call.final_status = 487  # the endpoint answered the INVITE 487
                self.hangup(call, HangupBy.CALLER, "caller-cancelled", now)
            else:
                log.warning("caller_ack_timeout")
                call.acked = True  # no ACK will come: the BYE may go now (§13.3.1.4)
                self.hangup(call, HangupBy.SYSTEM, "ack-timeout", now)

    # -- in-dialog requests --------------------------------------------------------------
    def find_dialog(self, event: RequestReceived, now: float) -> tuple[Dialog, Owner] | None:
        """The dialog and owner of an in-dialog request, or None after answering 481/500."""
        found = self.dialogs.receive_request(event.request)
        if isinstance(found, Response):
            self.sip.respond(event.key, found, now)
            return None
        if found is None:
            return None
        owner = self.owners.get(found.id)
        if owner is None:
            self.reply(event, 481, now)
            return None
        return found, owner

    def on_bye(self, event: RequestReceived, now: float) -> None:
        found = self.find_dialog(event, now)
        if found is None:
            return
        dialog, (owner, leg) = found
        self.reply(event, 200, now)
        self.drop_dialog(dialog)
        if isinstance(owner, FeatureCall):
            self.features.on_bye(owner, now)
            return
        call = owner
        # At debug: call_ended, logged by hangup() in this step, says who hung up
        # (hangup_by, reason caller-bye / agent-bye), in which state and the agent.
        with bind_context(call_id=call.id):
            if leg is None:
                log.debug("caller_hung_up", state=call.state.value)
                self.hangup(call, HangupBy.CALLER, "caller-bye", now)
            elif leg is call.bridged or leg is call.pending_bridge:
                log.debug("agent_hung_up", agent_id=leg.agent_id, state=call.state.value)
                leg.dialog = None
                self.hangup(call, HangupBy.AGENT, "agent-bye", now)

    def on_update(self, event: RequestReceived, now: float) -> None:
        found = self.find_dialog(event, now)
        if found is None:
            return
        self.bridge.answer_refresh(event, found[0], found[1], now)

    def on_options(self, event: RequestReceived, now: float) -> None:
        if not event.request.to.tag:
            if self._options is not None:
                self._options(event, now)
            else:
                self.reply(event, 200, now, [("Allow", ", ".join(ALLOW))])
            return
        if self.find_dialog(event, now) is not None:
            self.reply(event, 200, now, [("Allow", ", ".join(ALLOW)), ("Accept", SDP)])

    # -- the end of a call ------------------------------------------------------------------
    def hangup(self, call: Call, by: HangupBy, reason: str, now: float, *,
               caller_status: int | None = None, outcome: str | None = None) -> None:
        """End ``call`` once: every leg hung up or cancelled, the router told, facts emitted.

        The caller gets its BYE at once, also while our re-INVITE to it is pending (the
        caller answers that 487, RFC 3261 §15.1.2; a 2xx still gets its ACK: `Bridge`) —
        but never before its ACK for our 200 (§15: the callee MUST NOT): until that ACK,
        or the 2xx's timer L, the BYE waits (`_bye_unacked`)."""
        if call.ended:
            return
        was = call.state
        call.state = CallState.ENDED
        call.hangup_by = by
        call.cancel_timers()
        if call.media_open:
            self.media.close(call.id)
            call.media_open = False
        for leg in list(call.legs.values()):
            self.cancel_leg(leg, now)
        call.legs.clear()
        for answered in (call.bridged, call.pending_bridge):
            if answered is not None and answered.state is not LegState.ENDED:
                self.bye(answered.dialog, answered.dest, now)
                self.end_leg(answered, "answered", now)
        unacked = False
        if call.dialog is not None:
            if by is not HangupBy.CALLER:
                unacked = not call.acked
                if unacked:  # keep by_invite: the ACK (or its timeout) sends the BYE
                    self.deadlines.at(now + 64 * self.settings.sip.t1,
                                      lambda when: self._bye_unacked(call, when))
                else:
                    self.bye(call.dialog, call.source, now)
        elif call.final_status == 0:
            final = caller_status or (480 if by is HangupBy.SYSTEM else 487)
            sent = self.sip.respond(call.key, make_response(call.invite, final,
                                                            to_tag=call.to_tag), now)
            call.final_status = final if sent else 487
        self.drop_dialog(call.dialog)
        if not unacked:
            self.by_invite.pop(call.key, None)
        self.calls.pop(call.id, None)
        if outcome is None:
            outcome = self._report_outcome(call, by, reason, now)
        answered = call.bridged or call.pending_bridge  # pending: answered before the ACK
        agent = answered.agent_id if answered is not None else None
        log.info("call_ended", outcome=outcome, hangup_by=by.value, reason=reason,
                 state=was.value, caller_status=call.final_status, agent_id=agent)
        self.emit(CallEnded(call_id=call.id, sip_call_id=call.sip_call_id, trunk=call.trunk,
                            queue=call.queue, caller=call.caller, dialled=call.dialled,
                            outcome=outcome, hangup_by=by, caller_status=call.final_status,
                            agent_id=agent, reason=reason, at=now), now)

    def _bye_unacked(self, call: Call, now: float) -> None:
        """The BYE of a call hung up before the caller ACKed our 200: on that ACK, on its
        timeout (§13.3.1.4: then BYE too) or, should neither be reported, 64*T1 later."""
        if self.by_invite.pop(call.key, None) is not None:
            self.bye(call.dialog, call.source, now)

    def _report_outcome(self, call: Call, by: HangupBy, reason: str, now: float) -> str:
        """Tell the router how the call ended (exactly once); the outcome's name."""
        if call.reason == "overflowed":
            return "overflowed"
        if not call.in_router:
            return "failed"
        call.in_router = False
        try:
            if call.answered:
                self.router.call_completed(call.id, now)
                return "answered"
            if by is HangupBy.CALLER:
                self.router.caller_left(call.id, now)
                return "abandoned"
            self.router.call_failed(call.id, reason, now)
            return "failed"
        except RoutingError as exc:
            log.warning("router_outcome_refused", code=exc.code)
            return "failed"
