"""The RTP player against a test receiver on 127.0.0.1: headers, cadence, marker, stop."""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import pytest

from acd.media import MediaError, MediaPlayer, Play, PortRange, Prompt, Silence
from acd.media.g711 import alaw_encode, ulaw_encode

pytestmark = pytest.mark.timeout(30)

PORTS = (31000, 31999)


@dataclass(frozen=True)
class Packet:
    at: float
    version: int
    marker: bool
    pt: int
    seq: int
    ts: int
    ssrc: int
    payload: bytes


class Sink(asyncio.DatagramProtocol):
    """Records every datagram with its own arrival time; wakes waiters at a count."""

    def __init__(self) -> None:
        self.packets: list[Packet] = []
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        now = time.monotonic()
        b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
        self.peer = (str(addr[0]), int(addr[1]))
        self.packets.append(Packet(now, b0 >> 6, bool(b1 & 0x80), b1 & 0x7F, seq, ts, ssrc,
                                   data[12:]))
        for n, fut in self.waiters:
            if len(self.packets) >= n and not fut.done():
                fut.set_result(None)

    async def wait_for(self, n: int, timeout: float = 10.0) -> list[Packet]:
        if len(self.packets) < n:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiters.append((n, fut))
            await asyncio.wait_for(fut, timeout)
        return self.packets[:n]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        Sink, local_addr=("127.0.0.1", 0))
    yield protocol
    transport.close()


@pytest.fixture
async def player() -> AsyncIterator[MediaPlayer]:
    p = MediaPlayer(PortRange(*PORTS, host="127.0.0.1"))
    yield p
    await p.close()


def ramp(frames: int, base: int = 0) -> Prompt:
    """Each 20 ms frame holds a distinct level so its position is visible on the wire."""
    pcm = b"".join(struct.pack("<h", base + 200 * f) * 160 for f in range(frames))
    return Prompt(f"ramp{base}", pcm)


def check_headers(packets: list[Packet], pt: int) -> None:
    ssrc = packets[0].ssrc
    for prev, cur in itertools.pairwise(packets):
        assert cur.version == 2 and cur.pt == pt and cur.ssrc == ssrc
        assert cur.seq == (prev.seq + 1) & 0xFFFF, "a frame is missing or reordered"
        assert cur.ts == (prev.ts + 160) & 0xFFFFFFFF
        assert len(cur.payload) == 160


async def test_headers_and_cadence(player: MediaPlayer, sink: Sink) -> None:
    local = await player.start_stream("c1", "127.0.0.1", sink.port, 0, "PCMU")
    assert local % 2 == 0 and PORTS[0] <= local <= PORTS[1]
    player.play("c1", [Play(prompt=ramp(50), loop=True)])
    packets = await sink.wait_for(101)
    check_headers(packets, pt=0)
    assert packets[0].version == 2 and packets[0].marker
    assert sink.peer == ("127.0.0.1", local)  # sent from the advertised port
    mean_ms = (packets[-1].at - packets[0].at) / 100 * 1000
    assert 18.0 <= mean_ms <= 22.0, f"mean inter-arrival {mean_ms:.2f} ms"


async def test_payload_follows_playlist_and_marks_prompt_switches(
    player: MediaPlayer, sink: Sink
) -> None:
    await player.start_stream("c1", "127.0.0.1", sink.port, 8, "PCMA")
    a, b = ramp(3, 1000), ramp(2, 5000)
    done = player.play("c1", [Play(prompt=a), Silence(ms=40), Play(prompt=b)])
    await asyncio.wait_for(done, 5)
    assert done.result() is True
    packets = sink.packets
    start = next(i for i, p in enumerate(packets) if p.payload == alaw_encode(a.pcm[:320]))
    got = [p.payload for p in packets[start:start + 7]]
    expected = [alaw_encode(a.pcm[i * 320:(i + 1) * 320]) for i in range(3)]
    expected += [b"\xd5" * 160] * 2
    expected += [alaw_encode(b.pcm[i * 320:(i + 1) * 320]) for i in range(2)]
    assert got == expected
    markers = [p.marker for p in packets[start:start + 7]]
    assert markers == [True, False, False, False, False, True, False]
    check_headers(packets, pt=8)
    assert player.stats("c1").playing is False


async def test_idle_stream_sends_silence_and_stop_stops(player: MediaPlayer, sink: Sink) -> None:
    await player.start_stream("c1", "127.0.0.1", sink.port, 0, "PCMU")
    packets = await sink.wait_for(5)
    assert all(p.payload == b"\xff" * 160 for p in packets)
    stats = player.stop("c1")
    assert stats is not None and stats.packets_sent >= 5
    count = len(sink.packets)
    await asyncio.sleep(0.15)  # seven frame times: nothing may arrive after stop
    assert len(sink.packets) == count
    assert player.stop("c1") is None and "c1" not in player
    assert player.player_stats().streams == 0


