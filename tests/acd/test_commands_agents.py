"""acd agents: list and set status through the running ACD's API (real app, real HTTP)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from acd.cli import main
from tests import pg
from tests.api.server import ADMIN_TOKEN, READ_TOKEN, RunningAcd, api_settings, running_acd

pg_server = pg.pg_server
pytestmark = pytest.mark.pg


@pytest.fixture(autouse=True)
def _no_acd_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ACD_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def acd(pg_server: pg.PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    url = pg._in_thread(lambda: pg.create_database(pg_server))
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key in list(os.environ):
                if key.upper().startswith("ACD_"):
                    mp.delenv(key)
            settings = api_settings(url, tmp_path_factory.mktemp("acd"))
        with running_acd(settings) as running:
            yield running
    finally:
        pg._in_thread(lambda: pg.drop_database(pg_server, url))


def _opts(acd: RunningAcd, token: str = ADMIN_TOKEN) -> list[str]:
    return ["--url", acd.base_url, "--token", token]


def test_list_table_and_json(acd: RunningAcd, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "list", *_opts(acd, READ_TOKEN)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAME", "STATUS", "STATE"]
    assert len(lines) == 7 and lines[1].startswith("1001  Agent 1001")
    assert main(["agents", "list", "--json", *_opts(acd, READ_TOKEN)]) == 0
    agents = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in agents][:2] == ["1001", "1002"]


def test_login_pause_available_logout(acd: RunningAcd,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "login", "1001", *_opts(acd)]) == 0
    assert capsys.readouterr().out == "1001: available, unreachable\n"
    assert main(["agents", "pause", "1001", "--reason", "lunch", *_opts(acd)]) == 0
    assert capsys.readouterr().out == "1001: paused (lunch), unreachable\n"
    assert main(["agents", "list", "--status", "paused", *_opts(acd)]) == 0
    out = capsys.readouterr().out
    assert "paused (lunch)" in out and len(out.splitlines()) == 2
    assert main(["agents", "available", "1001", *_opts(acd)]) == 0
    assert main(["agents", "logout", "1001", *_opts(acd)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1001: logged-out, unreachable"
    assert acd.call(lambda: acd.app.routing.router.agent_view("1001").status.value) == (
        "logged-out")


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["show", "9999"], 1, "acd: unknown_agent: no agent '9999' (HTTP 404)"),
        (["pause", "1002", "--reason", "lunch"], 1, "acd: invalid_transition: "),
        (["end-wrapup", "1002"], 1, "acd: invalid_transition: "),
        (["login", "9999"], 1, "acd: unknown_agent: "),
    ],
)
def test_refusals_are_one_line(
    acd: RunningAcd, argv: list[str], status: int, message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["agents", *argv, *_opts(acd)]) == status
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_unknown_pause_reason(acd: RunningAcd, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "login", "1003", *_opts(acd)]) == 0
    assert main(["agents", "pause", "1003", "--reason", "nap", *_opts(acd)]) == 1
    assert "unknown_pause_reason" in capsys.readouterr().err


def test_read_token_cannot_act(acd: RunningAcd, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "login", "1004", *_opts(acd, READ_TOKEN)]) == 2
    assert "forbidden: this action needs an admin token (HTTP 403)" in capsys.readouterr().err


def test_url_and_token_from_config(
    acd: RunningAcd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert acd.app.http_address is not None
    host, port = acd.app.http_address
    config = tmp_path / "acd.yaml"
    config.write_text(json.dumps({"http": {"listen": f"{host}:{port}", "tokens": [
        {"token": READ_TOKEN, "role": "read"}, {"token": ADMIN_TOKEN, "role": "admin"}]}}))
    assert main(["agents", "login", "1005", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("1005: available")


def test_unreachable_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "list", "--url", "http://127.0.0.1:1", "--timeout", "2"]) == 69
    err = capsys.readouterr().err
    assert err.startswith("acd: cannot reach the ACD API at http://127.0.0.1:1")
    assert err.count("\n") == 1


def test_pause_needs_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "pause", "1001", "--url", "http://127.0.0.1:1"]) == 2
    assert "--reason" in capsys.readouterr().err
