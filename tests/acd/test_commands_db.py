"""acd migrate and acd report against a fresh PostgreSQL database (rows we insert)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from acd.cli import main
from acd.store import migrate
from tests import pg

pg_server = pg.pg_server
pytestmark = pytest.mark.pg


@pytest.fixture(autouse=True)
def _no_acd_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ACD_"):
            monkeypatch.delenv(key)


@pytest.fixture
def db_url(pg_server: pg.PgServer) -> Iterator[str]:
    url = pg._in_thread(lambda: pg.create_database(pg_server))
    try:
        yield url
    finally:
        pg._in_thread(lambda: pg.drop_database(pg_server, url))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- migrate ------------------------------------------------------------------------


def test_migrate_fresh_then_idempotent(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", db_url]) == 0
    out, err = capsys.readouterr()
    assert "applied 0001_initial" in out
    assert "applying migrations to" in err  # progress on stderr
    assert main(["migrate", "--database-url", db_url]) == 0
    out, _ = capsys.readouterr()
    assert not out.startswith("applied ") and "0 applied now" in out
    assert main(["migrate", "--database-url", db_url, "--status"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("0001_initial  20")


def test_migrate_unreachable_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    assert main(["migrate", "--database-url", url]) == 69
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("acd: store_unavailable: cannot reach PostgreSQL at 127.0.0.1:1")


def test_migrate_bad_url_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", "mysql://x/y"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("acd: ") and "Traceback" not in "".join(err)


# --- report -------------------------------------------------------------------------

SHANGHAI = timedelta(hours=8)


def _utc(local: str) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return (datetime.fromisoformat(local) - SHANGHAI).replace(tzinfo=UTC)


CALLS = [
    # call_id, queue, arrived (Shanghai), outcome, wait
    ("c1", "general", "2025-03-01 09:00:00", "answered", 5.0),
    ("c2", "general", "2025-03-01 09:10:00", "answered", 15.0),  # exactly 15 s: within
    ("c3", "general", "2025-03-01 09:20:00", "answered", 15.5),
    ("c4", "general", "2025-03-01 09:30:00", "abandoned", 40.0),
    ("c5", "complaints", "2025-03-01 23:59:00", "overflowed", 180.0),
    # 00:30 local on the 2nd is still the 1st in UTC: must count on the 2nd.
    ("c6", "general", "2025-03-02 00:30:00", "answered", 2.0),
    ("c7", "complaints", "2025-03-02 10:00:00", "failed", 0.0),
    ("c8", "general", "2025-03-02 11:00:00", None, None),  # in progress: left out
    ("c9", "general", "2025-03-03 08:00:00", "answered", 1.0),  # outside the range
]


async def _insert(url: str) -> None:
    await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        for call_id, queue, arrived, outcome, wait in CALLS:
            at = _utc(arrived)
            answered = at + timedelta(seconds=wait) if outcome == "answered" and wait else None
            await conn.execute(
                "INSERT INTO call_records (call_id, as_of, queue, arrived_at, queued_at, "
                "answered_at, outcome, wait_seconds) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
                call_id, at, queue, at, answered, outcome, wait,
            )
        # an answered call whose wait was never written: derived from its timestamps
        at = _utc("2025-03-02 12:00:00")
        await conn.execute(
            "INSERT INTO call_records (call_id, as_of, queue, arrived_at, queued_at, "
            "answered_at, outcome) VALUES ('c10', $1, 'general', $1, $1, $2, 'answered')",
            at, at + timedelta(seconds=20),
        )
    finally:
        await conn.close()


def test_report_json(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _run(_insert(db_url))
    argv = ["report", "--database-url", db_url, "--from", "2025-03-01", "--to", "2025-03-02",
            "--format", "json", "--timezone", "Asia/Shanghai", "--threshold", "15"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "reading call records 2025-03-01..2025-03-02 (Asia/Shanghai)" in err
    rows = {(r["date"], r["queue"]): r for r in json.loads(out)}
    assert list(rows) == [
        ("2025-03-01", "complaints"), ("2025-03-01", "general"), ("2025-03-01", "_all"),
        ("2025-03-02", "complaints"), ("2025-03-02", "general"), ("2025-03-02", "_all"),
    ]
    g1 = rows[("2025-03-01", "general")]
    assert (g1["offered"], g1["answered"], g1["answered_within"], g1["abandoned"]) == (
        4, 3, 2, 1)
    assert g1["connection_rate"] == 0.75
    assert g1["service_level"] == 0.5  # 2 within / (3 answered + 1 abandoned)
    assert g1["asa_seconds"] == pytest.approx((5 + 15 + 15.5) / 3, abs=0.01)
    all1 = rows[("2025-03-01", "_all")]
    assert (all1["offered"], all1["overflowed"], all1["connection_rate"]) == (5, 1, 0.6)
    g2 = rows[("2025-03-02", "general")]
    assert (g2["offered"], g2["answered"], g2["answered_within"]) == (2, 2, 1)  # c6, c10
    assert g2["asa_seconds"] == 11.0
    c2 = rows[("2025-03-02", "complaints")]
    assert (c2["failed"], c2["connection_rate"], c2["service_level"], c2["asa_seconds"]) == (
        1, 0.0, None, None)


def test_report_csv_one_queue_to_file(
    db_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(_insert(db_url))
    target = tmp_path / "report.csv"
    argv = ["report", "--database-url", db_url, "--from", "2025-03-01", "--to", "2025-03-03",
            "--queue", "general", "--output", str(target)]
    assert main(argv) == 0
    assert capsys.readouterr().out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [(r["date"], r["queue"]) for r in rows] == [
        ("2025-03-01", "general"), ("2025-03-01", "_all"),
        ("2025-03-02", "general"), ("2025-03-02", "_all"),
        ("2025-03-03", "general"), ("2025-03-03", "_all"),
    ]
    assert rows[0]["answered_within_15s"] == "2"
    assert rows[3]["service_level"] == "0.5"


def test_report_in_utc_moves_the_midnight_call(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(_insert(db_url))
    argv = ["report", "--database-url", db_url, "--from", "2025-03-01", "--to", "2025-03-01",
            "--format", "json", "--timezone", "UTC", "--queue", "general"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["offered"] == 5  # c1..c4 plus c6 (16:30 UTC on the 1st)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from", "2025-03-05", "--to", "2025-03-01"], "is after --to"),
        (["--from", "March"], "'March' is not a date"),
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--threshold", "-1"], "between 0 and 86400"),
    ],
)
def test_report_bad_input(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--database-url", "postgresql://x@127.0.0.1:1/y", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0


def test_report_before_migrate(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--database-url", db_url]) == 1
    assert "run `acd migrate` first" in capsys.readouterr().err
