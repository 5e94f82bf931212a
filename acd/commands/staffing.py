"""``acd staffing``: how many agents are needed, by Erlang C and Erlang A.

Input: calls per hour (or ``--calls N --interval MIN``), mean handle time (talk +
wrap-up), the service-level target (default 80 % answered within 15 s, GB/T 33358's
threshold) and, for Erlang A, the callers' mean patience. Output: a small table of
staffing levels around the answer, and the answer. Reference check (tests): 100 calls
per 30 min, AHT 180 s, 14 agents -> P(wait) 0.1741, SL(20 s) 0.8884, ASA 7.84 s.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from acd.cli import EXIT_OK, EXIT_USAGE, CliError
from queueing.erlang import (
    agents_required,
    erlang_a,
    erlang_a_agents_required,
    erlang_c_metrics,
    offered_load,
)

from .common import render_table

__all__ = ["register", "staffing_table"]

ROWS_AROUND = 3


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be zero or more")
    return value


def _fraction(text: str) -> float:
    """0.8 or 80 or 80%."""
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction (e.g. 0.8 or 80%)") from None
    if text.strip().endswith("%") or value > 1:
        value /= 100
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1 (or 0% and 100%)")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "staffing",
        help="how many agents are needed (Erlang C and Erlang A)",
        description="Agents needed for a call volume, handle time and service-level target, "
        "by Erlang C (callers never hang up) and, with --patience, Erlang A (callers hang "
        "up after an exponentially distributed wait with that mean). Prints a table of "
        "staffing levels around the answer.",
    )
    volume = parser.add_mutually_exclusive_group(required=True)
    volume.add_argument("--calls-per-hour", type=_positive, metavar="N",
                        help="offered calls per hour")
    volume.add_argument("--calls", type=_positive, metavar="N",
                        help="offered calls per --interval minutes")
    parser.add_argument("--interval", type=_positive, default=60.0, metavar="MIN",
                        help="length of the --calls interval in minutes (default 60)")
    parser.add_argument("--aht", type=_positive, required=True, metavar="SECONDS",
                        help="mean handle time: talk + wrap-up, seconds")
    parser.add_argument("--patience", type=_positive, metavar="SECONDS",
                        help="callers' mean patience in seconds (adds the Erlang A columns)")
    parser.add_argument("--target", type=_non_negative, default=15.0, metavar="SECONDS",
                        help="service-level threshold in seconds (default 15)")
    parser.add_argument("--service-level", type=_fraction, default=0.8, metavar="FRACTION",
                        help="share answered within --target, e.g. 0.8 or 80%% (default 0.8)")
    parser.add_argument("--max-abandon", type=_fraction, metavar="FRACTION",
                        help="Erlang A: also keep abandonment at or below this")
    parser.add_argument("--agents", type=int, nargs="+", metavar="N",
                        help="show exactly these staffing levels")
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    parser.set_defaults(handler=_run)


def staffing_table(
    *,
    calls_per_hour: float,
    aht: float,
    target: float,
    service_level: float,
    patience: float | None = None,
    max_abandon: float | None = None,
    agents: list[int] | None = None,
) -> dict[str, Any]:
    """The figures as plain data: the load, the answers and one row per staffing level."""
    load = offered_load(calls_per_hour / 3600.0, aht)
    try:
        need_c = agents_required(load, aht, target, service_level)
        need_a = (
            erlang_a_agents_required(load, aht, patience, target, service_level, max_abandon)
            if patience is not None
            else None
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if agents:
        if any(n < 0 for n in agents):
            raise CliError("--agents must be zero or more", EXIT_USAGE)
        levels = sorted(set(agents))
    else:
        low = min(need_c, need_a if need_a is not None else need_c)
        high = max(need_c, need_a if need_a is not None else need_c)
        levels = list(range(max(1, low - ROWS_AROUND), high + ROWS_AROUND + 1))
    rows = []
    for n in levels:
        c = erlang_c_metrics(n, load, aht, target)
        row: dict[str, Any] = {
            "agents": n,
            "erlang_c": {
                "wait_probability": c.wait_probability,
                "service_level": c.service_level,
                "average_speed_of_answer": c.average_speed_of_answer,
                "occupancy": c.occupancy,
            },
        }
        if patience is not None:
            a = erlang_a(n, load, aht, patience, target)
            row["erlang_a"] = {
                "wait_probability": a.wait_probability,
                "abandon_probability": a.abandon_probability,
                "service_level": a.service_level,
                "average_speed_of_answer": a.average_speed_of_answer,
                "occupancy": a.occupancy,
            }
        rows.append(row)
    return {
        "calls_per_hour": calls_per_hour,
        "aht": aht,
        "load_erlangs": load,
        "target_seconds": target,
        "service_level": service_level,
        "patience": patience,
        "max_abandon": max_abandon,
        "agents_erlang_c": need_c,
        "agents_erlang_a": need_a,
        "rows": rows,
    }


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _secs(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


def _run(args: argparse.Namespace) -> int:
    per_hour = (
        args.calls_per_hour if args.calls_per_hour is not None else args.calls * 60 / args.interval
    )
    data = staffing_table(
        calls_per_hour=per_hour,
        aht=args.aht,
        target=args.target,
        service_level=args.service_level,
        patience=args.patience,
        max_abandon=args.max_abandon,
        agents=args.agents,
    )
    if args.json:
        print(json.dumps(data, indent=2, allow_nan=True).replace("Infinity", "null"))
        return EXIT_OK
    t = f"{args.target:g}"
    headers = ["agents", "occupancy", "P(wait)", f"SL({t}s)", "ASA s"]
    if args.patience is not None:
        headers += ["A:P(wait)", "A:P(abandon)", f"A:SL({t}s)", "A:ASA s"]
    headers.append("")
    table = []
    for row in data["rows"]:
        c = row["erlang_c"]
        cells = [str(row["agents"]), _pct(c["occupancy"]), f"{c['wait_probability']:.4f}",
                 f"{c['service_level']:.4f}", _secs(c["average_speed_of_answer"])]
        if args.patience is not None:
            a = row["erlang_a"]
            cells += [f"{a['wait_probability']:.4f}", f"{a['abandon_probability']:.4f}",
                      f"{a['service_level']:.4f}", _secs(a["average_speed_of_answer"])]
        marks = []
        if row["agents"] == data["agents_erlang_c"]:
            marks.append("<- Erlang C")
        if row["agents"] == data["agents_erlang_a"]:
            marks.append("<- Erlang A")
        cells.append(" ".join(marks))
        table.append(cells)
    print(
        f"{per_hour:g} calls/h x AHT {args.aht:g} s = {data['load_erlangs']:.2f} erlangs; "
        f"target {_pct(args.service_level)} answered within {t} s"
        + (f"; patience {args.patience:g} s" if args.patience is not None else "")
    )
    print(render_table(headers, table, [True] * (len(headers) - 1) + [False]))
    line = f"Erlang C: {data['agents_erlang_c']} agents"
    if data["agents_erlang_a"] is not None:
        line += f"; Erlang A: {data['agents_erlang_a']} agents"
        if args.max_abandon is not None:
            line += f" (abandonment <= {_pct(args.max_abandon)})"
    print(line + " (on the phones: add breaks, training and absence on top)")
    return EXIT_OK
