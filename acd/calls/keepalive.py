"""Dead-call detection and the periodic announcement, all as runtime deadlines.

* Caller leg with RFC 4028 support (its INVITE has ``Supported: timer`` or
  ``Session-Expires``): our 200 carries ``Session-Expires: N;refresher=uac`` (or the
  refresher the PBX asked for) with ``Require: timer``. Each re-INVITE/UPDATE from the PBX
  re-arms the expiry; none within N seconds → both legs are torn down. When the PBX made
  us the refresher, we send a body-less UPDATE (or a re-INVITE with our current SDP when
  it does not allow UPDATE, through `Bridge.reinvite`: every 2xx ACKed, also after our
  BYE; CANCELled after a provisional and 64*T1 without a final response) every N/2
  seconds. A refresh answered 408 or 481, timed out or CANCELled (487) ends both legs
  (RFC 4028 §10); any other answer means the PBX is alive.
* Every other leg (agents, PBXs without timers): an in-dialog OPTIONS every
  ``media.keepalive_interval`` seconds; 481, 408 or no answer → both legs torn down, so a
  vanished softphone cannot hold an agent ON_CALL forever. Any other answer means alive.
* Nothing heard from an agent's phone (not even 100 Trying) within
  `NO_RESPONSE_TIMEOUT` seconds → the offer fails as unreachable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd.logging import bind_context, get_logger
from acd.sipservice import ClientOutcome
from config.sections import MediaSettings
from queueing import RoutingError
from sip.message import Request

from .agent_leg import AgentLeg
from .call import Call, CallState
from .events import HangupBy
from .timers import Deadline
from .wire import has_option, session_expires

if TYPE_CHECKING:
    from .engine import CallControl

__all__ = ["MIN_SE", "NO_RESPONSE_TIMEOUT", "Keepalive"]

log = get_logger("acd.calls")

MIN_SE = 90  # RFC 4028 §4 minimum
NO_RESPONSE_TIMEOUT = 5.0


class Keepalive:
    def __init__(self, engine: CallControl, settings: MediaSettings) -> None:
        self.engine = engine
        self.session_expires = settings.session_expires
        self.interval = settings.keepalive_interval
        self.no_response_timeout = NO_RESPONSE_TIMEOUT
        self._we_refresh: set[str] = set()  # call ids whose caller leg we refresh

    # -- session timers with the caller ---------------------------------------------------
    def caller_headers(self, call: Call) -> list[tuple[str, str]]:
        """Headers of our 200 to the caller's INVITE (RFC 4028 §9), deciding the timer."""
        invite = call.invite
        asked = session_expires(invite)
        if asked is None and not has_option(invite, "Supported", "timer"):
            return []
        seconds = max(MIN_SE, asked[0]) if asked is not None else self.session_expires
        refresher = asked[1] if asked is not None and asked[1] in ("uac", "uas") else "uac"
        call.session_expires = seconds
        if refresher == "uas":
            self._we_refresh.add(call.id)
        headers = [("Session-Expires", f"{seconds};refresher={refresher}"),
                   ("Supported", "timer")]
        if has_option(invite, "Supported", "timer"):
            headers.append(("Require", "timer"))
        return headers

    def refreshed(self, call: Call, leg: AgentLeg | None, request: Request,
                  now: float) -> list[tuple[str, str]]:
        """A re-INVITE/UPDATE arrived on a leg: re-arm its watch; headers for our 200."""
        if leg is not None or call.session_expires is None:
            return []
        asked = session_expires(request)
        if asked is not None:
            call.session_expires = max(MIN_SE, asked[0])
        self.watch_caller(call, now)
        refresher = "uas" if call.id in self._we_refresh else "uac"
        return [("Session-Expires", f"{call.session_expires};refresher={refresher}"),
                ("Require", "timer")]

    def watch_caller(self, call: Call, now: float) -> None:
        for timer in call.timers:
            timer.cancel()
        call.timers.clear()
        deadlines = self.engine.deadlines
        if call.session_expires is not None:
            se = call.session_expires
            if call.id in self._we_refresh:
                call.timers.append(deadlines.at(now + se / 2, lambda t: self._refresh(call, t)))
            else:
                call.timers.append(deadlines.at(now + se, lambda t: self._expired(call, t)))
        elif self.interval > 0:
            call.timers.append(deadlines.at(now + self.interval, lambda t: self._ping(call, None,
                                                                                       t)))

    def _expired(self, call: Call, now: float) -> None:
        if not call.ended:
            with bind_context(call_id=call.id):
                log.warning("session_expired", side="caller")
                self.engine.hangup(call, HangupBy.SYSTEM, "session-expired", now)

    def _refresh(self, call: Call, now: float) -> None:
        dialog = call.dialog
        if call.ended or dialog is None or dialog.id in self.engine.reinviting:
            return
        extra = (("Session-Expires", f"{call.session_expires};refresher=uas"),
                 ("Supported", "timer"))
        if has_option(call.invite, "Allow", "UPDATE"):
            self.engine.send_in_dialog(dialog, call.source, "UPDATE", now,
                                       lambda o, t: self._answered(call, None, o, t), extra=extra)
        elif call.our_sdp is not None:
            self.engine.bridge.reinvite(dialog, call.source, bytes(call.our_sdp), now,
                                        lambda o, t: self._reinvite_refreshed(call, o, t),
                                        extra=extra)
        self.watch_caller(call, now)

    def _reinvite_refreshed(self, call: Call, outcome: ClientOutcome, now: float) -> None:
        """The refresh re-INVITE's final answer (its 2xx already ACKed by the bridge). Only
        our own CANCEL (no final answer in 64*T1) gets it a 487: a timeout, like 408."""
        self._answered(call, None, outcome, now, gone=(408, 481, 487))

    # -- OPTIONS keepalive ---------------------------------------------------------------------
    def watch_agent(self, call: Call, leg: AgentLeg, now: float) -> None:
        if self.interval > 0:
            leg.timers.append(self.engine.deadlines.at(now + self.interval,
                                                       lambda t: self._ping(call, leg, t)))

    def _ping(self, call: Call, leg: AgentLeg | None, now: float) -> None:
        if call.ended:
            return
        dialog = call.dialog if leg is None else leg.dialog
        source = call.source if leg is None else leg.dest
        if dialog is None or dialog.state.name != "CONFIRMED":
            return
        self.engine.send_in_dialog(dialog, source, "OPTIONS", now,
                                   lambda o, t: self._answered(call, leg, o, t),
                                   extra=(("Accept", "application/sdp"),))

    def _answered(self, call: Call, leg: AgentLeg | None, outcome: ClientOutcome,
                  now: float, *, gone: tuple[int, ...] = (408, 481)) -> None:
        if outcome.status < 200 or call.ended:
            return
        side = "caller" if leg is None else "agent"
        if outcome.response is None or outcome.status in gone:
            with bind_context(call_id=call.id):
                log.warning("peer_vanished", side=side, status=outcome.status)
                self.engine.hangup(call, HangupBy.SYSTEM, f"{side}-vanished", now)
            return
        if leg is None:
            if call.session_expires is None:
                self.watch_caller(call, now)
        elif call.bridged is leg:
            self.watch_agent(call, leg, now)

    # -- announcements of position and estimated wait -----------------------------------------
    def schedule_announcement(self, call: Call, now: float) -> None:
        cfg = self.engine.queues.get(call.queue)
        interval = cfg.announce_interval if cfg is not None else 30.0
        if interval <= 0 or call.ended:
            return
        call.announce = self.engine.deadlines.at(now + interval,
                                                 lambda t: self._announce(call, t))

    def _announce(self, call: Call, now: float) -> None:
        call.announce = None
        if call.ended or call.state is not CallState.QUEUED or not call.media_open:
            return
        router = self.engine.router
        try:
            position = router.position(call.id)
            ewt = router.estimated_wait(call.id)
        except RoutingError:
            return
        with bind_context(call_id=call.id):
            log.debug("announcement", position=position, ewt=ewt)
        self.engine.media.announce(call.id, call.queue, position, ewt)
        self.schedule_announcement(call, now)


def cancel_all(timers: list[Deadline]) -> None:
    for timer in timers:
        timer.cancel()
    timers.clear()
