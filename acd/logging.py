"""structlog configuration for the runtime.

One pipeline for both worlds: structlog loggers and stdlib ``logging`` records (asyncpg,
asyncio, libraries) pass through the same processors and one handler on stderr.

- JSON lines when the stream is not a terminal or ``format: json``; a coloured console
  renderer in a terminal (``format: auto``) or with ``format: console``.
- ISO-8601 timestamps in UTC (``2025-01-01T08:00:00.123456Z``).
- Context bound with :func:`bind_context` (``call_id``, ``agent_id``) lives in a
  context variable, so every line logged inside a call's task carries it (structlog's
  own ``bind_contextvars`` reaches only lines that go through structlog's chain).
- Speed (JSON): `get_logger` returns an `AcdLogger`. Below the level a line costs one
  comparison; an ordinary line (keywords only) is built and rendered in place, the
  same keys in the same order as structlog's chain would give, and written straight to
  the handler's stream under the handler's lock (no structlog chain, no LogRecord).
  Exceptions, ``stack_info`` and positional arguments go through structlog, whose JSON
  chain is one fused processor (`_JsonLine`); stdlib records go through the handler.
  Level filtering is stdlib's either way.

Cores (sip/, queueing/) never log; the runtime logs each of their events once.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

__all__ = ["AcdLogger", "bind_context", "configure_logging", "get_logger", "use_json"]


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
        merge_context,
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        add_timestamp,
        structlog.processors.StackInfoRenderer(additional_ignores=[__name__]),
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
    # the same dict), every processor fused into one; console keeps the stdlib hand-over.
    global _sink
    _sink = _JsonLine(handler) if as_json else None
    processors: list[Processor] = (
        [structlog.stdlib.filter_by_level, _sink] if _sink is not None
        else [
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ]
    )
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=_BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A logger (``log.info("call_queued", queue="general")``): an `AcdLogger`."""
    return AcdLogger(name, initial)


_sink: _JsonLine | None = None  # set by configure_logging in JSON mode
_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "acd_log_context", default=MappingProxyType({}))


