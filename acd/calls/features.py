"""Feature codes: an agent's softphone dials ``*21`` … ``*24`` to change its status.

Order: failure limit (a source blocked by the registrar's `FailureLimiter` → 403 with
``Retry-After``, credentials not looked at) → digest authentication with the registrar's
own `DigestAuthenticator` (401 challenge; shared nonces and nc replay map; a failure counts
towards the shared limit; the username must be a configured agent, else 403) → SDP offer
with PCMU/PCMA (488) → the router command. The limit key is the registrar's:
``<source IP>|<user>``, the user being the From user here (the To user of a REGISTER).

| code (default) | action |
|---|---|
| ``*21`` available | ``agent_login`` when logged out, else ``agent_available`` (unpause) |
| ``*22`` pause | ``agent_pause``: first configured reason except ``no-answer``; ``*22<n>``: n-th |
| ``*23`` logout | ``agent_logout`` |
| ``*24`` end wrap-up | ``agent_end_wrapup`` |

Accepted: 200 with our SDP, a short rising confirmation tone (~0.6 s), then our BYE.
Refused by the router (e.g. ``*24`` outside wrap-up): ``409 Conflict`` with a
``Warning: 399 <domain> "<code>"`` before answering — no media, the phone shows the error.
Every request is logged and emitted as `AgentStatusRequested`; the router's own
``AgentStatusChanged`` events carry the resulting status. The router command runs, and its
events are drained, under ``change_origin(phone, <digest username>, <agent>)``: the agent
intervals it opens for that agent are stored with ``source='phone'`` and ``actor`` = the
username (`acd.store.records.ChangeOrigin`, as the API does with ``source='api'``).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from acd.logging import bind_context, get_logger
from acd.store.records import ChangeSource, change_origin
from config import Settings
from queueing import AgentStatus, RoutingError
from sip.dialog import Dialog
from sip.digest import AuthOutcome, claimed_username, pick_authorization
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.message import Request, make_response
from sip.offer_answer import negotiate_answer
from sip.ratelimit import limit_keys
from sip.requests import ALLOW
from sip.sdp import SdpError, SessionDescription
from sip.transaction_events import (
    AckTimedOut,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    TransactionKey,
)

from .events import AgentStatusRequested
from .timers import Deadline
from .wire import SDP, caller_identity, chosen_codec, parse_sdp

if TYPE_CHECKING:
    from .engine import CallControl

__all__ = ["FeatureCall", "Features"]

log = get_logger("acd.calls")


@dataclass(eq=False)
class FeatureCall:
    id: str
    agent_id: str
    invite: Request
    key: TransactionKey
    source: Address
    to_tag: str
    offer: SessionDescription
    codec: tuple[int, str]
    dialog: Dialog | None = None
    our_sdp: SessionDescription | None = None
    media_open: bool = False
    ended: bool = False
    timers: list[Deadline] = field(default_factory=list)


class Features:
    def __init__(self, engine: CallControl, settings: Settings) -> None:
        self.engine = engine
        codes = settings.feature_codes
        self.codes = {codes.available: "available", codes.pause: "pause",
                      codes.logout: "logout", codes.end_wrapup: "end-wrapup"}
        self.reasons = [r for r in settings.pause_reasons if r != "no-answer"] or ["no-answer"]
        self.auth = engine.registration.authenticator  # the registrar's: same nonces
        self.limiter = engine.registration.limiter  # and the same failure counts
        self.realm = self.auth.realm

    def match(self, user: str) -> tuple[str, int | None] | None:
        """(action, pause-reason index) for a dialled feature code; None otherwise."""
        if user in self.codes:
            return self.codes[user], None
        for code, action in self.codes.items():
            rest = user[len(code):]
            if action == "pause" and user.startswith(code) and rest.isdigit() and len(rest) <= 2:
                return action, int(rest)
        return None

    def on_invite(self, event: RequestReceived, user: str, now: float) -> None:
        engine, request = self.engine, event.request
        matched = self.match(user)
        assert matched is not None
        action, index = matched
        value = pick_authorization(request.headers.get_lines("Authorization"), self.realm)
        # As for REGISTER: failures count against the From user and the claimed username.
        limit = limit_keys(
            event.source.host, caller_identity(request)[0], claimed_username(value)
        )
        wait_for = self.limiter.blocked_for(limit, now)
        if wait_for is not None:
            wait = max(1, math.ceil(wait_for))
            log.warning("feature_code_refused", username=None, reason="blocked",
                        source=event.source.host)
            engine.sip.respond(event.key, make_response(
                request, 403, extra=[("Retry-After", str(wait))]), now)
            return
        result = self.auth.verify("INVITE", value, now)
        if result.outcome is AuthOutcome.FAILED:
            self.limiter.record_failures(limit, now)
        elif result.outcome is AuthOutcome.OK:
            self.limiter.record_successes(limit)
        if result.outcome in (AuthOutcome.MISSING, AuthOutcome.STALE):
            challenge = [("WWW-Authenticate", v) for v in
                         self.auth.challenge(now, stale=result.outcome is AuthOutcome.STALE)]
            engine.sip.respond(event.key, make_response(request, 401, extra=challenge), now)
            return
        agent_id = result.username or ""
        known = result.outcome is AuthOutcome.OK
        if known:
            try:
                view = engine.router.agent_view(agent_id)
            except RoutingError:
                known = False
        if not known:
            log.warning("feature_code_refused", username=agent_id, reason=result.reason or
                        "unknown-agent", source=event.source.host)
            engine.sip.respond(event.key, make_response(request, 403), now)
            return
        try:
            offer = parse_sdp(request)
            if offer is None:
                raise SdpError("no-offer", "SDP offer required")
            codec = chosen_codec(offer)
        except SdpError as exc:
            engine.sip.respond(event.key, make_response(
                request, 488, extra=[("Accept", SDP),
                                     ("Warning", f'305 {engine.domain} "{exc.code}"')]), now)
            return
        with bind_context(agent_id=agent_id):
            reason = None
            # The journal builds agent intervals when the router's events are drained:
            # what is pending from earlier in this step is the system's; the command's
            # events are drained at once, under the phone's origin.
            engine.routing.flush(now)
            try:
                with change_origin(ChangeSource.PHONE, result.username, agent_id):
                    if action == "available":
                        if view.status is AgentStatus.LOGGED_OUT:
                            action = "login"
                            engine.router.agent_login(agent_id, now)
                        else:
                            engine.router.agent_available(agent_id, now)
                    elif action == "pause":
                        if index is not None and not 1 <= index <= len(self.reasons):
                            raise RoutingError("unknown_pause_reason",
                                               f"no pause reason #{index}")
                        reason = self.reasons[(index or 1) - 1]
                        engine.router.agent_pause(agent_id, reason, now)
                    elif action == "logout":
                        engine.router.agent_logout(agent_id, now)
                    else:
                        engine.router.agent_end_wrapup(agent_id, now)
                    engine.routing.flush(now)
            except RoutingError as exc:
                log.info("agent_status_refused", action=action, reason=reason, code=exc.code)
                engine.emit(AgentStatusRequested(agent_id=agent_id, action=action,
                                                 reason=reason, accepted=False, code=exc.code,
                                                 at=now), now)
                warning = f'399 {engine.domain} "{exc.code}"'
                engine.sip.respond(event.key, make_response(request, 409,
                                                            extra=[("Warning", warning)]), now)
                return
            log.info("agent_status_requested", action=action, reason=reason)
            engine.emit(AgentStatusRequested(agent_id=agent_id, action=action, reason=reason,
                                             accepted=True, code=None, at=now), now)
        fc = FeatureCall(id="f" + secrets.token_hex(8), agent_id=agent_id, invite=request,
                         key=event.key, source=event.source, to_tag=secrets.token_hex(8),
                         offer=offer, codec=codec)
        engine.by_invite[event.key] = fc
        fc.media_open = True
        engine.media.open(fc.id, offer, fc.codec, lambda port, t: self._answer(fc, port, t))

    def _answer(self, fc: FeatureCall, port: int | None, now: float) -> None:
        engine = self.engine
        if fc.ended:
            self._close(fc)
            return
        ours = negotiate_answer(fc.offer, local_address=engine.media.host,
                                local_port=port or 9, session_id=str(secrets.randbelow(2**62)),
                                version=1, username="acd")
        fc.our_sdp = ours
        answer = make_response(fc.invite, 200, to_tag=fc.to_tag, body=bytes(ours), extra=[
            ("Contact", engine.contact(fc.source.transport)), ("Allow", ", ".join(ALLOW)),
            ("Content-Type", SDP)])
        if not engine.sip.respond(fc.key, answer, now):
            self._end(fc)
            return
        try:
            fc.dialog = Dialog.uas(fc.invite, answer, engine.local(fc.source.transport))
        except (RemoteProtocolError, LocalProtocolError):
            self._end(fc)
            return
        engine.add_dialog(fc.dialog, (fc, None))
        duration = engine.media.tone(fc.id, True) if port is not None else 0.0
        fc.timers.append(engine.deadlines.at(now + duration + 0.3, lambda t: self._hangup(fc, t)))

    def _hangup(self, fc: FeatureCall, now: float) -> None:
        if not fc.ended:
            self.engine.bye(fc.dialog, fc.source, now)
            self._end(fc)

    def _close(self, fc: FeatureCall) -> None:
        if fc.media_open:
            fc.media_open = False
            self.engine.media.close(fc.id)

    def _end(self, fc: FeatureCall) -> None:
        fc.ended = True
        self._close(fc)
        for timer in fc.timers:
            timer.cancel()
        fc.timers.clear()
        self.engine.drop_dialog(fc.dialog)
        self.engine.by_invite.pop(fc.key, None)

    def on_bye(self, fc: FeatureCall, now: float) -> None:
        self._end(fc)

    def on_dialog_event(self, fc: FeatureCall, event: Event, now: float) -> None:
        if isinstance(event, CancelReceived):
            self._end(fc)
        elif isinstance(event, AckTimedOut):
            self._hangup(fc, now)

    def current_sdp(self, fc: FeatureCall) -> SessionDescription | None:
        return fc.our_sdp
