"""Simulated agents' softphones, over real SIP/UDP on loopback.

`AgentPhone` REGISTERs with digest (MD5 or SHA-256, its preference among the ACD's
challenges), rings for a short real delay then answers an INVITE with its own SDP (a dummy
RTP port), answers re-INVITE/UPDATE/OPTIONS, hangs up after the call's handle time when it
is the agent who ends the call, answers 486 when already on a call, and pauses / unpauses
now and then through feature codes (``*22`` / ``*21``, INVITEs with digest) or the
supervisor API. It finds a call's handle time by the From user (the PBX's unique caller
number) in the PBX's calls.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sip.dialog import Dialog, DialogTable
from sip.headers import NameAddress
from sip.message import Request, Response
from sip.requests import build_invite, build_request, new_call_id, new_tag
from sip.transaction_events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
)

from .simcalls import SimCall, SimStats
from .ua import UserAgent, answer_sdp, authorization, offer_sdp, pick_challenge

__all__ = ["AgentPhone", "PhoneSpec"]


def _uri_user(uri: str) -> str:
    return uri.removeprefix("sip:").removeprefix("sips:").partition("@")[0].partition(";")[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneSpec:
    agent_id: str
    ha1: Mapping[str, str]  # algorithm -> HA1 (from the ACD's settings)
    algorithm: str = "MD5"  # preferred among the ACD's challenges
    pause_via: str = "feature"  # "feature" (*22/*21) or "api"


@dataclass(slots=True)
class _AgentCall:
    key: TransactionKey
    invite: Request
    to_tag: str
    caller: str
    dialog: Dialog | None = None
    answer_timer: asyncio.TimerHandle | None = None
    hangup_timer: asyncio.TimerHandle | None = None
    sdp: bytes = b""


class AgentPhone(UserAgent):
    """One agent's softphone."""

    def __init__(self, spec: PhoneSpec, *, acd: Address, domain: str, rtp_port: int,
                 calls: Mapping[str, SimCall], stats: SimStats, rng: random.Random,
                 ring_delay: tuple[float, float] = (0.3, 2.0), t1: float = 0.5,
                 default_handle_time: float = 30.0) -> None:
        super().__init__(spec.agent_id, t1=t1)
        self.spec = spec
        self.acd = acd
        self.domain = domain
        self.rtp_port = rtp_port
        self.calls = calls  # caller number -> the PBX's call (handle time, who hangs up)
        self.stats = stats
        self.rng = rng
        self.ring_delay = ring_delay
        self.dialogs = DialogTable()
        self.call: _AgentCall | None = None
        self.registered = asyncio.get_event_loop().create_future()
        self.paused = False
        self._reg_call_id = new_call_id(self.host)
        self._reg_cseq = 0
        self._reg_tag = new_tag()
        self._session = str(secrets.randbelow(10**9))
        self._version = 1
        self.auth_algorithm: str | None = None  # what the last digest answer used
        self._feature_pending = False
        self.default_handle_time = default_handle_time

    # -- registration ----------------------------------------------------------------------
    def register(self, expires: int = 3600) -> None:
        self._send_register(expires, None)

    def _send_register(self, expires: int, auth: str | None) -> None:
        self._reg_cseq += 1
        aor = NameAddress(f"sip:{self.spec.agent_id}@{self.domain}")
        assert self.local is not None
        request = build_request(
            "REGISTER", f"sip:{self.domain}", aor.with_tag(self._reg_tag), aor,
            call_id=self._reg_call_id, cseq=self._reg_cseq, via_host=self.host,
            via_port=self.port, contact=f"<{self.contact}>",
            user_agent="acd-demo-phone/1",
            extra=[("Expires", str(expires)), *([("Authorization", auth)] if auth else [])])
        self.send_request(request, self.acd,
                          lambda ev, now: self._on_register(ev, request, expires, auth))

    def _on_register(self, event: Event, request: Request, expires: int,
                     auth: str | None) -> None:
        if not isinstance(event, ResponseReceived):
            self._register_failed(f"REGISTER: {type(event).__name__}")
            return
        status = event.response.status
        if status < 200:
            return
        if status in (401, 407) and auth is None:
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            challenge = pick_challenge(event.response.headers.get_lines(header),
                                       self.spec.algorithm)
            if challenge is None or challenge["algorithm"] not in self.spec.ha1:
                self._register_failed(f"REGISTER: no usable challenge in {status}")
                return
            value = authorization(challenge, username=self.spec.agent_id,
                                  ha1_by_algorithm=self.spec.ha1, method="REGISTER",
                                  uri=request.uri, nc=1)
            self.auth_algorithm = challenge["algorithm"]
            self._send_register(expires, value)
            return
        if 200 <= status < 300:
            if expires and not self.registered.done():
                self.stats.registered += 1
                self.registered.set_result(True)
            if expires:  # refresh at 80 % of what the registrar granted
                granted = _granted_expires(event.response, self.contact) or expires
                self.later(granted * 0.8, lambda now: self.register(expires))
            return
        self._register_failed(f"REGISTER: {status}")

    def _register_failed(self, reason: str) -> None:
        self.errors.append(reason)
        if not self.registered.done():
            self.stats.register_failed += 1
            self.registered.set_result(False)

    # -- calls from the ACD ----------------------------------------------------------------
    def on_request(self, event: RequestReceived, now: float) -> None:
        request = event.request
        if request.to.tag:  # in-dialog
            self._in_dialog(event)
            return
        if request.method == "INVITE":
            self._incoming(event)
        else:
            super().on_request(event, now)

    def _incoming(self, event: RequestReceived) -> None:
        if self.call is not None:
            self.reply(event, 486)
            return
        to_tag = new_tag()
        caller = _uri_user(event.request.from_.uri)
        sdp = answer_sdp(event.request.body, self.host, self.rtp_port,
                         session=self._session, user=self.spec.agent_id)
        if sdp is None:
            self.reply(event, 488, to_tag=to_tag)
            return
        call = _AgentCall(event.key, event.request, to_tag, caller, sdp=sdp)
        self.call = call
        self.reply(event, 180, to_tag=to_tag)
        delay = self.rng.uniform(*self.ring_delay)
        call.answer_timer = self.later(delay, lambda now: self._answer(call))

    def _answer(self, call: _AgentCall) -> None:
        if self.call is not call:
            return
        assert self.local is not None
        event = RequestReceived(key=call.key, request=call.invite, source=self.acd)
        response = self.reply(event, 200, to_tag=call.to_tag, body=call.sdp)
        if self.endpoint is None or self.endpoint.transaction(call.key) is None:
            self.call = None  # CANCELled meanwhile: the 200 was refused
            return
        call.dialog = Dialog.uas(call.invite, response, self.local)
        self.dialogs.add(call.dialog)
        self.stats.agent_answers += 1

    def on_ack(self, event: AckReceived, now: float) -> None:
        call = self.call
        if call is None or call.key != event.key or call.hangup_timer is not None:
            return
        sim = self.calls.get(call.caller)
        if sim is None:  # a call we did not place (another PBX): talk for a while
            delay = self.rng.expovariate(1.0 / self.default_handle_time)
        elif sim.agent_hangs_up:
            delay = sim.handle_time
        else:
            return  # the caller will hang up
        call.hangup_timer = self.later(delay, lambda now: self.hang_up(call))

    def on_cancel(self, event: CancelReceived, now: float) -> None:
        call = self.call
        if call is not None and call.key == event.key:
            self.forget(call.answer_timer)
            self.call = None

    def hang_up(self, call: _AgentCall) -> None:
        if self.call is not call or call.dialog is None:
            return
        bye = call.dialog.create_request("BYE")
        self.dialogs.remove(call.dialog.id)
        self.send_request(bye, self.acd)
        self.stats.agent_hangups += 1
        self._call_over()

    def _call_over(self) -> None:
        call, self.call = self.call, None
        if call is not None:
            self.forget(call.answer_timer)
            self.forget(call.hangup_timer)

    def _in_dialog(self, event: RequestReceived) -> None:
        outcome = self.dialogs.receive_request(event.request)
        if isinstance(outcome, Response):
            self.respond(event.key, outcome)
            return
        if outcome is None:
            return
        method = event.request.method
        if method == "BYE":
            self.reply(event, 200)
            if self.call is not None and self.call.dialog is outcome:
                self._call_over()
        elif method in ("INVITE", "UPDATE"):
            body = b""
            if event.request.body:
                self._version += 1
                body = answer_sdp(event.request.body, self.host, self.rtp_port,
                                  session=self._session, version=self._version,
                                  user=self.spec.agent_id) or b""
            self.reply(event, 200 if body or not event.request.body else 488, body=body)
        else:
            self.reply(event, 200)

    # -- pausing ---------------------------------------------------------------------------
    def feature_code(self, code: str, done: Callable[[bool], None]) -> None:
        """Dial ``code`` (``*22``, ``*21``): INVITE, answer the digest challenge, ACK the
        200; the ACD plays a tone and sends BYE. ``done(accepted)`` when it is known."""
        if self._feature_pending:
            done(False)
            return
        self._feature_pending = True
        assert self.local is not None
        uri = f"sip:{code}@{self.domain}"
        me = NameAddress(f"sip:{self.spec.agent_id}@{self.domain}").with_tag(new_tag())
        call_id = new_call_id(self.host)
        body = offer_sdp(self.host, self.rtp_port, user=self.spec.agent_id,
                         session=self._session)

        def send(cseq: int, auth: str | None) -> Request:
            invite = build_invite(
                uri, me, NameAddress(uri), call_id=call_id, via_host=self.host,
                via_port=self.port, contact=f"<{self.contact}>", cseq=cseq, sdp=body,
                extra=[("Authorization", auth)] if auth else ())
            self.send_request(invite, self.acd, lambda ev, now: on_response(ev, invite, auth))
            return invite

        def finish(ok: bool) -> None:
            if self._feature_pending:
                self._feature_pending = False
                done(ok)

        def on_response(event: Event, invite: Request, auth: str | None) -> None:
            if not isinstance(event, ResponseReceived):
                finish(False)
                return
            response = event.response
            if response.status < 200:
                return
            if response.status == 401 and auth is None:
                challenge = pick_challenge(response.headers.get_lines("WWW-Authenticate"),
                                           self.spec.algorithm)
                if challenge is None or challenge["algorithm"] not in self.spec.ha1:
                    finish(False)
                    return
                value = authorization(challenge, username=self.spec.agent_id,
                                      ha1_by_algorithm=self.spec.ha1, method="INVITE",
                                      uri=uri)
                send(invite.cseq.seq + 1, value)
                return
            if 200 <= response.status < 300:
                assert self.local is not None
                dialog = self.dialogs.find_for_response(response)
                if dialog is None:
                    dialog = Dialog.uac(invite, response, self.local)
                    self.dialogs.add(dialog)
                self.send_ack(dialog.create_request("ACK"), self.acd)
                finish(True)  # the ACD's BYE follows after its tone
                return
            finish(False)

        send(1, None)


def _granted_expires(response: Response, contact: str) -> int | None:
    for value in response.contacts:
        if value.uri == contact and "expires" in value.params:
            try:
                return int(str(value.params["expires"]))
            except ValueError:
                return None
    text = response.headers.get("Expires")
    return int(text) if text and text.isdigit() else None

