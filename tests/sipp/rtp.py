"""A PBX caller's media port for end-to-end tests: a UDP receiver on 127.0.0.1 that records
every RTP packet the ACD sends (RFC 3550 header + arrival time) and checks the stream.

The port goes into the sipp caller's SDP (``-set rtp_port``); sipp itself never reads it.
"""

from __future__ import annotations

import itertools
import socket
import statistics
import struct
import threading
import time
from dataclasses import dataclass

__all__ = ["RtpPacket", "RtpReceiver", "check_stream"]


@dataclass(frozen=True)
class RtpPacket:
    arrival: float  # time.monotonic()
    version: int
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload_len: int
    source: tuple[str, int]


def parse_rtp(data: bytes, arrival: float, source: tuple[str, int]) -> RtpPacket | None:
    if len(data) < 12:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    csrc = (b0 & 0x0F) * 4
    return RtpPacket(
        arrival=arrival,
        version=b0 >> 6,
        marker=bool(b1 & 0x80),
        payload_type=b1 & 0x7F,
        sequence=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload_len=len(data) - 12 - csrc,
        source=source,
    )


class RtpReceiver:
    """``with RtpReceiver() as rx: ... rx.port ... rx.packets``: a thread reads the socket."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self._packets: list[RtpPacket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rtp-{self.port}", daemon=True)

    def __enter__(self) -> RtpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            packet = parse_rtp(data, time.monotonic(), source)
            if packet is not None:
                with self._lock:
                    self._packets.append(packet)

    @property
    def packets(self) -> list[RtpPacket]:
        with self._lock:
            return list(self._packets)

    def wait_for(self, count: int, timeout: float) -> list[RtpPacket]:
        """Until ``count`` packets arrived (polling our own buffer), or the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            packets = self.packets
            if len(packets) >= count:
                return packets
            time.sleep(0.02)
        return self.packets


def check_stream(packets: list[RtpPacket], payload_type: int, window: int = 100) -> list[str]:
    """Everything wrong with one paced G.711 stream (empty: fine): version 2, the negotiated
    PT, one SSRC, sequence +1 and timestamp +160 per packet, marker on the first, 160-byte
    payloads, mean inter-arrival 18-22 ms over ``window`` packets and no gap > 60 ms."""
    problems: list[str] = []
    if len(packets) < window:
        return [f"only {len(packets)} RTP packets, expected at least {window}"]
    first = packets[0]
    if not first.marker:
        problems.append("marker bit not set on the first packet")
    if any(p.version != 2 for p in packets):
        problems.append(f"RTP version {sorted({p.version for p in packets})}, expected 2")
    if {p.payload_type for p in packets} != {payload_type}:
        problems.append(
            f"payload types {sorted({p.payload_type for p in packets})}, expected {payload_type}"
        )
    if len({p.ssrc for p in packets}) != 1:
        problems.append(f"{len({p.ssrc for p in packets})} SSRCs in one stream")
    sizes = {p.payload_len for p in packets}
    if sizes != {160}:
        problems.append(f"payload sizes {sorted(sizes)}, expected 160 (20 ms of G.711)")
    for a, b in itertools.pairwise(packets):
        if (b.sequence - a.sequence) % 65536 != 1:
            problems.append(f"sequence {a.sequence} -> {b.sequence}")
            break
        if (b.timestamp - a.timestamp) % 2**32 != 160:
            problems.append(f"timestamp {a.timestamp} -> {b.timestamp} (seq {b.sequence})")
            break
    gaps = [b.arrival - a.arrival for a, b in itertools.pairwise(packets)]
    mean = statistics.fmean(gaps[: window - 1])
    if not 0.018 <= mean <= 0.022:
        problems.append(f"mean inter-arrival {mean * 1000:.2f} ms over {window} packets")
    if max(gaps) > 0.060:
        problems.append(f"gap of {max(gaps) * 1000:.1f} ms between packets")
    return problems
