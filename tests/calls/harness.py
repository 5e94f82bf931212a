"""In-process, deterministic harness for the call engine.

The real `SipService` (its endpoint, dispatch and callbacks), `RoutingService` and
`RegistrationService` run on a `FakeRuntime` whose clock the test sets; SIP peers (PBX,
softphones) are sans-IO `sip.endpoint.Endpoint`s; `Network.pump()` moves datagrams by
hand until nothing moves. Media is a fake that records what the engine asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acd.calls import AgentLegEnded, CallControl, CallEnded, CallEngineEvent
from acd.registration import RegistrationService
from acd.routing import RoutingService
from acd.sipservice import SipService
from config import Settings
from queueing import Event as RouterEvent
from sip.dialog import Dialog
from sip.endpoint import Endpoint, EndpointConfig
from sip.headers import NameAddress
from sip.message import Request, Response, make_response, parse_message
from sip.registrar import Address as BindingAddress
from sip.registrar import Binding
from sip.requests import LocalAddress, build_invite, new_call_id, new_tag
from sip.sdp import SessionDescription
from sip.transaction_events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTimedOut,
)

ACD = Address("udp", "10.0.0.1", 5060)
PBX_HOST = "10.0.0.2"
DOMAIN = "acd.test"


def sdp(host: str, port: int, *, version: int = 1, session: str = "4711",
        user: str = "peer", codecs: tuple[int, ...] = (0, 8)) -> bytes:
    names = {0: "PCMU", 8: "PCMA", 18: "G729", 9: "G722"}
    lines = ["v=0", f"o={user} {session} {version} IN IP4 {host}", "s=-", f"c=IN IP4 {host}",
             "t=0 0", f"m=audio {port} RTP/AVP {' '.join(map(str, codecs))}"]
    lines += [f"a=rtpmap:{pt} {names[pt]}/8000" for pt in codecs]
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


class FakeRuntime:
    def __init__(self) -> None:
        self.t = 1000.0
        self.timed: list[Any] = []
        self.flushers: list[Callable[[float], bool]] = []
        self._in_step = False

    def now(self) -> float:
        return self.t

    def add_timed(self, core: Any) -> None:
        self.timed.append(core)

    def add_flusher(self, flush: Callable[[float], bool]) -> None:
        self.flushers.append(flush)

    def step(self, work: Callable[[float], None] | None = None) -> None:
        outer = not self._in_step
        self._in_step = True
        try:
            if work is not None:
                work(self.t)
            if outer:
                for _ in range(32):
                    if not any([f(self.t) for f in self.flushers]):
                        break
        finally:
            if outer:
                self._in_step = False

    def fire(self) -> None:
        def expire(now: float) -> None:
            for core in self.timed:
                deadline = core.next_deadline()
                if deadline is not None and deadline <= now:
                    core.handle_timer(now)

        self.step(expire)


class FakeTransport:
    def __init__(self) -> None:
        self.out: list[tuple[bytes, Address]] = []
        self.sent: list[tuple[bytes, Address]] = []  # everything, never cleared

    def send(self, data: bytes, dest: Address) -> None:
        self.out.append((data, dest))
        self.sent.append((data, dest))


@dataclass
class FakeMedia:
    host: str = "10.0.0.1"
    pending: list[Callable[[float], None]] = field(default_factory=list)
    open_streams: set[str] = field(default_factory=set)
    log: list[tuple[str, ...]] = field(default_factory=list)
    fail: bool = False
    next_port: int = 40000

    def open(self, stream_id: str, remote: SessionDescription, codec: tuple[int, str],
             ready: Callable[[int | None, float], None]) -> None:
        port = None if self.fail else self.next_port
        self.next_port += 2
        if port is not None:
            self.open_streams.add(stream_id)
        self.log.append(("open", stream_id, codec[1]))
        self.pending.append(lambda now: ready(port, now))

    def greet(self, stream_id: str, queue: str) -> None:
        self.log.append(("greet", stream_id))

    def announce(self, stream_id: str, queue: str, position: int | None,
                 ewt: float | None) -> None:
        self.log.append(("announce", stream_id, str(position)))

    def tone(self, stream_id: str, ok: bool) -> float:
        self.log.append(("tone", stream_id, str(ok)))
        return 0.6

    def update(self, stream_id: str, remote: SessionDescription) -> None:
        self.log.append(("update", stream_id))

    def close(self, stream_id: str) -> None:
        self.open_streams.discard(stream_id)
        self.log.append(("close", stream_id))


class Peer:
    """A SIP UA on a sans-IO endpoint: every event kept in ``inbox`` until taken."""

    def __init__(self, net: Network, host: str, port: int, user: str) -> None:
        self.net = net
        self.addr = Address("udp", host, port)
        self.user = user
        self.ep = Endpoint(EndpointConfig(sent_by={"udp": (host, port)}, server=None))
        self.inbox: list[Event] = []
        self.local = LocalAddress(host=host, port=port, transport="UDP",
                                  contact=f"sip:{user}@{host}:{port}")
        self.dialogs: list[Dialog] = []
        self.auto_options = True  # answer OPTIONS 200 at once (still kept in the inbox)

    @property
    def contact(self) -> str:
        return self.local.contact

    def collect(self) -> None:
        while (event := self.ep.next_event()) is not None:
            self.inbox.append(event)
            if (self.auto_options and isinstance(event, RequestReceived)
                    and event.request.method == "OPTIONS"):
                self.ep.send_response(event.key, make_response(event.request, 200),
                                      self.net.runtime.t)

    def take(self, kind: type, method: str | None = None, status: int | None = None) -> Any:
        self.net.pump()
        for i, event in enumerate(self.inbox):
            if not isinstance(event, kind):
                continue
            if method is not None and _method(event) != method:
                continue
            if status is not None and (not isinstance(event, ResponseReceived)
                                       or event.response.status != status):
                continue
            return self.inbox.pop(i)
        raise AssertionError(f"{self.user}: no {kind.__name__} {method or ''} {status or ''} "
                             f"in {[_describe(e) for e in self.inbox]}")

    def has(self, kind: type, method: str | None = None) -> bool:
        self.net.pump()
        return any(isinstance(e, kind) and (method is None or _method(e) == method)
                   for e in self.inbox)

    def request(self, event: RequestReceived) -> Request:
        return event.request

    # -- acting ---------------------------------------------------------------------------
    def invite(self, uri: str, body: bytes, *, caller: str = "13800138000",
               extra: tuple[tuple[str, str], ...] = ()) -> tuple[Request, TransactionKey]:
        invite = build_invite(
            uri, NameAddress(f"sip:{caller}@{self.addr.host}", display_name="Citizen"),
            NameAddress(uri), call_id=new_call_id(self.addr.host), via_host=self.addr.host,
            via_port=self.addr.port, contact=f"<{self.contact}>", sdp=body, extra=extra)
        key = self.ep.send_request(invite, ACD, self.net.runtime.t)
        self.net.pump()
        return invite, key

    def respond(self, event: RequestReceived, status: int, body: bytes = b"",
                to_tag: str | None = None, extra: list[tuple[str, str]] | None = None) -> Response:
        fields = [("Contact", f"<{self.contact}>"), *(extra or [])]
        if body:
            fields.append(("Content-Type", "application/sdp"))
        response = make_response(event.request, status, to_tag=to_tag or new_tag(), extra=fields,
                                 body=body)
        self.ep.send_response(event.key, response, self.net.runtime.t)
        if 200 <= status < 300 and event.request.method == "INVITE" and not event.request.to.tag:
            self.dialogs.append(Dialog.uas(event.request, response, self.local))
        self.net.pump()
        return response

    def ack(self, invite: Request, response: Response) -> Dialog:
        dialog = Dialog.uac(invite, response, self.local)
        self.ep.send_ack(dialog.create_request("ACK"), ACD, self.net.runtime.t)
        self.dialogs.append(dialog)
        self.net.pump()
        return dialog

    def send_in_dialog(self, dialog: Dialog, method: str, body: bytes = b"") -> TransactionKey:
        request = dialog.create_request(method, body=body,
                                        content_type="application/sdp" if body else None)
        if method == "ACK":
            self.ep.send_ack(request, ACD, self.net.runtime.t)
            key = TransactionKey("", "ACK")
        else:
            key = self.ep.send_request(request, ACD, self.net.runtime.t)
        self.net.pump()
        return key

    def ack_reinvite(self, dialog: Dialog) -> None:
        self.send_in_dialog(dialog, "ACK")


def _method(event: Event) -> str | None:
    if isinstance(event, RequestReceived | AckReceived | CancelReceived):
        return event.request.method
    if isinstance(event, ResponseReceived):
        return event.response.cseq.method
    if isinstance(event, TransactionTimedOut):
        return event.key.method
    return None


def _describe(event: Event) -> str:
    if isinstance(event, ResponseReceived):
        return f"{event.response.status} {event.response.cseq.method}"
    return f"{type(event).__name__} {_method(event)}"


class Network:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.runtime = FakeRuntime()
        self.settings = Settings(**(config or base_config()))
        self.sip = SipService(self.runtime, t1=0.5, t2=4.0, t4=5.0)  # type: ignore[arg-type]
        self.sip.advertised = {"udp": (ACD.host, ACD.port), "tcp": (ACD.host, ACD.port)}
        self.sip.endpoint = Endpoint(EndpointConfig(sent_by=self.sip.advertised))
        self.transport = FakeTransport()
        self.sip.transport = self.transport  # type: ignore[assignment]
        self.runtime.add_timed(self.sip)
        self.runtime.add_flusher(self.sip.flush)
        self.routing = RoutingService(self.runtime, self.settings)  # type: ignore[arg-type]
        self.runtime.step(self.routing.start)
        self.registration = RegistrationService(self.sip, self.settings)
        self.registration.listeners.append(self.routing.on_reachability)
        self.router_events: list[RouterEvent] = []
        self.routing.observers.append(lambda e, now: self.router_events.append(e))
        self.sip.handlers["OPTIONS"] = lambda e, now: None
        self.media = FakeMedia()
        self.engine = CallControl(self.sip, self.routing, self.registration, self.settings,
                                  self.media, self.runtime)  # type: ignore[arg-type]
        self.engine.install()
        self.events: list[CallEngineEvent] = []
        self.engine.observers.append(lambda e, now: self.events.append(e))
        self.peers: dict[tuple[str, int], Peer] = {}
        self.bindings: list[Binding] = []
        self.drop: Callable[[bytes], bool] | None = None  # datagrams from the ACD to lose
        self.pbx = self.peer(PBX_HOST, 5060, "pbx")

    def ended(self) -> list[CallEnded]:
        return [e for e in self.events if isinstance(e, CallEnded)]

    def legs(self) -> list[AgentLegEnded]:
        return [e for e in self.events if isinstance(e, AgentLegEnded)]

    def peer(self, host: str, port: int, user: str) -> Peer:
        peer = Peer(self, host, port, user)
        self.peers[(host, port)] = peer
        return peer

    def agent(self, agent_id: str, host: str, port: int = 5060, *,
              login: bool = True, contact: str | None = None,
              source: tuple[str, int] | None = None) -> Peer:
        """A registered phone listening on host:port; ``contact``/``source`` override the
        binding's Contact and the REGISTER's source address (NAT, odd Contacts)."""
        phone = self.peer(host, port, agent_id)
        src_host, src_port = source or (host, port)
        binding = Binding(
            aor=f"sip:{agent_id}@{DOMAIN}", contact=contact or phone.contact,
            source=BindingAddress(transport="udp", host=src_host, port=src_port),
            user_agent="test",
            call_id=new_call_id(), cseq=1, expires_at=self.runtime.t + 3600,
            registered_at=self.runtime.t)
        self.bindings.append(binding)
        self.runtime.step(lambda now: self.registration.restore(self.bindings, now))
        if login:
            self.runtime.step(lambda now: self.routing.router.agent_login(agent_id, now))
        self.pump()
        return phone

    def pump(self) -> None:
        endpoint = self.sip.endpoint
        assert endpoint is not None
        for _ in range(100):
            moved = False
            out, self.transport.out = self.transport.out, []
            for data, dest in out:
                moved = True
                if self.drop is not None and self.drop(data):
                    continue
                peer = self.peers.get((dest.host, dest.port))
                if peer is not None:
                    peer.ep.receive(data, ACD, self.runtime.t)
                    peer.collect()
            for peer in self.peers.values():
                peer.collect()
                for transmit in peer.ep.datagrams_to_send():
                    moved = True
                    data, source = transmit.data, peer.addr
                    self.runtime.step(lambda now, d=data, s=source: endpoint.receive(d, s, now))
            pending, self.media.pending = self.media.pending, []
            for ready in pending:
                moved = True
                self.runtime.step(ready)
            if not moved:
                return

    def advance(self, to: float) -> None:
        """Move the clock to ``to``, firing every deadline on the way, each in turn."""
        while True:
            deadlines = [d for core in self.runtime.timed
                         if (d := core.next_deadline()) is not None]
            deadlines += [d for p in self.peers.values() if (d := p.ep.get_timer()) is not None]
            due = min([d for d in deadlines if d <= to], default=None)
            if due is None:
                break
            self.runtime.t = max(self.runtime.t, due)
            self.runtime.fire()
            for peer in self.peers.values():
                peer.ep.handle_timer(self.runtime.t)
                peer.collect()
            self.pump()
        self.runtime.t = to
        self.pump()


def base_config(**queue: Any) -> dict[str, Any]:
    return {
        "sip": {"listen": ["udp:10.0.0.1:5060"], "domain": DOMAIN, "qualify_interval": 0},
        "trunks": [{"name": "pbx", "sources": [PBX_HOST]}],
        "agents": [
            {"id": aid, "password": f"pw-{aid}", "skills": {"mandarin": 5}}
            for aid in ("1001", "1002", "1003")
        ],
        "queues": [{"name": "general", "numbers": ["12345"], "skills": {"mandarin": 1},
                    "ring_timeout": 15, "wrapup_seconds": 10, **queue}],
    }


def sent(net: Network, peer: Peer, method: str) -> list[Request]:
    """Every request ``method`` the ACD put on the wire to ``peer`` (retransmissions too)."""
    out = []
    for data, dest in net.transport.sent:
        if (dest.host, dest.port) != (peer.addr.host, peer.addr.port):
            continue
        if not data.startswith(method.encode() + b" "):
            continue
        message = parse_message(data)
        assert isinstance(message, Request)
        out.append(message)
    return out
