"""asyncio sockets for SIP: UDP and TCP on the same port, IPv4 and IPv6 (RFC 3261 §18).

The only module of `sip/` that touches asyncio. It moves bytes and nothing else: every
datagram or TCP frame is handed to ``on_message(data, source, now)`` with ``loop.time()``, and
`send(data, dest)` writes to the socket that ``dest`` names. TCP connections are keyed by the
peer's (host, port), so a response, or a request to an agent that registered over TCP, goes
back over the connection it came on (RFC 5626 §4 style reuse). Framing errors close the
connection; socket errors are reported through ``on_error`` and never raised into the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from .errors import RemoteProtocolError
from .framing import KeepAlive, StreamFramer
from .memo import remember
from .transaction_events import Address

__all__ = ["Listener", "SipTransport", "TransportStats"]

MessageHandler = Callable[[bytes, Address, float], None]
ErrorHandler = Callable[[Address, str], None]

# A TCP peer may not dribble forever: idle connections without a registration are closed.
TCP_IDLE_TIMEOUT = 3600.0
TCP_CONNECT_TIMEOUT = 5.0
TCP_WRITE_BUFFER_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class Listener:
    transport: str  # "udp" | "tcp"
    host: str
    port: int


@dataclass(slots=True)
class TransportStats:
    datagrams_in: int = 0
    datagrams_out: int = 0
    tcp_connections: int = 0
    framing_errors: int = 0
    send_errors: int = 0


def _norm_host(host: str) -> str:
    """Addresses as the sans-IO core writes them: IPv6 in brackets, IPv4 plain."""
    host = host.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    return f"[{ip}]" if ip.version == 6 else str(ip)


def _sock_host(host: str) -> str:
    return host[1:-1] if host.startswith("[") else host


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None
        # (ip, port) as the socket reports it -> our Address: one per peer, not per datagram
        self._sources: dict[tuple[str | int, ...], Address] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's: no isinstance check here.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        source = self._sources.get(addr)
        if source is None:
            source = remember(self._sources, addr,
                              Address("udp", _norm_host(str(addr[0])), int(addr[1])))
        self.owner._deliver(data, source)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc. arrive without a reliable peer address on most stacks.
        self.owner.stats.send_errors += 1


class _Tcp(asyncio.Protocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: Address | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Address("tcp", _norm_host(host), int(port))
        self.owner._connections[self.peer] = self
        self.owner.stats.tcp_connections += 1

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        try:
            frames = self.framer.feed(data)
        except RemoteProtocolError as exc:
            self.owner.stats.framing_errors += 1
            self.owner._on_error(self.peer, f"framing: {exc.reason}")
            self.transport.close()
            return
        for frame in frames:
            if isinstance(frame, KeepAlive):
                self.transport.write(b"\r\n")  # RFC 5626 §3.5.1 pong
            else:
                self.owner._deliver(frame, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.owner._connections.get(self.peer) is self:
            del self.owner._connections[self.peer]
            self.owner.stats.tcp_connections -= 1
        if not self.closed.done():
            self.closed.set_result(None)


class SipTransport:
    """All SIP sockets of one process."""

    def __init__(self, on_message: MessageHandler, on_error: ErrorHandler) -> None:
        self._on_message = on_message
        self._on_error = on_error
        self._loop = asyncio.get_running_loop()
        self._udp: dict[int, asyncio.DatagramTransport] = {}  # address family → socket
        self._servers: list[asyncio.Server] = []
        self._connections: dict[Address, _Tcp] = {}
        self._connecting: dict[Address, asyncio.Task[None]] = {}
        self._pending: dict[Address, list[bytes]] = {}
        self._targets: dict[Address, tuple[int, tuple[str, int]]] = {}  # family, sockaddr
        self.listeners: list[Listener] = []
        self.stats = TransportStats()

    def _deliver(self, data: bytes, source: Address) -> None:
        self.stats.datagrams_in += 1
        try:
            self._on_message(data, source, self._loop.time())
        except Exception as exc:  # the core must never take the socket down
            self._on_error(source, f"handler failed: {exc!r}")

    async def listen(self, transport: str, host: str, port: int) -> Listener:
        """Bind one listener; port 0 picks a free port (tests)."""
        bind = _sock_host(host)
        if transport == "udp":
            udp, _ = await self._loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(bind, port)
            )
            sockname = udp.get_extra_info("sockname")
            family = udp.get_extra_info("socket").family
            self._udp[int(family)] = udp
        elif transport == "tcp":
            server = await self._loop.create_server(lambda: _Tcp(self), bind, port)
            self._servers.append(server)
            sockname = server.sockets[0].getsockname()
        else:
            raise ValueError(f"unsupported transport {transport!r}")
        listener = Listener(transport, _norm_host(str(sockname[0])), int(sockname[1]))
        self.listeners.append(listener)
        return listener

    def send(self, data: bytes, dest: Address) -> None:
        """Send now (UDP, or an open TCP connection) or once the TCP connection is up."""
        self.stats.datagrams_out += 1
        if dest.transport == "udp":
            target = self._targets.get(dest)
            if target is None:
                family = 10 if dest.host.startswith("[") else 2  # AF_INET6 / AF_INET
                target = remember(self._targets, dest,
                                  (family, (_sock_host(dest.host), dest.port)))
            udp = self._udp.get(target[0])
            if udp is None:
                self._on_error(dest, "no UDP socket for this address family")
                return
            try:
                udp.sendto(data, target[1])
            except OSError as exc:
                self.stats.send_errors += 1
                self._on_error(dest, f"sendto: {exc}")
            return
        conn = self._connections.get(dest)
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            if conn.transport.get_write_buffer_size() > TCP_WRITE_BUFFER_LIMIT:
                self._on_error(dest, "TCP write buffer full")
                conn.transport.abort()
                return
            conn.transport.write(data)
            return
        self._pending.setdefault(dest, []).append(data)
        if dest not in self._connecting:
            self._connecting[dest] = self._loop.create_task(self._connect(dest))

    async def _connect(self, dest: Address) -> None:
        try:
            await asyncio.wait_for(
                self._loop.create_connection(lambda: _Tcp(self), _sock_host(dest.host), dest.port),
                TCP_CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as exc:
            self._pending.pop(dest, None)
            self.stats.send_errors += 1
            self._on_error(dest, f"connect: {exc or 'timed out'}")
            return
        finally:
            self._connecting.pop(dest, None)
        conn = self._connections.get(dest)
        for data in self._pending.pop(dest, []):
            if conn is not None and conn.transport is not None:
                conn.transport.write(data)

    async def close(self) -> None:
        for task in list(self._connecting.values()):
            task.cancel()
        for server in self._servers:
            server.close()
        for conn in list(self._connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        for udp in self._udp.values():
            udp.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
