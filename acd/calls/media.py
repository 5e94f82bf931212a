"""Media glue: what the engine asks of the RTP side, and the `MediaPlayer` implementation.

The engine is synchronous (it runs inside runtime steps); opening an RTP socket is not.
`CallMedia.open` therefore takes a ``ready(port, now)`` callback that the glue runs in a
later runtime step (``port`` None when no stream could be opened). Tests use a fake that
calls back at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from acd.logging import get_logger
from acd.media import MediaError, MediaPlayer, Play, Prompt, PromptError, PromptLibrary, Silence
from acd.media.audio import silence, tone
from acd.media.playlist import greeting_playlist, hold_playlist
from acd.runtime import Runtime
from config import Settings
from sip.sdp import SessionDescription

__all__ = ["CallMedia", "PlayerMedia", "Ready"]

log = get_logger("acd.calls.media")

Ready = Callable[[int | None, float], None]


class CallMedia(Protocol):
    host: str  # the address our SDP advertises (c=)

    def open(
        self, stream_id: str, remote: SessionDescription, codec: tuple[int, str], ready: Ready
    ) -> None: ...

    def greet(self, stream_id: str, queue: str) -> None: ...

    def announce(
        self, stream_id: str, queue: str, position: int | None, ewt: float | None
    ) -> None: ...

    def tone(self, stream_id: str, ok: bool) -> float: ...

    def update(self, stream_id: str, remote: SessionDescription) -> None: ...

    def close(self, stream_id: str) -> None: ...


_CONFIRM = tone((880.0,), 200, level_dbfs=-14.0) + silence(80) + tone((1320.0,), 350)
_ERROR = b"".join(tone((420.0,), 180, level_dbfs=-14.0) + silence(120) for _ in range(3))


class PlayerMedia:
    """`CallMedia` on the shared `MediaPlayer` with prompts from a `PromptLibrary`."""

    def __init__(
        self, player: MediaPlayer, library: PromptLibrary, runtime: Runtime, settings: Settings,
        host: str,
    ) -> None:
        self.player = player
        self.library = library
        self.runtime = runtime
        self.host = host
        self._queues = {q.name: q for q in settings.queues}
        self._tasks: set[asyncio.Task[None]] = set()
        self._confirm = Prompt("confirm", _CONFIRM, source="tone:confirm")
        self._error = Prompt("error", _ERROR, source="tone:error")

    def open(
        self, stream_id: str, remote: SessionDescription, codec: tuple[int, str], ready: Ready
    ) -> None:
        addr, port = remote.audio_address or "0.0.0.0", remote.audio_port or 0

        async def start() -> None:
            local: int | None
            try:
                local = await self.player.start_stream(stream_id, addr, port, codec[0], codec[1])
            except (MediaError, OSError) as exc:
                log.error("media_open_failed", call_id=stream_id, error=str(exc))
                local = None
            self.runtime.step(lambda now: ready(local, now))

        task = asyncio.get_running_loop().create_task(start())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _language(self, queue: str) -> str:
        q = self._queues.get(queue)
        return q.language.value if q is not None else "zh"

    def _file(self, queue: str, which: str) -> Prompt | None:
        q = self._queues.get(queue)
        path = getattr(q.prompts, which, None) if q is not None else None
        if path is None:
            return None
        try:
            return self.library.load_file(path)
        except PromptError as exc:
            log.error("prompt_unusable", queue=queue, prompt=which, error=str(exc))
            return None

    def greet(self, stream_id: str, queue: str) -> None:
        try:
            playlist = greeting_playlist(
                self.library, self._language(queue),
                greeting=self._file(queue, "greeting"), hold=self._file(queue, "hold_music"),
            )
            self.player.play(stream_id, playlist)
        except (MediaError, PromptError, ValueError) as exc:
            log.error("media_play_failed", call_id=stream_id, error=str(exc))

    def announce(
        self, stream_id: str, queue: str, position: int | None, ewt: float | None
    ) -> None:
        try:
            playlist = hold_playlist(
                self.library, self._language(queue), position=position, ewt_seconds=ewt,
                hold=self._file(queue, "hold_music"),
            )
            self.player.play(stream_id, playlist)
        except (MediaError, PromptError, ValueError) as exc:
            log.warning("announcement_failed", call_id=stream_id, error=str(exc))

    def tone(self, stream_id: str, ok: bool) -> float:
        prompt = self._confirm if ok else self._error
        try:
            self.player.play(stream_id, [Silence(ms=200), Play(prompt=prompt)])
        except (MediaError, ValueError) as exc:
            log.warning("tone_failed", call_id=stream_id, error=str(exc))
        return 0.2 + prompt.duration

    def update(self, stream_id: str, remote: SessionDescription) -> None:
        if stream_id not in self.player:
            return
        try:
            self.player.update_stream(
                stream_id, remote_addr=remote.audio_address or "0.0.0.0",
                remote_port=remote.audio_port or 0,
            )
        except MediaError as exc:
            log.warning("media_update_failed", call_id=stream_id, error=str(exc))

    def close(self, stream_id: str) -> None:
        stats = self.player.stop(stream_id)
        if stats is not None:
            log.debug(
                "media_closed", call_id=stream_id, sent=stats.packets_sent,
                received=stats.packets_received,
            )
