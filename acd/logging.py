"""structlog configuration for the runtime.

One pipeline for both worlds: structlog loggers and stdlib ``logging`` records (asyncpg,
asyncio, libraries) pass through the same processors and one handler on stderr.

- JSON lines when the stream is not a terminal or ``format: json``; a coloured console
  renderer in a terminal (``format: auto``) or with ``format: console``.
- ISO-8601 timestamps in UTC (``2025-01-01T08:00:00.123456Z``).
- Context bound with :func:`bind_context` (``call_id``, ``agent_id``) lives in
  contextvars, so every line logged inside a call's task carries it.
- Speed (JSON): a structlog event is rendered by the structlog chain itself and written
  straight to the handler's stream under the handler's lock (`_WriteJson`), the same line
  stdlib's handler would write, without building two LogRecords per line; stdlib
  records still go through the handler. Level filtering is stdlib's either way.

Cores (sip/, queueing/) never log; the runtime logs each of their events once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
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

    # JSON: render and write here (the formatter would only strip its meta keys and render
    # the same dict); console keeps the stdlib hand-over.
    final: list[Processor] = (
        [renderer, _WriteJson(handler)] if as_json
        else [structlog.stdlib.ProcessorFormatter.wrap_for_formatter]
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.UnicodeDecoder(),
            *final,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger (``log.info("call_queued", queue="general")``)."""
    return structlog.stdlib.get_logger(name, **initial)


class _WriteJson:
    """Last processor in JSON mode: writes the rendered line to ``handler``'s stream, as
    ``StreamHandler.emit`` would (line + terminator, flush, under the handler's lock), then
    drops the event so no ``LogRecord`` is built for it."""

    def __init__(self, handler: logging.StreamHandler[TextIO]) -> None:
        self.handler = handler

    def __call__(self, _logger: Any, _name: str, line: Any) -> Any:
        handler = self.handler
        handler.acquire()
        try:
            stream = handler.stream
            stream.write(f"{line}{handler.terminator}")
            stream.flush()
        except Exception:  # as stdlib: a logging failure must not break the caller
            if logging.raiseExceptions:
                sys.stderr.write(f"--- logging error ---\n{line}\n")
        finally:
            handler.release()
        raise structlog.DropEvent


class bind_context:  # used as a function: ``with bind_context(...)``
    """Bind ``call_id=...``/``agent_id=...`` for every log line inside the block.

    Context-variable tokens are reset on exit (the previous values come back), which is
    what ``structlog.contextvars.bound_contextvars`` does, without copying the whole
    context on entry (this runs several times per SIP message)."""

    __slots__ = ("_tokens", "_values")

    def __init__(self, **values: Any) -> None:
        self._values = values
        self._tokens: Mapping[str, Any] = {}

    def __enter__(self) -> None:
        self._tokens = structlog.contextvars.bind_contextvars(**self._values)

    def __exit__(self, *_exc: object) -> None:
        structlog.contextvars.reset_contextvars(**self._tokens)
