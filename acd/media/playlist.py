"""Playlist items and builders for greetings, hold music and announcements.

A playlist is a sequence of items played in order: :class:`Play` (a prompt, once or
looping), :class:`Silence`.  A looping item never ends, so it must be last.
:func:`announcement` builds "您现在排在第三位，预计等待两分钟" (or English) from clips;
:func:`hold_playlist` is the usual "announcement, then back to the music" list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from acd.media.prompts import Prompt, PromptLibrary
from acd.media.speech import announcement_words

__all__ = [
    "Play",
    "Playlist",
    "PlaylistItem",
    "Silence",
    "announcement",
    "greeting_playlist",
    "hold_playlist",
    "validate_playlist",
]

WORD_GAP_MS = 30
PHRASE_GAP_MS = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class Play:
    """Play *prompt* once, or forever with ``loop=True``.

    A looping prompt resumes where it was left the last time this stream played it
    (hold music continues after an announcement instead of restarting).
    """

    prompt: Prompt
    loop: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """*ms* milliseconds of silence (sent as G.711 silence frames)."""

    ms: int

    def __post_init__(self) -> None:
        if self.ms < 0:
            raise ValueError("silence duration must be >= 0 ms")


PlaylistItem = Play | Silence
Playlist = Sequence[PlaylistItem]


def validate_playlist(playlist: Playlist) -> None:
    """Raise ``ValueError`` if an item is of an unknown type or a loop is not last."""
    for i, item in enumerate(playlist):
        if not isinstance(item, Play | Silence):
            raise ValueError(f"playlist item {i} is {type(item).__name__}, not Play/Silence")
        if isinstance(item, Play) and item.loop and i != len(playlist) - 1:
            raise ValueError(f"playlist item {i} loops forever but is not the last item")


def announcement(
    library: PromptLibrary,
    language: str,
    *,
    position: int | None = None,
    ewt_seconds: float | None = None,
) -> list[PlaylistItem]:
    """Spoken position and/or estimated wait, built from clips.

    Raises ``PromptError("missing-clip")`` (via :meth:`PromptLibrary.clip`) if a
    needed clip is absent, and ``ValueError`` for an unknown language or bad numbers.
    """
    items: list[PlaylistItem] = []
    for phrase in announcement_words(position, ewt_seconds, language):
        if items:
            items.append(Silence(ms=PHRASE_GAP_MS))
        for j, word in enumerate(phrase):
            if j:
                items.append(Silence(ms=WORD_GAP_MS))
            items.append(Play(prompt=library.clip(language, word)))
    return items


def greeting_playlist(
    library: PromptLibrary, language: str, *, greeting: Prompt | None = None,
    hold: Prompt | None = None,
) -> list[PlaylistItem]:
    """Greeting, a short pause, then hold music forever."""
    return [
        Play(prompt=greeting or library.prompt("greeting", language)),
        Silence(ms=500),
        Play(prompt=hold or library.prompt("hold"), loop=True),
    ]


def hold_playlist(
    library: PromptLibrary,
    language: str,
    *,
    position: int | None,
    ewt_seconds: float | None,
    hold: Prompt | None = None,
) -> list[PlaylistItem]:
    """Periodic announcement: pause, position/EWT, pause, back to the (resumed) music."""
    return [
        Silence(ms=400),
        *announcement(library, language, position=position, ewt_seconds=ewt_seconds),
        Silence(ms=600),
        Play(prompt=hold or library.prompt("hold"), loop=True),
    ]
