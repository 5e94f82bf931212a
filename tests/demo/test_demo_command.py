"""``acd demo`` end to end, as a subprocess: URLs, wallboard lines, a consistent summary,
and the ACD's journal holding the calls."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from acd.cli import main

pytestmark = pytest.mark.pg

SUMMARY = re.compile(r"^  (calls offered|answered|abandoned|overflowed|failed|still in queue)"
                     r"\s+(\d+)$", re.M)


def run_demo(tmp_path: Path, env_extra: dict[str, str], *args: str,
             timeout: float = 150) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ACD_")}
    env |= env_extra
    return subprocess.run(
        [sys.executable, "-m", "acd", "demo", *args], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=timeout, check=False)


def check_output(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"^metrics\s+http://127\.0\.0\.1:\d+/metrics$", out, re.M), out
    assert re.search(r"^API\s+http://127\.0\.0\.1:\d+/api/v1/queues", out, re.M)
    assert "agents registered" in out
    board = [line for line in out.splitlines() if line.startswith("wallboard ")]
    assert len(board) >= 2
    assert all("sl15=" in line and "connection=" in line and "waiting=" in line
               for line in board)
    assert "\x1b[" not in out  # not a terminal: plain lines only
    counts = {name: int(n) for name, n in SUMMARY.findall(out)}
    assert len(counts) == 6, out
    assert counts["calls offered"] == sum(
        counts[k] for k in ("answered", "abandoned", "overflowed", "failed", "still in queue"))
    return counts


async def journal(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT outcome, count(*) AS n FROM call_records GROUP BY 1")
    finally:
        await conn.close()
    return {r["outcome"]: r["n"] for r in rows}


async def test_demo_on_a_test_database(pg_url: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        run_demo, tmp_path, {"ACD_DATABASE_URL": pg_url}, "--agents", "10",
        "--calls-per-hour", "3600", "--speed", "20", "--duration", "15",
        "--plain-interval", "2", "--drain", "20")
    counts = check_output(result)
    assert counts["calls offered"] > 100  # ~20-40 calls/s for 15 s
    assert counts["answered"] >= 10  # every agent took calls
    assert counts["still in queue"] == 0  # the drain hung everybody up
    stored = await journal(pg_url)
    assert sum(stored.values()) == counts["calls offered"]
    assert stored.get("answered", 0) == counts["answered"]
    assert stored.get("abandoned", 0) == counts["abandoned"]
    assert (tmp_path / "var" / "acd-demo.log").stat().st_size > 0


@pytest.mark.timeout(300)
def test_demo_on_the_embedded_database(tmp_path: Path) -> None:
    pytest.importorskip("pgserver")
    result = run_demo(tmp_path, {}, "--agents", "5", "--calls-per-hour", "720",
                      "--speed", "10", "--duration", "6", "--plain-interval", "2",
                      "--drain", "10", timeout=280)
    counts = check_output(result)
    assert "database     embedded" in result.stdout
    assert counts["calls offered"] > 0, result.stdout
    assert (tmp_path / "var" / "pg").is_dir()


@pytest.mark.parametrize("args, message", [
    (["--agents", "0"], "must be > 0"),
    (["--speed", "-1"], "must be > 0"),
    (["--calls-per-hour", "x"], "not a number"),
    (["--start-hour", "25"], "--start-hour must be below 24"),
    (["--config", "/nonexistent.yaml"], "configuration error"),
])
def test_bad_options_are_one_line_errors(args: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
