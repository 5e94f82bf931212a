"""``acd demo``: the ACD, simulated agents and a simulated PBX on loopback, a wallboard.

    acd demo [--agents 60] [--calls-per-hour 300] [--speed 1] [--duration 0]
             [--start-hour 9] [--drain 30] [--config PATH] [--log-file PATH]

Starts the ACD from the configuration (default: the packaged example) with SIP and HTTP
on free loopback ports and the embedded PostgreSQL (unless ``ACD_DATABASE_URL`` is set),
registers the simulated agents over SIP with digest, places calls from a simulated PBX
(Poisson arrivals following a 12345 day profile), shows a live wallboard until Ctrl-C or
``--duration``, lets calls finish and prints a summary. Exit status 0, 2 on bad options
or configuration, 69 when the database cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import math
from pathlib import Path
from typing import Any

from acd.cli import EXIT_OK, EXIT_SOFTWARE, EXIT_USAGE, CliError

from .common import EXIT_UNREACHABLE, load_config

__all__ = ["register"]


def _positive(kind: type[float] | type[int], allow_zero: bool = False) -> Any:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(
                f"must be {'>= 0' if allow_zero else '> 0'}: {text!r}")
        return value

    return parse


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the ACD with simulated agents and callers, and a live wallboard",
        description="Start the ACD on loopback (embedded PostgreSQL unless ACD_DATABASE_URL "
        "is set), register simulated agents over SIP, place simulated PBX calls "
        "(Poisson arrivals following a 12345 day profile, handle times, caller patience, "
        "agents pausing) and show a live wallboard until Ctrl-C or --duration; then let "
        "calls finish and print a summary.",
    )
    parser.add_argument("--agents", type=_positive(int), default=60, metavar="N",
                        help="simulated agents (default 60; the configuration's first N, "
                        "cloned when N is larger)")
    parser.add_argument("--calls-per-hour", type=_positive(float, True), default=300.0,
                        metavar="N", help="average calls per hour over the day (default "
                        "300 = 7,200/day); the hourly profile shapes each hour")
    parser.add_argument("--speed", type=_positive(float), default=1.0, metavar="X",
                        help="time acceleration of arrivals, handle times, patience and "
                        "pauses (default 1); the ACD's own timers and 15 s target stay real")
    parser.add_argument("--duration", type=_positive(float, True), default=0.0,
                        metavar="SECONDS", help="stop placing calls after this many real "
                        "seconds (default 0: until Ctrl-C)")
    parser.add_argument("--start-hour", type=_positive(float, True), default=9.0,
                        metavar="H", help="simulated time of day to start at (default 9)")
    parser.add_argument("--drain", type=_positive(float, True), default=30.0,
                        metavar="SECONDS", help="how long calls in progress may take to end "
                        "once the traffic stops (default 30; then the PBX hangs up)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--config", "-c", metavar="PATH",
                        help="YAML configuration (default: the packaged example)")
    parser.add_argument("--log-file", metavar="PATH", default="var/acd-demo.log",
                        help="the ACD's log (default var/acd-demo.log)")
    parser.add_argument("--plain-interval", type=_positive(float), default=5.0,
                        metavar="SECONDS", help="seconds between wallboard lines when "
                        "stdout is not a terminal (default 5)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from acd.demo.run import DemoOptions, demo_settings, run_demo
    from acd.logging import configure_logging

    if args.start_hour >= 24:
        raise CliError("--start-hour must be below 24", EXIT_USAGE)
    base = load_config(args.config)
    try:
        settings = demo_settings(base, args.agents)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    log_path = Path(args.log_file)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_stream = log_path.open("a", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write the log file {log_path}: {exc.strerror}",
                       EXIT_USAGE) from None
    options = DemoOptions(
        agents=args.agents, calls_per_hour=args.calls_per_hour, speed=args.speed,
        duration=args.duration, start_hour=args.start_hour, drain=args.drain,
        seed=args.seed, plain_interval=args.plain_interval, log_file=log_path)
    try:
        configure_logging(settings.logging.level, "json", stream=log_stream)
        asyncio.run(run_demo(settings, options))
    except (KeyboardInterrupt, CliError):
        raise
    except Exception as exc:
        code = getattr(exc, "code", "")
        if code in ("store_unavailable", "store_embedded_failed"):
            raise CliError(f"database: {exc}", EXIT_UNREACHABLE) from None
        if isinstance(exc, OSError):
            raise CliError(f"cannot start: {exc}", EXIT_SOFTWARE) from None
        raise
    finally:
        # Not closed: atexit handlers (the embedded PostgreSQL's) may still log to it.
        log_stream.flush()
    return EXIT_OK
