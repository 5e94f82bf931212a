"""The ``acd`` command line.

Every subcommand is a function ``register_<name>(subparsers)`` listed in
:data:`COMMANDS`; it adds its parser and sets ``handler`` (``Namespace -> int``).
Adding ``migrate``, ``demo``, ``agents``, ``report`` or ``staffing`` later means writing
one such function (usually in its own module) and appending it to the list.

Errors are one clear line on stderr and a non-zero exit status, never a traceback
(``acd --debug ...`` shows the traceback of an unexpected error).

Exit status: 0 success; 1 ``check-config`` found errors; 2 usage or configuration
error; 3 ``serve`` is not available in this build; 70 unexpected internal error;
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["COMMANDS", "CliError", "main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_SOFTWARE = 70
EXIT_INTERRUPTED = 130

Subparsers = Any  # argparse._SubParsersAction is private
Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """An expected failure: printed as ``acd: <message>``, exit with ``status``."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def _err(line: str) -> None:
    print(line, file=sys.stderr)


# --- serve ------------------------------------------------------------------------


def register_serve(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the ACD",
        description="Run the ACD. Without --config the packaged example configuration "
        "is used (loopback only, demo agents).",
    )
    parser.add_argument("--config", "-c", metavar="PATH", help="YAML configuration file")
    parser.add_argument(
        "--ready-file",
        metavar="PATH",
        help="write the bound SIP and HTTP addresses here as JSON once listening "
        "(for supervisors and tests; port 0 in the config picks free ports)",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        first = exc.lines[0] if exc.lines else "invalid configuration"
        more = len(exc.lines) - 1
        suffix = f" (and {more} more; run: acd check-config PATH)" if more else ""
        raise CliError(f"configuration error: {first}{suffix}", EXIT_USAGE) from None

    from acd.logging import configure_logging, get_logger

    configure_logging(settings.logging.level, settings.logging.format.value)
    try:
        app = importlib.import_module("acd.app")
    except ModuleNotFoundError as exc:
        if exc.name == "acd.app":
            raise CliError(
                "serve is not available: this build has no acd.app runtime", EXIT_UNAVAILABLE
            ) from None
        raise CliError(f"cannot start: missing module {exc.name!r}", EXIT_UNAVAILABLE) from None
    serve = getattr(app, "serve", None)
    if not callable(serve):
        raise CliError("serve is not available: acd.app has no serve()", EXIT_UNAVAILABLE)
    try:
        result = serve(settings, ready_file=args.ready_file)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    except (KeyboardInterrupt, SystemExit, CliError):
        raise
    except Exception as exc:
        # The log (JSON in production) keeps the traceback; the terminal gets one line.
        get_logger("acd.cli").exception("serve_failed")
        raise CliError(f"serve failed: {type(exc).__name__}: {exc}", EXIT_SOFTWARE) from None
    return int(result) if isinstance(result, int) else EXIT_OK


# --- check-config -----------------------------------------------------------------


def register_check_config(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate a configuration file",
        description="Validate PATH and the ACD_* environment overrides. Prints every "
        "error as FILE:LINE: PATH: MESSAGE and exits 1, or a one-line summary and exits 0.",
    )
    parser.add_argument("path", metavar="PATH", help="YAML configuration file")
    parser.set_defaults(handler=_check_config)


def _check_config(args: argparse.Namespace) -> int:
    from config import ConfigError, load_settings

    try:
        settings = load_settings(args.path)
    except ConfigError as exc:
        for line in exc.lines:
            _err(line)
        count = len(exc.lines)
        _err(f"{args.path}: {count} error{'' if count == 1 else 's'}")
        return EXIT_INVALID
    print(f"{args.path}: OK: {settings.summary()}")
    return EXIT_OK


COMMANDS: list[Callable[[Subparsers], None]] = [register_serve, register_check_config]
# migrate, agents, staffing, report (acd/commands/; imported lazily, no cycle)
from acd.commands import COMMANDS as _MORE_COMMANDS  # noqa: E402

COMMANDS.extend(_MORE_COMMANDS)


# --- entry point ------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, not usage + message
        raise CliError(f"{message} (see: {self.prog} --help)", EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="acd", description="12345 hotline automatic call distributor")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of unexpected errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return handler(args)
    except CliError as exc:
        _err(f"acd: {exc}")
        return exc.status
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else 1)
    except KeyboardInterrupt:
        _err("acd: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args is not None and getattr(args, "debug", False):
            raise
        _err(f"acd: internal error: {type(exc).__name__}: {exc} (rerun with --debug)")
        return EXIT_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
