"""A simulated PBX (trunk) forwarding citizens' calls to the ACD, over real SIP/UDP on
loopback.

`Pbx` places INVITEs with SDP to the queues' numbers, ACKs, answers the ACD's 3PCC
re-INVITE (announce mode: that is when the caller is connected; ringback: the 200), gives
up after the caller's patience when not yet connected (BYE once answered by the ACD, else
CANCEL) and hangs up after talking when it is the caller who ends the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from queueing.traffic import CallArrival
from sip.dialog import Dialog, DialogTable
from sip.headers import NameAddress
from sip.message import Response
from sip.requests import build_invite, new_call_id
from sip.transaction_events import Address, Event, RequestReceived, ResponseReceived

from .simcalls import CallerResult, SimCall, SimStats
from .ua import UserAgent, answer_sdp, offer_sdp

__all__ = ["Pbx"]


class Pbx(UserAgent):
    """The PBX (trunk) that forwards citizens' calls to the ACD."""

    def __init__(self, *, acd: Address, acd_host: str, rtp_port: int, stats: SimStats,
                 ringback_numbers: Iterable[str] = (), t1: float = 0.5,
                 on_end: Callable[[SimCall], None] | None = None) -> None:
        super().__init__("pbx", t1=t1)
        self.acd = acd
        self.acd_host = acd_host
        self.rtp_port = rtp_port
        self.stats = stats
        self.ringback = frozenset(ringback_numbers)
        self.on_end = on_end
        self.by_caller: dict[str, SimCall] = {}  # shared with the phones (handle times)
        self.by_call_id: dict[str, SimCall] = {}
        self.dialogs = DialogTable()
        self._seq = 0

    @property
    def active(self) -> int:
        return len(self.by_call_id)

    def place(self, arrival: CallArrival, number: str, *, agent_hangs_up: bool,
              speed: float) -> SimCall:
        assert self.local is not None
        self._seq += 1
        caller = f"1{(38_000_000_000 + self._seq) % 10**10:010d}"
        call = SimCall(arrival=arrival, number=number, caller=caller,
                       agent_hangs_up=agent_hangs_up, speed=speed)
        uri = f"sip:{number}@{self.acd.host}:{self.acd.port}"
        call.session = str(self._seq)
        body = offer_sdp(self.host, self.rtp_port, user="pbx", session=call.session)
        invite = build_invite(
            uri, NameAddress(f"sip:{caller}@{self.host}", display_name="Citizen"),
            NameAddress(f"sip:{number}@{self.acd_host}"), call_id=new_call_id(self.host),
            via_host=self.host, via_port=self.port, contact=f"<{self.contact}>", sdp=body)
        call.invite = invite
        call.started = self.now()
        self.by_caller[caller] = call
        self.by_call_id[invite.call_id] = call
        self.stats.placed += 1
        call.key = self.send_request(invite, self.acd,
                                     lambda ev, now: self._on_invite_response(call, ev))
        if call.key is None:
            self._end(call, CallerResult.REFUSED)
            return call
        patience = call.patience
        if patience is not None:
            call.timers.append(self.later(patience, lambda now: self.give_up(call)))
        return call

    def _on_invite_response(self, call: SimCall, event: Event) -> None:
        if not isinstance(event, ResponseReceived):
            self._end(call, CallerResult.TIMED_OUT)
            return
        response = event.response
        status = response.status
        if status < 200:
            return
        assert call.invite is not None and self.local is not None
        if status >= 300:
            call.status = status
            if call.ended is None:
                result = (CallerResult.ABANDONED if call.gave_up and status == 487
                          else CallerResult.REDIRECTED if 300 <= status < 400
                          else CallerResult.REFUSED)
                self._end(call, result)
            return
        # 2xx (again, for a retransmission): ACK each time.
        dialog = call.dialog
        if dialog is None:
            dialog = Dialog.uac(call.invite, response, self.local)
            call.dialog = dialog
            self.dialogs.add(dialog)
            call.status = status
            call.answered_by_acd = self.now()
        self.send_ack(dialog.create_request("ACK"), self.acd)
        if call.ended is not None or call.gave_up:
            self._bye(call)  # gave up while the 200 was on its way
            if call.ended is None:
                self._end(call, CallerResult.ABANDONED)
            return
        if call.number in self.ringback:
            self._connected(call)

    def _connected(self, call: SimCall) -> None:
        if call.connected is not None or call.ended is not None:
            return
        call.connected = self.now()
        self.stats.connected += 1
        wait = call.wait
        if wait is not None:
            self.stats.waits.append(wait)
        for timer in call.timers:
            self.forget(timer)
        call.timers.clear()
        if not call.agent_hangs_up:
            call.timers.append(self.later(call.handle_time, lambda now: self.hang_up(call)))

    def give_up(self, call: SimCall) -> None:
        """The caller's patience ran out before an agent answered."""
        if call.connected is not None or call.ended is not None:
            return
        call.gave_up = True
        if call.dialog is not None:
            self._bye(call)
            self._end(call, CallerResult.ABANDONED)
        elif call.key is not None:
            self.cancel(call.key)  # the 487 (or a crossing 200) ends it

    def hang_up(self, call: SimCall) -> None:
        """The caller ends a connected call (or the simulator stops)."""
        if call.ended is not None:
            return
        if call.connected is not None:
            self.stats.caller_hangups += 1
        if call.dialog is not None:
            self._bye(call)
            self._end(call, CallerResult.COMPLETED if call.connected else CallerResult.CUT)
        elif call.key is not None:
            call.gave_up = True
            self.cancel(call.key)
            self._end(call, CallerResult.CUT)

    def hang_up_all(self) -> None:
        for call in list(self.by_call_id.values()):
            if call.connected is None and call.dialog is None and call.key is not None:
                call.gave_up = True
                self.cancel(call.key)
                self._end(call, CallerResult.CUT)
            else:
                self.hang_up(call)

    def _bye(self, call: SimCall) -> None:
        dialog = call.dialog
        if dialog is None or self.dialogs.get(dialog.id) is None:
            return
        self.dialogs.remove(dialog.id)
        self.send_request(dialog.create_request("BYE"), self.acd)

    def _end(self, call: SimCall, result: CallerResult) -> None:
        if call.ended is not None:
            return
        call.ended = self.now()
        call.result = result
        self.stats.count(result)
        for timer in call.timers:
            self.forget(timer)
        call.timers.clear()
        if call.invite is not None:
            self.by_call_id.pop(call.invite.call_id, None)
        # by_caller keeps the call a little longer: the agent may still need it.
        def forget_caller(now: float) -> None:
            self.by_caller.pop(call.caller, None)

        self.later(5.0, forget_caller)
        if self.on_end is not None:
            self.on_end(call)

    # -- requests from the ACD -------------------------------------------------------------
    def on_request(self, event: RequestReceived, now: float) -> None:
        request = event.request
        if not request.to.tag:
            super().on_request(event, now)
            return
        outcome = self.dialogs.receive_request(request)
        if isinstance(outcome, Response):
            self.respond(event.key, outcome)
            return
        if outcome is None:
            return
        call = self.by_call_id.get(request.call_id)
        method = request.method
        if method == "BYE":
            self.reply(event, 200)
            if call is not None:
                self._end(call, CallerResult.COMPLETED if call.connected
                          else CallerResult.DROPPED)
        elif method in ("INVITE", "UPDATE"):
            body = b""
            if request.body and call is not None:
                call.sdp_version += 1
                body = answer_sdp(request.body, self.host, self.rtp_port,
                                  session=call.session, version=call.sdp_version,
                                  user="pbx") or b""
            self.reply(event, 200 if body or not request.body else 488, body=body)
            if method == "INVITE" and call is not None and body:
                self._connected(call)  # announce mode: the 3PCC re-INVITE bridges us
        else:
            self.reply(event, 200)
