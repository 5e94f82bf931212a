"""Announcement and music-on-hold RTP sender: many streams, ONE shared pacing timer.

Why not ``aiortp`` (the pinned 0.8.0, which we read): its paced mode gives every
session its own ``MediaClock`` task (one ``asyncio.sleep`` loop per stream, so 500
calls are 500 timers, not one we can drive), owns the marker bit (``PacedSender.tick``
sets it only after an empty-queue gap and *never* on a stream's first packet, and
there is no way to mark a prompt switch), and wants frames pushed into an unbounded
queue ahead of time (an endless hold-music loop needs a feeder per stream).  Its
unpaced ``send_audio`` always sends marker 0, and each session also binds an RTCP
socket and runs an RTCP task.  What we need is small: a 12-byte header, a
``sendto`` and a clock, so this module is our own.

Design:

* One UDP socket per stream (:class:`~acd.media.ports.PortRange`, even ports).
  Incoming RTP from the caller is read and dropped; only counters are kept
  (packets, bytes, last arrival, ICMP errors) so memory never grows — use them to
  detect dead media.
* One ``loop.call_at`` timer for all streams, drift-free: tick *n* is scheduled at
  ``t0 + n × 20 ms`` (never ``sleep(0.02)`` in a loop).  A late tick sends the missed
  frames of every stream at once (up to ``max_catchup`` frames); if the loop stalled
  longer, the older frames are skipped — timestamps still advance by 160 each, audio
  moves on with wall time, and the next packet carries the marker bit — so the far
  end's jitter buffer sees a gap, not a burst of stale audio.
* RTP (RFC 3550/3551): version 2, the negotiated payload type, random SSRC, random
  initial sequence number and timestamp, sequence +1 per packet, timestamp +160 per
  20 ms frame (8 kHz G.711, 160 samples).  Marker bit on the first packet of the
  stream, the first packet after :meth:`MediaPlayer.play`, the first packet of each
  prompt (:class:`~acd.media.playlist.Play`) and the first packet after skipped frames.
* When a playlist ends, the stream keeps sending G.711 *silence* frames until the
  next ``play`` or ``stop``: many PBXs hang up after some seconds without RTP
  (Asterisk ``rtptimeout``), and NAT bindings stay open.
* A remote address of ``0.0.0.0``/``::`` or port 0 (RFC 3264 hold / rejected stream)
  pauses sending; timestamps keep advancing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from acd.media.audio import FRAME_SAMPLES
from acd.media.playlist import Play, Playlist, Silence, validate_playlist
from acd.media.ports import MediaError, PortRange
from acd.media.prompts import CODECS, Prompt, silence_code

__all__ = ["FRAME_INTERVAL", "MediaPlayer", "PlayerStats", "StreamStats"]

FRAME_INTERVAL = 0.020
_HEADER = struct.Struct("!BBHII")
_MAX_WRITE_BUFFER = 64 * 1024  # bytes queued in a transport before frames are dropped


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStats:
    """A snapshot of one stream's counters (``last_received_at``: ``time.monotonic()``)."""

    call_id: str
    local_port: int
    remote: tuple[str, int] | None
    codec: str
    payload_type: int
    ssrc: int
    packets_sent: int
    packets_dropped: int
    packets_received: int
    bytes_received: int
    last_received_at: float | None
    send_errors: int
    playing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerStats:
    streams: int
    ticks: int
    late_ticks: int
    catchup_frames: int
    skipped_frames: int
    packets_sent: int


class _Receiver(asyncio.DatagramProtocol):
    """Absorbs the caller's RTP: counts it and drops it."""

    def __init__(self) -> None:
        self.packets = 0
        self.octets = 0
        self.last_at: float | None = None
        self.errors = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.packets += 1
        self.octets += len(data)
        self.last_at = time.monotonic()

    def error_received(self, exc: Exception) -> None:
        self.errors += 1  # typically ICMP port unreachable: the far end is gone


