"""``acd report``: per day and queue, in the configured time zone, from ``call_records``.

Columns: offered, answered, answered within the threshold (15 s), abandoned, overflowed,
failed, connection rate (answered / offered), service level (answered within /
(answered + abandoned), the strict reading of docs/kpi.md) and ASA (mean wait of
answered calls). One row per call, under the queue its record names (the last queue it
visited), counted on the local day it arrived; calls still in progress (no outcome yet)
are left out. A ``_all`` row per day sums the queues. CSV (default) or JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
import zoneinfo
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from acd.cli import EXIT_OK, EXIT_USAGE, CliError

from .common import progress
from .migrate import add_database_options, open_database, store_error

__all__ = ["ALL_QUEUES", "REPORT_SQL", "fetch_report", "register"]

ALL_QUEUES: Final = "_all"
NO_QUEUE: Final = "-"

#: $1 time zone, $2 first local day, $3 last local day (inclusive), $4 queue or NULL,
#: $5 threshold seconds. Waits missing from a record are derived from its timestamps.
REPORT_SQL: Final = """
WITH calls AS (
    SELECT (arrived_at AT TIME ZONE $1)::date AS day,
           COALESCE(queue, '-') AS queue,
           outcome,
           COALESCE(
               wait_seconds,
               EXTRACT(EPOCH FROM (answered_at - COALESCE(queued_at, arrived_at)))::float8
           ) AS wait
    FROM call_records
    WHERE arrived_at >= ($2::date)::timestamp AT TIME ZONE $1
      AND arrived_at < ($3::date + 1)::timestamp AT TIME ZONE $1
      AND outcome IS NOT NULL
      AND ($4::text IS NULL OR queue = $4)
)
SELECT day,
       queue,
       GROUPING(queue) AS overall,
       count(*) AS offered,
       count(*) FILTER (WHERE outcome = 'answered') AS answered,
       count(*) FILTER (WHERE outcome = 'answered' AND wait <= $5) AS answered_within,
       count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE outcome = 'overflowed') AS overflowed,
       count(*) FILTER (WHERE outcome = 'failed') AS failed,
       avg(wait) FILTER (WHERE outcome = 'answered') AS asa
FROM calls
GROUP BY GROUPING SETS ((day, queue), (day))
ORDER BY day, GROUPING(queue), queue
"""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 86400 seconds")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="daily figures per queue (CSV or JSON) from the call records",
        description="Offered, answered, answered within the threshold, abandoned, "
        "connection rate, service level and ASA per local day and queue, from the "
        "call_records table.",
    )
    add_database_options(parser)
    parser.add_argument("--from", dest="start", type=_day, metavar="YYYY-MM-DD",
                        help="first local day (default: 6 days before --to)")
    parser.add_argument("--to", dest="end", type=_day, metavar="YYYY-MM-DD",
                        help="last local day, inclusive (default: today)")
    parser.add_argument("--queue", metavar="NAME", help="only this queue")
    parser.add_argument("--threshold", type=_threshold, default=None, metavar="SECONDS",
                        help="answered-within threshold (default: kpi.service_level_seconds "
                        "from the config, else 15)")
    parser.add_argument("--timezone", metavar="ZONE",
                        help="IANA zone for days (default: timezone from the config)")
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    parser.set_defaults(handler=_run)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


async def fetch_report(
    pool_or_conn: Any, zone: str, start: date, end: date, queue: str | None, threshold: float
) -> list[dict[str, Any]]:
    rows = await pool_or_conn.fetch(REPORT_SQL, zone, start, end, queue, threshold)
    out = []
    for r in rows:
        answered, abandoned = r["answered"], r["abandoned"]
        out.append(
            {
                "date": r["day"].isoformat(),
                "queue": ALL_QUEUES if r["overall"] else r["queue"],
                "offered": r["offered"],
                "answered": answered,
                "answered_within": r["answered_within"],
                "abandoned": abandoned,
                "overflowed": r["overflowed"],
                "failed": r["failed"],
                "connection_rate": _ratio(answered, r["offered"]),
                "service_level": _ratio(r["answered_within"], answered + abandoned),
                "asa_seconds": None if r["asa"] is None else round(float(r["asa"]), 2),
            }
        )
    return out


def _render(rows: list[dict[str, Any]], fmt: str, threshold: float) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    within = f"answered_within_{threshold:g}s"
    buf = io.StringIO()
    fields = ["date", "queue", "offered", "answered", within, "abandoned", "overflowed",
              "failed", "connection_rate", "service_level", "asa_seconds"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        line = dict(row)
        line[within] = line.pop("answered_within")
        writer.writerow({k: ("" if v is None else v) for k, v in line.items()})
    return buf.getvalue()


async def _report(args: argparse.Namespace) -> list[dict[str, Any]]:
    from acd.store import StoreError, describe_target

    from .common import load_config

    settings = load_config(args.config)
    zone = args.timezone or settings.timezone
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {zone!r}", EXIT_USAGE) from None
    end = args.end or datetime.now(zoneinfo.ZoneInfo(zone)).date()
    start = args.start or end - timedelta(days=6)
    if start > end:
        raise CliError(f"--from {start} is after --to {end}", EXIT_USAGE)
    if args.threshold is not None:
        threshold = args.threshold
    else:
        kpi = getattr(settings, "kpi", None)
        threshold = float(getattr(kpi, "service_level_seconds", 15.0))
    args.threshold = threshold
    db = open_database(args)
    try:
        if db.embedded:
            progress("starting the embedded PostgreSQL ...")
        await db.start()
        progress(f"reading call records {start}..{end} ({zone}) from {describe_target(db.url)}")
        rows = await fetch_report(db.pool, zone, start, end, args.queue, threshold)
    except StoreError as exc:
        raise store_error(exc) from None
    except Exception as exc:
        import asyncpg  # type: ignore[import-untyped]

        if isinstance(exc, asyncpg.UndefinedTableError):
            raise CliError("no call_records table: run `acd migrate` first", 1) from None
        if isinstance(exc, asyncpg.PostgresError):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CliError(f"report query failed: {first}", 1) from None
        raise
    finally:
        await db.close()
    days = len({r["date"] for r in rows})
    progress(f"{len(rows)} rows over {days} day{'' if days == 1 else 's'}")
    return rows


def _run(args: argparse.Namespace) -> int:
    rows = asyncio.run(_report(args))
    text = _render(rows, args.format, args.threshold)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}", 1) from None
    else:
        sys.stdout.write(text)
    return EXIT_OK
