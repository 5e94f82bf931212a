"""structlog configuration for the runtime.

One pipeline for both worlds: structlog loggers and stdlib ``logging`` records (asyncpg,
asyncio, libraries) pass through the same processors and one handler on stderr.

- JSON lines when the stream is not a terminal or ``format: json``; a coloured console
  renderer in a terminal (``format: auto``) or with ``format: console``.
- ISO-8601 timestamps in UTC (``2025-01-01T08:00:00.123456Z``).
- Context bound with :func:`bind_context` (``call_id``, ``agent_id``) lives in
  contextvars, so every line logged inside a call's task carries it.

Cores (sip/, queueing/) never log; the runtime logs each of their events once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

__all__ = ["bind_context", "configure_logging", "get_logger", "use_json"]


def use_json(fmt: str, stream: TextIO) -> bool:
    """``auto`` means JSON unless the stream is an interactive terminal."""
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to ``stream`` (default stderr).

    ``level`` is a stdlib level name; ``fmt`` is auto, json or console (the values of
    ``config.LogFormat``). Safe to call again: the previous handler is replaced.
    """
    stream = sys.stderr if stream is None else stream
    as_json = use_json(str(fmt), stream)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    if as_json:
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        colors = bool(getattr(stream, "isatty", lambda: False)())
        renderer = structlog.dev.ConsoleRenderer(colors=colors)

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name("acd")

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger (``log.info("call_queued", queue="general")``)."""
    return structlog.stdlib.get_logger(name, **initial)


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Bind ``call_id=...``/``agent_id=...`` for every log line inside the block."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