async def test_replacing_playlist_resumes_hold_music(player: MediaPlayer, sink: Sink) -> None:
    await player.start_stream("c1", "127.0.0.1", sink.port, 0, "PCMU")
    hold = ramp(100, 0)
    first = player.play("c1", [Play(prompt=hold, loop=True)])
    await sink.wait_for(10)
    announce = ramp(2, 20000)
    player.play("c1", [Play(prompt=announce), Play(prompt=hold, loop=True)])
    assert first.done() and first.result() is False
    before = len(sink.packets)
    await sink.wait_for(before + 6)
    frames = {ulaw_encode(hold.pcm[i * 320:(i + 1) * 320]): i for i in range(100)}
    hold_positions = [frames[p.payload] for p in sink.packets if p.payload in frames]
    # the music picks up where it stopped, not at frame 0
    resumed = hold_positions[hold_positions.index(max(hold_positions[:10])) + 1]
    assert resumed > 0


async def test_incoming_rtp_is_counted_and_dropped(player: MediaPlayer, sink: Sink) -> None:
    local = await player.start_stream("c1", "127.0.0.1", sink.port, 0, "PCMU")
    assert sink.transport is not None
    for i in range(50):
        sink.transport.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 1234) + bytes(160),
                              ("127.0.0.1", local))
    for _ in range(200):
        if player.stats("c1").packets_received == 50:
            break
        await asyncio.sleep(0.005)
    stats = player.stats("c1")
    assert stats.packets_received == 50 and stats.bytes_received == 50 * 172
    assert stats.last_received_at is not None


async def test_update_stream_moves_media(player: MediaPlayer, sink: Sink) -> None:
    await player.start_stream("c1", "127.0.0.1", 9, 0, "PCMU")  # discard port first
    player.update_stream("c1", remote_port=sink.port, payload_type=8, codec="PCMA")
    packets = await sink.wait_for(3)
    assert {p.pt for p in packets} == {8} and packets[0].marker
    assert packets[0].payload == b"\xd5" * 160
    player.update_stream("c1", remote_addr="0.0.0.0")  # hold: stop sending
    count = len(sink.packets)
    await asyncio.sleep(0.1)
    assert len(sink.packets) <= count + 1


async def test_errors(player: MediaPlayer, sink: Sink) -> None:
    await player.start_stream("c1", "127.0.0.1", sink.port, 0, "PCMU")
    cases = [
        (player.start_stream("c1", "127.0.0.1", sink.port, 0, "PCMU"), "duplicate-stream"),
        (player.start_stream("c2", "127.0.0.1", sink.port, 9, "G722"), "unsupported-codec"),
        (player.start_stream("c3", "127.0.0.1", sink.port, 200, "PCMU"), "bad-payload-type"),
        (player.start_stream("c4", "pbx.example", sink.port, 0, "PCMU"), "bad-remote-address"),
        (player.start_stream("c5", "::1", sink.port, 0, "PCMU"), "bad-remote-address"),
    ]
    for coro, code in cases:
        with pytest.raises(MediaError) as info:
            await coro
        assert info.value.code == code
    with pytest.raises(MediaError, match="no-such-stream"):
        player.play("nope", [])
    with pytest.raises(ValueError, match="loops forever"):
        player.play("c1", [Play(prompt=ramp(1), loop=True), Silence(ms=20)])
    await player.close()
    with pytest.raises(MediaError, match="player-closed"):
        await player.start_stream("c9", "127.0.0.1", sink.port, 0, "PCMU")


def _free_even_pair() -> int:
    """An even port whose pair (it and +2) is free right now: other processes on this
    machine (sipp peers, an ACD under test) use RTP ports too."""
    import socket

    for base in range(40000, 60000, 4):
        socks = []
        try:
            for port in (base, base + 2):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return base
    raise RuntimeError("no free port pair")


async def test_port_range_exhaustion_and_reuse(sink: Sink) -> None:
    base = _free_even_pair()
    player = MediaPlayer(PortRange(base, base + 3, host="127.0.0.1"))  # two even ports
    try:
        ports = [await player.start_stream(f"c{i}", "127.0.0.1", sink.port, 0, "PCMU")
                 for i in range(2)]
        assert sorted(ports) == [base, base + 2]
        with pytest.raises(MediaError, match="no-free-port"):
            await player.start_stream("c2", "127.0.0.1", sink.port, 0, "PCMU")
        player.stop("c0")
        await asyncio.sleep(0)  # the transport closes its socket on the next iteration
        assert await player.start_stream("c2", "127.0.0.1", sink.port, 0, "PCMU") == base
    finally:
        await player.close()
