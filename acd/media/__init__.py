"""Announcements and music on hold over RTP (G.711), and the prompts they play.

* :mod:`acd.media.g711` — µ-law/A-law tables (our own; ``audioop`` is deprecated).
* :mod:`acd.media.audio` — prompt file loading/validation, tones, resampling.
* :mod:`acd.media.prompts` — :class:`PromptLibrary` (shipped prompts, tone fallbacks).
* :mod:`acd.media.speech` / :mod:`acd.media.playlist` — spoken numbers, playlists.
* :mod:`acd.media.player` — :class:`MediaPlayer`, one shared 20 ms pacing timer.
* :mod:`acd.media.make_prompts` — the build step generating ``acd/prompts/``.
"""

from acd.media.audio import FRAME_SAMPLES, SAMPLE_RATE, PromptError, load_audio
from acd.media.player import MediaPlayer, PlayerStats, StreamStats
from acd.media.playlist import (
    Play,
    Playlist,
    PlaylistItem,
    Silence,
    announcement,
    greeting_playlist,
    hold_playlist,
)
from acd.media.ports import MediaError, PortRange
from acd.media.prompts import DEFAULT_PROMPT_DIR, Prompt, PromptLibrary
from acd.media.speech import LANGUAGES, ewt_words, number_words, position_words

__all__ = [
    "DEFAULT_PROMPT_DIR",
    "FRAME_SAMPLES",
    "LANGUAGES",
    "SAMPLE_RATE",
    "MediaError",
    "MediaPlayer",
    "Play",
    "PlayerStats",
    "Playlist",
    "PlaylistItem",
    "PortRange",
    "Prompt",
    "PromptError",
    "PromptLibrary",
    "Silence",
    "StreamStats",
    "announcement",
    "ewt_words",
    "greeting_playlist",
    "hold_playlist",
    "load_audio",
    "number_words",
    "position_words",
]
