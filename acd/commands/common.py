"""Shared by the subcommands: configuration, exit codes, progress lines, tables."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from typing import Final

from acd.cli import EXIT_USAGE, CliError
from config import Settings

__all__ = [
    "EXIT_REFUSED",
    "EXIT_UNREACHABLE",
    "display_width",
    "load_config",
    "progress",
    "render_table",
]

#: The ACD or the database understood the request and refused it.
EXIT_REFUSED: Final = 1
#: The ACD API or the database cannot be reached (sysexits EX_UNAVAILABLE).
EXIT_UNREACHABLE: Final = 69


def load_config(path: str | None) -> Settings:
    """The settings from ``path`` (or the packaged example) plus ACD_* overrides."""
    from config import ConfigError, load_settings

    try:
        return load_settings(path)
    except ConfigError as exc:
        first = exc.lines[0] if exc.lines else "invalid configuration"
        more = len(exc.lines) - 1
        suffix = f" (and {more} more; run: acd check-config PATH)" if more else ""
        raise CliError(f"configuration error: {first}{suffix}", EXIT_USAGE) from None


def progress(message: str) -> None:
    """A progress line on stderr (stdout stays clean for CSV/JSON)."""
    print(f"acd: {message}", file=sys.stderr, flush=True)


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> str:
    """A plain aligned table (two spaces between columns)."""
    right = right or [False] * len(headers)
    widths = [display_width(h) for h in headers]
    for row in rows:
        widths = [max(w, display_width(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(_pad(cell, w, r) for cell, w, r in zip(line, widths, right, strict=True))
        .rstrip()
        for line in [list(headers), *[list(r) for r in rows]]
    ]
    return "\n".join(lines)
