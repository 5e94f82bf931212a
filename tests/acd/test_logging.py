"""acd.logging: JSON lines, console rendering, context binding, stdlib routing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from acd.logging import bind_context, configure_logging, get_logger, use_json


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_bound_context() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    log = get_logger("acd.test")
    with bind_context(call_id="c-1", agent_id="1001"):
        log.info("call_offered", queue="general")
    log.info("idle")
    first, second = _lines(out)
    assert first["event"] == "call_offered"
    assert (first["call_id"], first["agent_id"], first["queue"]) == ("c-1", "1001", "general")
    assert first["level"] == "info" and first["logger"] == "acd.test"
    assert first["timestamp"].endswith("Z") and "T" in first["timestamp"]
    assert "call_id" not in second


def test_stdlib_records_are_routed_through_structlog() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    with bind_context(call_id="c-2"):
        logging.getLogger("asyncpg.pool").warning("connection lost to %s", "db1")
    (line,) = _lines(out)
    assert line["event"] == "connection lost to db1"
    assert (line["level"], line["logger"], line["call_id"]) == ("warning", "asyncpg.pool", "c-2")


def test_level_filters() -> None:
    out = io.StringIO()
    configure_logging("WARNING", "json", stream=out)
    get_logger("x").info("hidden")
    logging.getLogger("y").info("hidden too")
    get_logger("x").error("shown")
    assert [line["event"] for line in _lines(out)] == ["shown"]


def test_exceptions_are_a_json_field() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    try:
        raise ValueError("bad")
    except ValueError:
        get_logger("x").exception("failed")
    (line,) = _lines(out)
    assert "ValueError: bad" in line["exception"]


def test_console_renderer_in_a_terminal() -> None:
    out = _Tty()
    configure_logging("INFO", "auto", stream=out)
    get_logger("x").info("hello", agent_id="1001")
    text = out.getvalue()
    assert "hello" in text and "1001" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize(("fmt", "tty", "expected"), [
    ("auto", False, True), ("auto", True, False), ("json", True, True),
    ("console", False, False),
])
def test_use_json(fmt: str, tty: bool, expected: bool) -> None:
    assert use_json(fmt, _Tty() if tty else io.StringIO()) is expected


def test_fast_path_writes_what_structlogs_chain_writes() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    with bind_context(call_id="c-3"), bind_context(agent_id="1001"):
        get_logger("acd.t").info("ringing", queue="general", timeout=10.0, n=None)
        structlog.stdlib.get_logger("acd.t").info("ringing", queue="general", timeout=10.0,
                                                  n=None)
    fast, slow = _lines(out)
    assert fast.pop("timestamp").endswith("Z") and slow.pop("timestamp").endswith("Z")
    assert list(fast.items()) == list(slow.items())
    assert list(fast) == ["queue", "timeout", "n", "event", "call_id", "agent_id", "level",
                          "logger"]