def merge_context(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    """Processor: what `bind_context` bound, under keys the event does not set."""
    for key, value in _context.get().items():
        event_dict.setdefault(key, value)
    return event_dict


class AcdLogger:
    """What `get_logger` returns: structlog's stdlib logger API (``debug`` ... ``critical``,
    ``exception``, ``log``), with the JSON fast path described in the module docstring.
    Cheap to create at import time: nothing is resolved before the first line."""

    __slots__ = ("_initial", "_name", "_std", "_structlog")

    def __init__(self, name: str | None, initial: Mapping[str, Any]) -> None:
        self._name = name
        self._initial = dict(initial)
        self._std = logging.getLogger(name)
        self._structlog: Any = None

    def _slow(self) -> Any:
        if self._structlog is None:
            self._structlog = structlog.stdlib.get_logger(self._name, **self._initial)
        return self._structlog

    def _emit(
        self, method: str, level: int, event: str | None, args: tuple[Any, ...],
        kw: dict[str, Any],
    ) -> Any:
        std = self._std
        if std.disabled or level < std.getEffectiveLevel():
            return None
        sink = _sink
        if sink is None or args or "exc_info" in kw or "stack_info" in kw:
            return getattr(self._slow(), method)(event, *args, **kw)
        # structlog's order: bound context, keywords, event, context variables, level,
        # logger, timestamp.
        event_dict = {**self._initial, **kw} if self._initial else kw
        if event is not None:
            event_dict["event"] = event
        for key, value in _context.get().items():
            event_dict.setdefault(key, value)
        event_dict["level"] = _LEVEL_NAMES[method]
        event_dict["logger"] = std.name
        event_dict["timestamp"] = _utc_timestamp()
        sink.write(event_dict)
        return None

    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._emit("debug", logging.DEBUG, event, args, kw)

    def info(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._emit("info", logging.INFO, event, args, kw)

    def warning(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._emit("warning", logging.WARNING, event, args, kw)

    warn = warning

    def error(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._emit("error", logging.ERROR, event, args, kw)

    def critical(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._emit("critical", logging.CRITICAL, event, args, kw)

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._slow().exception(event, *args, **kw)

    def log(self, level: int, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._slow().log(level, event, *args, **kw)


# structlog's method names → stdlib levels (``structlog.stdlib.filter_by_level``'s table).
_NAME_TO_LEVEL = {
    "critical": logging.CRITICAL, "exception": logging.ERROR, "error": logging.ERROR,
    "warn": logging.WARNING, "warning": logging.WARNING, "info": logging.INFO,
    "debug": logging.DEBUG, "notset": logging.NOTSET,
}
# ``add_log_level``'s names: ``exception`` logs at ``error``, ``warn`` is ``warning``.
_LEVEL_NAMES = {**{name: name for name in _NAME_TO_LEVEL}, "exception": "error", "warn": "warning"}


class _BoundLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib `BoundLogger`, but a line below the level costs one comparison:
    it is dropped before the context is copied and the processors run (what
    ``filter_by_level``, still first in the chain, would decide after that work)."""

    def _proxy_to_logger(
        self, method_name: str, event: str | None = None, *event_args: str, **event_kw: Any
    ) -> Any:
        logger = self._logger
        level = _NAME_TO_LEVEL.get(method_name)
        if level is not None and (logger.disabled or level < logger.getEffectiveLevel()):
            return None
        return super()._proxy_to_logger(method_name, event, *event_args, **event_kw)


_stamp_second = -1
_stamp_prefix = ""


def _utc_timestamp() -> str:
    """``2025-01-01T08:00:00.123456Z`` for now; the date and time part is formatted once a
    second (what ``TimeStamper(fmt="iso", utc=True)`` writes, microseconds always shown)."""
    global _stamp_second, _stamp_prefix
    now = time.time()
    second = int(now)
    if second != _stamp_second:
        _stamp_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _stamp_second = second
    return f"{_stamp_prefix}.{int((now - second) * 1e6):06d}Z"


def add_timestamp(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    event_dict["timestamp"] = _utc_timestamp()
    return event_dict


def _json_default(obj: Any) -> Any:
    """What JSON cannot encode: bytes decoded (``UnicodeDecoder``), else structlog's
    ``__structlog__`` hook or ``repr``."""
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).decode("utf-8", "replace")
    try:
        return obj.__structlog__()
    except AttributeError:
        return repr(obj)


class _JsonLine:
    """The JSON chain in one processor, after ``filter_by_level``: context variables,
    ``level``, ``logger``, ``timestamp``, then ``stack_info`` / ``exc_info`` /
    positional arguments when present (the processors of the console chain, same keys in
    the same order), rendered and written to ``handler``'s stream as
    ``StreamHandler.emit`` would (line + terminator, flush, under the handler's lock).
    The event is then dropped so no ``LogRecord`` is built for it."""

    def __init__(self, handler: logging.StreamHandler[TextIO]) -> None:
        self.handler = handler
        self._merge = structlog.contextvars.merge_contextvars
        self._stack = structlog.processors.StackInfoRenderer(additional_ignores=[__name__])
        self._exc = structlog.processors.format_exc_info
        self._positional = structlog.stdlib.PositionalArgumentsFormatter()
        self._encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode

    def __call__(self, logger: Any, name: str, event_dict: EventDict) -> Any:
        event_dict = merge_context(logger, name, event_dict)
        event_dict = self._merge(logger, name, event_dict)
        event_dict["level"] = _LEVEL_NAMES.get(name, name)
        record = event_dict.get("_record")
        event_dict["logger"] = logger.name if record is None else record.name
        event_dict["timestamp"] = _utc_timestamp()
        if "stack_info" in event_dict:
            event_dict = self._stack(logger, name, event_dict)
        if "exc_info" in event_dict:
            event_dict = self._exc(logger, name, event_dict)
        if "positional_args" in event_dict:
            event_dict = self._positional(logger, name, event_dict)
        self.write(event_dict)
        raise structlog.DropEvent

    def write(self, event_dict: Mapping[str, Any]) -> None:
        line = self._encode(event_dict)
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


class bind_context:  # used as a function: ``with bind_context(...)``
    """Bind ``call_id=...``/``agent_id=...`` for every log line inside the block (an inner
    block's values win; the previous ones come back on exit). One context variable holds
    them all: entering is one dict merge and one ``set``, leaving one ``reset`` (this runs
    several times per SIP message)."""

    __slots__ = ("_token", "_values")

    def __init__(self, **values: Any) -> None:
        self._values = values

    def __enter__(self) -> None:
        self._token = _context.set({**_context.get(), **self._values})

    def __exit__(self, *_exc: object) -> None:
        _context.reset(self._token)