class _Segment:
    __slots__ = ("data", "key", "loop", "ms", "prompt")

    def __init__(self, prompt: Prompt | None, ms: int, loop: bool, codec: str) -> None:
        self.prompt = prompt
        self.ms = ms
        self.key = f"{prompt.source}\0{prompt.name}" if prompt is not None else ""
        self.data = b""
        self.loop = False
        self.encode(codec)
        self.loop = loop and len(self.data) > 0

    def encode(self, codec: str) -> None:
        if self.prompt is not None:
            self.data = self.prompt.encoded(codec)
        else:
            frames = -(-self.ms // 20)
            self.data = bytes([silence_code(codec)]) * (frames * FRAME_SAMPLES)


def _remote(addr: str, port: int, family_v6: bool) -> tuple[str, int] | None:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise MediaError("bad-remote-address",
                         f"{addr!r} is not an IP address (SDP c= must be resolved first)") from None
    if not 0 <= port <= 65535:
        raise MediaError("bad-remote-address", f"port {port} out of range")
    if ip.is_unspecified or port == 0:
        return None  # on hold / rejected: do not send
    if (ip.version == 6) != family_v6:
        raise MediaError("bad-remote-address",
                         f"{addr} is IPv{ip.version} but RTP sockets are "
                         f"IPv{6 if family_v6 else 4}")
    return (str(ip), port)


def _check_codec(payload_type: int, codec: str) -> str:
    name = codec.upper()
    if name not in CODECS:
        raise MediaError("unsupported-codec", f"{codec!r}; the player sends PCMU or PCMA")
    if not 0 <= payload_type <= 127:
        raise MediaError("bad-payload-type", f"{payload_type} not in 0-127")
    return name


class _Stream:
    __slots__ = (
        "buffered", "call_id", "codec", "done", "dropped", "local_port", "marker", "pos", "pt",
        "receiver", "remote", "resume", "seg_idx", "segments", "sent", "seq", "silence",
        "ssrc", "transport", "ts",
    )

    def __init__(self, call_id: str, local_port: int, transport: asyncio.DatagramTransport,
                 receiver: _Receiver, remote: tuple[str, int] | None, pt: int,
                 codec: str) -> None:
        self.call_id = call_id
        self.local_port = local_port
        self.transport = transport
        # DatagramTransport's type lacks it, but asyncio's and uvloop's implement it
        self.buffered: Callable[[], int] = getattr(transport, "get_write_buffer_size",
                                                   lambda: 0)
        self.receiver = receiver
        self.remote = remote
        self.pt = pt
        self.codec = codec
        self.silence = bytes([silence_code(codec)]) * FRAME_SAMPLES
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.marker = True
        self.segments: list[_Segment] = []
        self.seg_idx = 0
        self.pos = 0
        self.resume: dict[str, int] = {}
        self.done: asyncio.Future[bool] | None = None
        self.sent = 0
        self.dropped = 0

    # -- playlist cursor ------------------------------------------------------------

    def _enter(self, idx: int) -> None:
        self.seg_idx = idx
        self.pos = 0
        if idx < len(self.segments):
            seg = self.segments[idx]
            if seg.loop:
                self.pos = self.resume.pop(seg.key, 0)
            if seg.prompt is not None:
                self.marker = True

    def _finish(self, completed: bool) -> None:
        if self.done is not None:
            if not self.done.done():
                self.done.set_result(completed)
            self.done = None

    def load(self, segments: list[_Segment], done: asyncio.Future[bool]) -> None:
        if self.seg_idx < len(self.segments):
            current = self.segments[self.seg_idx]
            if current.loop:
                self.resume[current.key] = self.pos
        self._finish(False)
        self.segments = segments
        self.done = done
        self._enter(0)
        self.marker = True

    def set_codec(self, codec: str) -> None:
        self.codec = codec
        self.silence = bytes([silence_code(codec)]) * FRAME_SAMPLES
        for seg in self.segments:
            seg.encode(codec)  # G.711: one byte per sample in both laws, positions hold

    def next_payload(self) -> bytes:
        segments = self.segments
        while self.seg_idx < len(segments):
            seg = segments[self.seg_idx]
            pos = self.pos
            if pos < len(seg.data):
                end = pos + FRAME_SAMPLES
                self.pos = 0 if seg.loop and end >= len(seg.data) else end
                return seg.data[pos:end]
            self._enter(self.seg_idx + 1)
        if self.done is not None:
            self._finish(True)
        return self.silence

    # -- wire -------------------------------------------------------------------------

    def send(self) -> None:
        payload = self.next_payload()
        ts = self.ts
        self.ts = (ts + FRAME_SAMPLES) & 0xFFFFFFFF
        remote = self.remote
        if remote is None:
            return
        if self.buffered() > _MAX_WRITE_BUFFER:
            self.dropped += 1
            self.marker = True
            return
        marker = self.marker
        self.marker = False
        seq = self.seq
        self.seq = (seq + 1) & 0xFFFF
        self.transport.sendto(
            _HEADER.pack(0x80, self.pt | 0x80 if marker else self.pt, seq, ts, self.ssrc)
            + payload,
            remote,
        )
        self.sent += 1

    def skip(self, frames: int) -> None:
        for _ in range(frames):
            self.next_payload()
        self.ts = (self.ts + FRAME_SAMPLES * frames) & 0xFFFFFFFF
        self.marker = True

    def stats(self) -> StreamStats:
        r = self.receiver
        return StreamStats(
            call_id=self.call_id, local_port=self.local_port, remote=self.remote,
            codec=self.codec, payload_type=self.pt, ssrc=self.ssrc, packets_sent=self.sent,
            packets_dropped=self.dropped, packets_received=r.packets,
            bytes_received=r.octets, last_received_at=r.last_at, send_errors=r.errors,
            playing=self.done is not None,
        )


class MediaPlayer:
    """Plays playlists to many RTP streams, paced by one shared 20 ms timer.

    Use from inside a running event loop.  All methods except :meth:`start_stream`
    and :meth:`close` are synchronous.
    """

    def __init__(self, ports: PortRange | None = None, *, max_catchup: int = 5) -> None:
        self.ports = ports or PortRange()
        self.max_catchup = max_catchup
        self._streams: dict[str, _Stream] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._tick_no = 0
        self._closed = False
        self._ticks = self._late = self._catchup = self._skipped = 0
        self._sent_closed = 0  # packets of streams already stopped

    # -- streams ----------------------------------------------------------------------

    async def start_stream(
        self,
        call_id: str,
        remote_addr: str,
        remote_port: int,
        payload_type: int,
        codec: str,
    ) -> int:
        """Open a stream towards *remote_addr:remote_port*; return our local RTP port.

        Raises :class:`MediaError` (``player-closed``, ``duplicate-stream``,
        ``unsupported-codec``, ``bad-payload-type``, ``bad-remote-address``,
        ``no-free-port``).  Sends silence until :meth:`play` is called.
        """
        if self._closed:
            raise MediaError("player-closed", "the media player is closed")
        if call_id in self._streams:
            raise MediaError("duplicate-stream", f"call {call_id!r} already has a stream")
        name = _check_codec(payload_type, codec)
        remote = _remote(remote_addr, remote_port, self.ports.family == socket.AF_INET6)
        loop = asyncio.get_running_loop()
        self._loop = loop
        sock, port = self.ports.bind()
        try:
            transport, receiver = await loop.create_datagram_endpoint(_Receiver, sock=sock)
        except BaseException:
            sock.close()
            self.ports.release(port)
            raise
        if call_id in self._streams or self._closed:  # raced with another start / close
            transport.close()
            self.ports.release(port)
            raise MediaError("duplicate-stream" if not self._closed else "player-closed",
                             f"call {call_id!r}")
        self._streams[call_id] = _Stream(call_id, port, transport, receiver, remote,
                                         payload_type, name)
        self._ensure_timer(loop)
        return port

    def update_stream(
        self,
        call_id: str,
        *,
        remote_addr: str | None = None,
        remote_port: int | None = None,
        payload_type: int | None = None,
        codec: str | None = None,
    ) -> None:
        """Apply a caller's new SDP (address, port, codec) to a running stream."""
        stream = self._get(call_id)
        if codec is not None or payload_type is not None:
            name = _check_codec(stream.pt if payload_type is None else payload_type,
                                codec or stream.codec)
            if payload_type is not None:
                stream.pt = payload_type
            if name != stream.codec:
                stream.set_codec(name)
        if remote_addr is not None or remote_port is not None:
            old = stream.remote or ("0.0.0.0", 0)
            stream.remote = _remote(remote_addr or old[0],
                                    old[1] if remote_port is None else remote_port,
                                    self.ports.family == socket.AF_INET6)
            stream.marker = True

    def play(self, call_id: str, playlist: Playlist) -> asyncio.Future[bool]:
        """Replace what *call_id* hears by *playlist*, from the next frame on.

        Returns a future: ``True`` when the playlist played to its end (never, if
        its last item loops), ``False`` if it was replaced or the stream stopped.
        Raises ``MediaError("no-such-stream")`` or ``ValueError`` for a bad playlist.
        """
        stream = self._get(call_id)
        validate_playlist(playlist)
        segments = [
            _Segment(item.prompt, 0, item.loop, stream.codec) if isinstance(item, Play)
            else _Segment(None, item.ms, False, stream.codec)
            for item in playlist
            if not (isinstance(item, Silence) and item.ms == 0)
        ]
        assert self._loop is not None
        done: asyncio.Future[bool] = self._loop.create_future()
        stream.load(segments, done)
        return done

    def stop(self, call_id: str) -> StreamStats | None:
        """Stop sending to *call_id* and free its port; its final stats (None if unknown)."""
        stream = self._streams.pop(call_id, None)
        if stream is None:
            return None
        stream._finish(False)
        stream.transport.close()
        self.ports.release(stream.local_port)
        self._sent_closed += stream.sent
        if not self._streams and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return stream.stats()

    async def close(self) -> None:
        """Stop every stream; further :meth:`start_stream` calls fail."""
        self._closed = True
        for call_id in list(self._streams):
            self.stop(call_id)
        await asyncio.sleep(0)  # let the transports run connection_lost and close sockets

    def stats(self, call_id: str) -> StreamStats:
        return self._get(call_id).stats()

    def player_stats(self) -> PlayerStats:
        return PlayerStats(
            streams=len(self._streams), ticks=self._ticks, late_ticks=self._late,
            catchup_frames=self._catchup, skipped_frames=self._skipped,
            packets_sent=self._sent_closed + sum(s.sent for s in self._streams.values()),
        )

    @property
    def call_ids(self) -> Sequence[str]:
        return tuple(self._streams)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._streams

    def _get(self, call_id: str) -> _Stream:
        stream = self._streams.get(call_id)
        if stream is None:
            raise MediaError("no-such-stream", f"call {call_id!r} has no media stream")
        return stream

    # -- the one pacing timer ----------------------------------------------------------

    def _ensure_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is None:
            self._t0 = loop.time()
            self._tick_no = 0
            self._timer = loop.call_at(self._t0, self._on_tick)

    def _on_tick(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        due = int((now - self._t0 + 0.0005) / FRAME_INTERVAL) + 1
        behind = due - self._tick_no
        if behind > 0:
            self._ticks += 1
            streams = list(self._streams.values())
            if behind > 1:
                self._late += 1
            if behind > self.max_catchup:
                skip = behind - 1
                self._skipped += skip
                for stream in streams:
                    stream.skip(skip)
                behind = 1
            self._catchup += behind - 1
            for _ in range(behind):
                for stream in streams:
                    stream.send()
            self._tick_no = due
        if self._streams:
            self._timer = loop.call_at(self._t0 + self._tick_no * FRAME_INTERVAL,
                                       self._on_tick)
        else:
            self._timer = None


