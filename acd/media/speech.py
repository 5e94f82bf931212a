"""Numbers, queue positions and waiting times as sequences of clip names.

Pure functions: the result is a list of clip names that :mod:`acd.media.prompts`
turns into audio.  Clip names are language-neutral keys; each language directory
holds its own recording of each key it needs (:data:`CLIPS` lists them).

Mandarin (``zh``, default) reads numbers the Chinese way in groups of four digits
(十五, 一百零五, 一千零一十, 两万三千): a leading 一 before 十 is dropped, internal
zero runs are read once as 零, and a *quantity* of two before a measure word is 两
(两分钟) while a rank keeps 二 (第二位).  English (``en``) reads cardinals
("one hundred five"; no "and").  Supported range: 0 to 99,999,999.
"""

from __future__ import annotations

import math

__all__ = [
    "CLIPS",
    "LANGUAGES",
    "announcement_words",
    "ewt_words",
    "number_words",
    "position_words",
]

LANGUAGES = ("zh", "en")
MAX_NUMBER = 99_999_999

_PHRASES = (
    "greeting",
    "you_are_caller",
    "estimated_wait",
    "less_than_minute",
    "minute",
    "minutes",
    "seconds",
    "thanks_for_waiting",
)
CLIPS: dict[str, tuple[str, ...]] = {
    "zh": (
        *_PHRASES, "caller_suffix",
        *(f"num_{d}" for d in range(10)), "num_2_liang",
        "num_10", "num_100", "num_1000", "num_10000",
    ),
    "en": (
        *_PHRASES,
        *(f"num_{d}" for d in range(20)), *(f"num_{t}" for t in range(20, 100, 10)),
        "num_100", "num_1000", "num_1000000",
    ),
}
"""Every clip name a language needs for greetings and announcements."""

_ZH_UNITS = (1000, 100, 10, 1)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown announcement language {language!r}; "
                         f"use one of {', '.join(LANGUAGES)}")


def _zh_group(n: int, leading: bool) -> list[str]:
    """1..9999 in Mandarin; *leading* drops the 一 of 一十 at the very start."""
    out: list[str] = []
    started = pending_zero = False
    for unit in _ZH_UNITS:
        digit = n // unit % 10
        if digit == 0:
            pending_zero = pending_zero or started
            continue
        if pending_zero:
            out.append("num_0")
            pending_zero = False
        if not (unit == 10 and digit == 1 and leading and not started):
            out.append(f"num_{digit}")
        if unit > 1:
            out.append(f"num_{unit}")
        started = True
    return out


def _zh(n: int, quantity: bool) -> list[str]:
    if n == 0:
        return ["num_0"]
    if n >= 10_000:
        high, low = divmod(n, 10_000)
        out = [*_zh_group(high, True), "num_10000"]
        if low:
            if low < 1000:
                out.append("num_0")
            out += _zh_group(low, False)
    else:
        out = _zh_group(n, True)
    if quantity and out[0] == "num_2" and (len(out) == 1 or out[1] in
                                           ("num_100", "num_1000", "num_10000")):
        out[0] = "num_2_liang"
    return out


def _en(n: int) -> list[str]:
    if n < 20:
        return [f"num_{n}"]
    if n < 100:
        tens, units = divmod(n, 10)
        return [f"num_{tens * 10}", *([f"num_{units}"] if units else [])]
    for size in (1_000_000, 1000, 100):
        if n >= size:
            high, low = divmod(n, size)
            return [*_en(high), f"num_{size}", *(_en(low) if low else [])]
    raise AssertionError("unreachable")  # pragma: no cover


def number_words(n: int, language: str = "zh", *, quantity: bool = False) -> list[str]:
    """Clip names reading *n* aloud.  *quantity*: Mandarin 两 for a counted two."""
    _check_language(language)
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"cannot read {n} aloud: supported range is 0..{MAX_NUMBER}")
    return _zh(n, quantity) if language == "zh" else _en(n)


def position_words(position: int, language: str = "zh") -> list[str]:
    """"您现在排在第 N 位" / "You are caller number N" (position is 1-based)."""
    if position < 1:
        raise ValueError(f"queue position must be >= 1, got {position}")
    words = ["you_are_caller", *number_words(position, language)]
    return [*words, "caller_suffix"] if language == "zh" else words


def ewt_words(seconds: float, language: str = "zh") -> list[str]:
    """"预计等待 M 分钟" / "Your estimated wait is M minutes"; under 60 s: less than a minute.

    Minutes are rounded *up* (a 61 s wait is announced as two minutes): callers
    forgive an early answer, not a late one.
    """
    _check_language(language)
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"estimated wait must be >= 0 s, got {seconds}")
    if seconds < 60:
        return ["estimated_wait", "less_than_minute"]
    minutes = math.ceil(seconds / 60)
    unit = "minute" if minutes == 1 and language == "en" else "minutes"
    return ["estimated_wait", *number_words(minutes, language, quantity=True), unit]


def announcement_words(
    position: int | None, ewt_seconds: float | None, language: str = "zh"
) -> list[list[str]]:
    """The phrases of a periodic announcement (each a list of clip names)."""
    _check_language(language)
    phrases: list[list[str]] = []
    if position is not None:
        phrases.append(position_words(position, language))
    if ewt_seconds is not None:
        phrases.append(ewt_words(ewt_seconds, language))
    return phrases
