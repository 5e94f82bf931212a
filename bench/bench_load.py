"""Load on a running ACD over real SIP/UDP with the ``acd demo`` simulator.

Starts ``acd serve`` as a separate process (the packaged example, ports picked by the
kernel, agents ``auto_available``, wrap-up 0 so the agents' capacity is the limit
under test; ``ACD_DATABASE_URL`` when set, else the embedded PostgreSQL in a temporary
directory) -- or uses ``--target HOST:PORT`` with ``--config`` for the agents'
credentials -- then registers N simulated agents and pushes Poisson calls at ``--rate``
calls per second for ``--duration`` seconds. Prints the achieved rate, failures and the
callers' wait to be connected (p50/p99).

    python bench/bench_load.py --rate 20 --duration 30 --agents 60 --handle 1.0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acd.demo.driver import SimConfig, Simulator, Target, percentile  # noqa: E402
from acd.demo.profile import HourlyProfile, queue_mix  # noqa: E402
from config import Settings, load_settings, read_example  # noqa: E402


def bench_config(directory: Path) -> Path:
    """The example configuration for a load run, written to ``directory``."""
    yaml = YAML()
    data: Any = yaml.load(read_example())
    data["sip"]["listen"] = ["udp:127.0.0.1:0"]
    data["sip"]["qualify_interval"] = 0
    data["http"]["listen"] = "127.0.0.1:0"
    data["logging"] = {"level": "WARNING", "format": "json"}
    data["database"]["data_dir"] = str(directory / "pg")
    data["database"]["spool_dir"] = str(directory / "spool")
    data["media"] = {"bind_host": "127.0.0.1"}
    for queue in data["queues"]:
        queue["wrapup_seconds"] = 0
    for agent in data["agents"]:
        agent["auto_available"] = True
        agent["wrapup_seconds"] = 0
    path = directory / "bench.yaml"
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    return path


def start_acd(config: Path, directory: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready = directory / "ready.json"
    log = (directory / "acd.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "acd", "serve", "--config", str(config), "--ready-file",
         str(ready)], cwd=directory, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"acd serve did not start; see {directory / 'acd.log'}")
        time.sleep(0.1)
    return proc, json.loads(ready.read_text())


async def run(args: argparse.Namespace, settings: Settings, host: str, port: int) -> int:
    target = Target.from_settings(settings, sip_host=host, sip_port=port, agents=args.agents)
    mix = queue_mix([q.name for q in settings.queues if q.numbers])
    profile = HourlyProfile(calls_per_hour=args.rate * 3600, weights=(1.0,) * 24, mix=mix,
                            mean_handle_time=args.handle,
                            mean_patience=args.patience or None, seed=args.seed)
    sim = Simulator(target, SimConfig(speed=1.0, ring_delay=(0.05, 0.2),
                                      mean_pause_interval=0, seed=args.seed), profile)
    try:
        registered = await sim.start(register_timeout=30)
        print(f"agents registered   {registered}/{len(target.agents)}")
        started = time.monotonic()
        await sim.run(args.duration)
        placed_in = time.monotonic() - started
        drained = await sim.drain(args.drain)
        await sim.hang_up_all()
        stats = sim.stats
        results = stats.results
        failures = sum(results.get(k, 0) for k in ("refused", "timed-out", "dropped"))
        errors = sum(len(ua.errors) for ua in [*sim.phones, *([sim.pbx] if sim.pbx else [])])
        p50, p99 = percentile(stats.waits, 0.5), percentile(stats.waits, 0.99)
        print(f"offered rate        {args.rate:g} calls/s for {args.duration:g} s "
              f"(Poisson), mean talk {args.handle:g} s, {len(target.agents)} agents")
        print(f"achieved rate       {stats.placed / placed_in:.1f} calls/s "
              f"({stats.placed} calls in {placed_in:.1f} s)")
        print(f"connected           {stats.connected}  completed {results.get('completed', 0)}"
              f"  abandoned {results.get('abandoned', 0)}  cut at the end "
              f"{results.get('cut', 0)}{'' if drained else ' (drain timed out)'}")
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(results.items())
                          if k in ("refused", "timed-out", "dropped")) or "none"
        print(f"failures            {failures} ({kinds}); UA protocol errors {errors}; "
              f"registration failures {stats.register_failed}")
        if p50 is not None and p99 is not None:
            print(f"wait to connect     p50 {1000 * p50:.0f} ms  p99 {1000 * p99:.0f} ms  "
                  f"max {1000 * max(stats.waits):.0f} ms")
        return 0 if failures == 0 and stats.register_failed == 0 else 1
    finally:
        await sim.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of traffic")
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--handle", type=float, default=1.0, help="mean talk seconds")
    parser.add_argument("--patience", type=float, default=0.0,
                        help="mean caller patience in seconds (0: callers never give up)")
    parser.add_argument("--drain", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", metavar="HOST:PORT",
                        help="a running ACD's SIP UDP address (else one is started)")
    parser.add_argument("--config", help="that ACD's configuration (agents' credentials)")
    args = parser.parse_args()
    if args.target:
        host, _, port = args.target.rpartition(":")
        return asyncio.run(run(args, load_settings(args.config), host, int(port)))
    with tempfile.TemporaryDirectory(prefix="acd-bench-") as tmp:
        directory = Path(tmp)
        config = bench_config(directory)
        proc, ready = start_acd(config, directory)
        try:
            sip = next(s for s in ready["sip"] if s["transport"] == "udp")
            store = ("ACD_DATABASE_URL" if os.environ.get("ACD_DATABASE_URL")
                     else "embedded PostgreSQL")
            print(f"ACD pid {ready['pid']} on udp:{sip['host']}:{sip['port']} ({store})")
            return asyncio.run(run(args, load_settings(config), sip["host"], sip["port"]))
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
