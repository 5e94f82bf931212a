"""The local spool: append-only JSON-lines segments holding records the database has
not taken yet.

Layout of ``spool_dir``::

    spool-0000000001.jsonl   sealed segment (oldest; replayed first)
    spool-0000000002.jsonl   current segment (appended to)
    rejected.jsonl           records the database refused as invalid (kept, never retried)

One line per record, ``{"v":1,"kind":"queue_event","rec":{...}}\\n`` (see
``records.encode_record``). Lines are written with ``os.write`` on an ``O_APPEND``
descriptor and made durable by ``sync()`` (``fsync`` of the file, and of the directory
after a segment is created or removed). A segment is replayed as a whole and unlinked
only after every record in it is committed; a crash in between replays it again, which
the idempotent writes make harmless. A last line without its newline is a write torn by
a crash: it was never acknowledged and is ignored if it does not parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from acd.store.records import Record, decode_record

__all__ = ["Segment", "Spool"]

_SEGMENT_RE: Final = re.compile(r"^spool-(\d{10})\.jsonl$")
REJECTED_FILE: Final = "rejected.jsonl"


@dataclass(slots=True)
class Segment:
    path: Path
    records: int


def _count_records(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Segmented append-only spool. Not thread-safe: use from the event loop thread
    (only ``fsync`` runs in a worker thread)."""

    def __init__(self, directory: Path, *, segment_records: int = 10_000) -> None:
        self.directory = Path(directory)
        self._segment_records = segment_records
        self._segments: list[Segment] = []  # oldest first; the last may be current
        self._current: Segment | None = None
        self._fd: int | None = None
        self._next_number = 1
        self._written = 0  # appends so far (generation counter)
        self._synced = 0
        self._dir_dirty = False
        self.depth = 0

    # -- opening and state ---------------------------------------------------------

    def open(self) -> None:
        """Scan existing segments (left by a previous process: all count as sealed)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        found: list[tuple[int, Path]] = []
        for path in self.directory.iterdir():
            match = _SEGMENT_RE.match(path.name)
            if match:
                found.append((int(match[1]), path))
        found.sort()
        self._segments = [Segment(path, _count_records(path)) for _, path in found]
        self.depth = sum(s.records for s in self._segments)
        self._next_number = found[-1][0] + 1 if found else 1

    @property
    def unsynced(self) -> bool:
        return self._written != self._synced or self._dir_dirty

    def sealed(self) -> list[Segment]:
        """Segments no longer appended to, oldest first."""
        return [s for s in self._segments if s is not self._current]

    # -- writing -------------------------------------------------------------------

    def append(self, lines: Sequence[bytes]) -> None:
        """Write whole lines now (page cache); durable after the next ``sync()``.
        Raises ``OSError`` (disk full, permissions)."""
        if not lines:
            return
        if self._fd is None:
            self._open_current()
        assert self._fd is not None and self._current is not None
        data = b"".join(lines)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._current.records += len(lines)
        self.depth += len(lines)
        self._written += 1

    async def sync(self) -> None:
        """fsync what has been appended so far (and the directory if it changed)."""
        target, fd, dir_dirty = self._written, self._fd, self._dir_dirty
        if target == self._synced and not dir_dirty:
            return
        if fd is not None and target != self._synced:
            await asyncio.to_thread(os.fsync, fd)
        if dir_dirty:
            await asyncio.to_thread(_fsync_dir, self.directory)
            self._dir_dirty = False
        self._synced = max(self._synced, target)

    async def seal(self) -> None:
        """Sync and close the current segment; the next append starts a new one."""
        while self.unsynced:
            await self.sync()
        # No await between the check above and the close: nothing can be appended
        # to the descriptor after its last fsync.
        self._close_current()

    async def rotate_if_full(self) -> None:
        if self._current is not None and self._current.records >= self._segment_records:
            await self.seal()

    def _open_current(self) -> None:
        path = self.directory / f"spool-{self._next_number:010d}.jsonl"
        self._next_number += 1
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._current = Segment(path, 0)
        self._segments.append(self._current)
        self._dir_dirty = True

    def _close_current(self) -> None:
        fd, self._fd, self._current = self._fd, None, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Close without syncing (call ``seal()`` first for durability)."""
        self._close_current()

    def sync_now(self) -> None:
        """Blocking fsync, for emergency paths where the event loop is going away."""
        if self._fd is not None:
            os.fsync(self._fd)
        _fsync_dir(self.directory)
        self._synced = self._written
        self._dir_dirty = False

    # -- replay --------------------------------------------------------------------

    async def read(self, segment: Segment) -> tuple[list[Record], list[tuple[bytes, str]]]:
        """All records of a sealed segment, plus the lines that do not decode (with the
        reason). A torn, unparseable last line is dropped silently (never acknowledged)."""
        data = await asyncio.to_thread(segment.path.read_bytes)
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        records: list[Record] = []
        bad: list[tuple[bytes, str]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                records.append(decode_record(line))
            except ValueError as exc:
                bad.append((line, str(exc)))
        if tail.strip():
            with contextlib.suppress(ValueError):
                records.append(decode_record(tail))
        return records, bad

    async def remove(self, segment: Segment) -> None:
        """Unlink a fully replayed sealed segment, durably."""
        if segment is self._current:
            raise RuntimeError("cannot remove the current segment; seal() it first")
        await asyncio.to_thread(segment.path.unlink, True)
        await asyncio.to_thread(_fsync_dir, self.directory)
        self._segments.remove(segment)
        self.depth -= segment.records

    async def reject(self, items: Sequence[tuple[bytes, str]]) -> None:
        """Append refused lines with their error to ``rejected.jsonl`` (fsync'd)."""
        if not items:
            return
        out = b"".join(
            json.dumps(
                {"error": error, "line": line.decode("utf-8", "replace").rstrip("\n")},
                ensure_ascii=False,
            ).encode()
            + b"\n"
            for line, error in items
        )

        def write() -> None:
            fd = os.open(
                self.directory / REJECTED_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
            )
            try:
                os.write(fd, out)
                os.fsync(fd)
            finally:
                os.close(fd)

        await asyncio.to_thread(write)

    def iter_rejected(self) -> Iterator[dict[str, str]]:
        path = self.directory / REJECTED_FILE
        if not path.exists():
            return
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
