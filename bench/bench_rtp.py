"""Paced RTP streams from acd.media.MediaPlayer to a local sink: packets/s, jitter, CPU.

    python bench/bench_rtp.py                  # 100, 300, 500 streams, 5 s each
    python bench/bench_rtp.py --streams 500 --seconds 10 --uvloop

The sink runs in a separate process (so its own work does not steal the player's
core) and timestamps every datagram on arrival; per stream it measures inter-arrival
deviation from 20 ms (|Δt - 20 ms|) and reports p50/p99/max over all streams, plus
sequence gaps.  CPU is the player process's own user+system time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import struct
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd.media import MediaPlayer, Play, PortRange, PromptLibrary

_HDR = struct.Struct("!BBHII")


def _sink(conn: Connection, seconds: float, warmup: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    conn.send(sock.getsockname()[1])
    sock.settimeout(0.5)
    last: dict[int, tuple[float, int]] = {}
    deviations: list[float] = []
    packets = gaps = 0
    start = None
    while True:
        try:
            data = sock.recv(2048)
        except TimeoutError:
            if start is not None:
                break
            continue
        now = time.monotonic()
        if start is None:
            start = now
        if now - start > warmup + seconds:
            break
        _, _, seq, _, ssrc = _HDR.unpack_from(data)
        prev = last.get(ssrc)
        last[ssrc] = (now, seq)
        if now - start < warmup or prev is None:
            continue
        packets += 1
        gaps += (seq - prev[1] - 1) & 0xFFFF
        deviations.append(abs(now - prev[0] - 0.020) * 1000)
    deviations.sort()
    n = len(deviations)
    conn.send({
        "packets": packets, "gaps": gaps, "streams": len(last),
        "p50": deviations[n // 2] if n else 0.0,
        "p99": deviations[int(n * 0.99)] if n else 0.0,
        "max": deviations[-1] if n else 0.0,
    })


async def _run(streams: int, seconds: float, warmup: float, port: int) -> dict[str, float]:
    lib = PromptLibrary()
    lib.preload()
    hold = lib.prompt("hold")
    player = MediaPlayer(PortRange(40000, 40000 + 2 * streams + 100, host="127.0.0.1"))
    for i in range(streams):
        await player.start_stream(f"call-{i}", "127.0.0.1", port, 0, "PCMU")
        player.play(f"call-{i}", [Play(prompt=hold, loop=True)])
    await asyncio.sleep(warmup)
    cpu0, t0, sent0 = time.process_time(), time.monotonic(), player.player_stats().packets_sent
    await asyncio.sleep(seconds)
    cpu1, t1, stats = time.process_time(), time.monotonic(), player.player_stats()
    await player.close()
    return {"pps": (stats.packets_sent - sent0) / (t1 - t0),
            "cpu": (cpu1 - cpu0) / (t1 - t0) * 100,
            "late": stats.late_ticks, "skipped": stats.skipped_frames}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="*", default=[100, 300, 500])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--uvloop", action="store_true", help="run the player on uvloop")
    args = parser.parse_args()
    loop_name = "uvloop" if args.uvloop else "asyncio"
    print(f"{'streams':>7} {'pkts/s':>8} {'expect':>7} {'gaps':>5} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7} {'CPU %':>6} {'late':>5}  ({loop_name} loop, "
          f"{os.cpu_count()} CPUs)")
    for n in args.streams:
        parent, child = mp.Pipe()
        proc = mp.Process(target=_sink, args=(child, args.seconds, 1.0))
        proc.start()
        port = parent.recv()
        if args.uvloop:
            import uvloop
            res = uvloop.run(_run(n, args.seconds, 1.0, port))
        else:
            res = asyncio.run(_run(n, args.seconds, 1.0, port))
        sink = parent.recv()
        proc.join()
        print(f"{n:>7} {res['pps']:>8.0f} {n * 50:>7} {sink['gaps']:>5} {sink['p50']:>7.2f} "
              f"{sink['p99']:>7.2f} {sink['max']:>7.2f} {res['cpu']:>6.1f} {res['late']:>5.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
