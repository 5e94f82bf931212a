"""acd CLI: exit statuses and one-line errors (main() is called in-process)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import acd.logging
from acd.cli import main
from config import Settings


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """No ACD_* from the shell; logging configuration recorded instead of applied."""
    for key in list(os.environ):
        if key.upper().startswith("ACD_"):
            monkeypatch.delenv(key)
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(acd.logging, "configure_logging",
                        lambda level, fmt: calls.append((level, fmt)))
    return calls


@pytest.fixture
def fake_app(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """A stand-in acd.app whose serve() records the settings it was given."""
    received: list[Settings] = []
    module = types.ModuleType("acd.app")

    def serve(settings: Settings, ready_file: str | None = None) -> int:
        received.append(settings)
        return 0

    module.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acd.app", module)
    return received


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acd.yaml"
    path.write_text(text)
    return path


def test_check_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "queues:\n  - name: general\n    numbers: ['12345']\n")
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: OK: 0 agents, 1 queue, 0 trunks\n"
    assert err == ""


def test_check_config_example(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parents[2] / "config" / "example.yaml"
    assert main(["check-config", str(example)]) == 0
    assert capsys.readouterr().out.endswith("OK: 60 agents, 4 queues, 1 trunk\n")


def test_check_config_lists_every_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "sip:\n  t1: -1\nagents:\n  - id: 'a b'\n    password: x\n")
    assert main(["check-config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:2: sip.t1: Input should be greater than 0",
        f"{path}:4: agents[0].id: String should match pattern '^[A-Za-z0-9._-]+$'",
        f"{path}: 2 errors",
    ]


@pytest.mark.parametrize("text", ["sip: [", "- 1\n"])
def test_check_config_bad_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               text: str) -> None:
    path = _write(tmp_path, text)
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"{path}:1: ")
    assert "Traceback" not in "".join(err)


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"{tmp_path}/nope.yaml: no such file"


def test_serve_passes_settings_to_app(tmp_path: Path, fake_app: list[Settings],
                                      _isolate: list[tuple[str, str]]) -> None:
    path = _write(tmp_path, "logging: {level: debug, format: json}\ntimezone: UTC\n")
    assert main(["serve", "--config", str(path)]) == 0
    assert [s.timezone for s in fake_app] == ["UTC"]
    assert _isolate == [("DEBUG", "json")]


def test_serve_without_config_uses_the_example(fake_app: list[Settings]) -> None:
    assert main(["serve"]) == 0
    assert fake_app[0].summary() == "60 agents, 4 queues, 1 trunk"


def test_serve_runs_a_coroutine(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("acd.app")

    async def serve(settings: Settings, ready_file: str | None = None) -> int:
        return 5

    module.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acd.app", module)
    assert main(["serve"]) == 5


def test_serve_bad_config_is_one_line(tmp_path: Path, fake_app: list[Settings],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "sip:\n  t1: -1\n  t2: -1\n")
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"acd: configuration error: {path}:2: sip.t1: Input should be greater "
                   "than 0 (and 1 more; run: acd check-config PATH)\n")
    assert fake_app == []


def test_serve_without_runtime(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "acd.app", None)  # import fails as if absent
    assert main(["serve"]) == 3
    assert capsys.readouterr().err == (
        "acd: serve is not available: this build has no acd.app runtime\n")


def test_serve_crash_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    module = types.ModuleType("acd.app")

    def serve(settings: Settings, ready_file: str | None = None) -> Any:
        raise RuntimeError("socket on fire")

    module.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acd.app", module)
    assert main(["serve"]) == 70
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "acd: serve failed: RuntimeError: socket on fire"
    assert not any(line.startswith("Traceback") for line in err)


@pytest.mark.parametrize(("argv", "status"), [
    ([], 2),
    (["bogus"], 2),
    (["check-config"], 2),
    (["serve", "--nope"], 2),
    (["--help"], 0),
    (["check-config", "--help"], 0),
])
def test_usage(argv: list[str], status: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == status
    captured = capsys.readouterr()
    if status == 2 and argv:
        assert captured.err.count("\n") == 1 and captured.err.startswith("acd: ")


def test_unexpected_error_is_one_line_unless_debug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(path: Any) -> Settings:
        raise KeyError("boom")

    monkeypatch.setattr("config.load_settings", broken)
    assert main(["check-config", str(tmp_path)]) == 70
    assert capsys.readouterr().err == (
        "acd: internal error: KeyError: 'boom' (rerun with --debug)\n")
    with pytest.raises(KeyError):
        main(["--debug", "check-config", str(tmp_path)])
