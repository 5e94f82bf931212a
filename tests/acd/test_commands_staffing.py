"""acd staffing: Erlang C / Erlang A staffing table, checked against published values."""

from __future__ import annotations

import json
import math

import pytest

from acd.cli import main
from acd.commands.staffing import staffing_table


def test_reference_values_erlang_c() -> None:
    # 100 calls per 30 min, AHT 180 s, 20-s target: the classic worked example.
    data = staffing_table(calls_per_hour=200, aht=180, target=20, service_level=0.8)
    assert data["load_erlangs"] == pytest.approx(10.0)
    assert data["agents_erlang_c"] == 14
    row = next(r for r in data["rows"] if r["agents"] == 14)["erlang_c"]
    assert round(row["wait_probability"], 4) == 0.1741
    assert round(row["service_level"], 4) == 0.8884
    assert round(row["average_speed_of_answer"], 2) == 7.84
    assert round(row["occupancy"], 4) == 0.7143


def test_erlang_a_needs_fewer_agents_with_impatient_callers() -> None:
    data = staffing_table(calls_per_hour=200, aht=180, target=20, service_level=0.8,
                          patience=120)
    assert data["agents_erlang_a"] is not None
    assert data["agents_erlang_a"] < data["agents_erlang_c"]
    for row in data["rows"]:
        a = row["erlang_a"]
        assert 0 <= a["abandon_probability"] <= 1 and 0 <= a["service_level"] <= 1
    strict = staffing_table(calls_per_hour=200, aht=180, target=20, service_level=0.8,
                            patience=120, max_abandon=0.01)
    assert strict["agents_erlang_a"] > data["agents_erlang_a"]


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staffing", "--calls", "100", "--interval", "30", "--aht", "180", "--target",
            "20", "--service-level", "80%"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    line14 = next(line for line in out.splitlines() if line.split()[:1] == ["14"])
    assert "0.1741" in line14 and "0.8884" in line14 and "7.84" in line14
    assert "<- Erlang C" in line14
    assert "Erlang C: 14 agents" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staffing", "--calls-per-hour", "200", "--aht", "180", "--patience", "120",
            "--agents", "5", "14", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["agents"] for r in data["rows"]] == [5, 14]
    unstable = data["rows"][0]["erlang_c"]
    assert unstable["average_speed_of_answer"] is None  # infinite: JSON null
    assert not math.isnan(data["rows"][0]["erlang_a"]["service_level"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--calls-per-hour", "x", "--aht", "180"], "'x' is not a number"),
        (["--calls-per-hour", "-5", "--aht", "180"], "must be a positive number"),
        (["--calls-per-hour", "100", "--aht", "0"], "must be a positive number"),
        (["--calls-per-hour", "100", "--aht", "180", "--service-level", "150%"],
         "between 0 and 1"),
        (["--aht", "180"], "one of the arguments --calls-per-hour --calls is required"),
        (["--calls-per-hour", "100", "--calls", "5", "--aht", "180"], "not allowed with"),
        (["--calls-per-hour", "nan", "--aht", "180"], "must be a positive number"),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["staffing", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("acd: ")
    assert message in err
