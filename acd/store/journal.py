"""The journal: persistence that never blocks call handling.

``submit(record)`` is synchronous and returns at once with a sequence number. A
background task takes records from a bounded in-memory queue in submission order and
writes them to PostgreSQL in batches (one transaction per batch, idempotent statements,
see ``writes``). When the database is unreachable the batches go to the local spool
(``spool.Spool``, fsync'd per batch) and are replayed in order when it returns. When the
in-memory queue is full, ``submit`` spills the queue and the new record to the spool
instead of dropping anything.

Acknowledged
    A record is *acknowledged* once it is committed in the database or fsync'd in the
    spool. ``await journal.wait_durable(seq)`` returns when record ``seq`` (and every
    record submitted before it) is acknowledged; ``await journal.flush()`` does that for
    everything submitted so far. ``kill -9`` loses nothing acknowledged: a restarted
    ``Journal`` on the same ``spool_dir`` replays the spool. Records submitted but not
    yet acknowledged live only in memory and are lost by ``kill -9`` (not by
    ``close()``, which drains).

Batching
    The writer keeps one pooled connection for itself (a new one after any failure) and
    writes a batch ``coalesce`` (10 ms) after the first record arrives; while records
    keep coming it starts at most one transaction per ``batch_interval`` (20 ms), so a
    busy ACD writes fewer, larger transactions -- unless someone waits for a record
    (``wait_durable``, ``flush``, ``close``): then it writes at once. A record is checked
    and turned into its statement parameters once, in ``submit``; its spool line is built
    only if it goes to the spool.

Ordering
    Records reach the database in submission order: while anything is in the spool, new
    batches are appended behind it rather than written directly, and the spool is
    replayed oldest segment first. ``queue_events.id`` therefore follows submission order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acd.logging import get_logger
from acd.store.database import is_transient
from acd.store.errors import JOURNAL_CLOSED, StoreError
from acd.store.records import Record, encode_record
from acd.store.spool import Spool
from acd.store.writes import Prepared, is_poison, prepare, submitted_json, write_prepared

__all__ = ["Journal", "JournalHealth"]

log = get_logger("acd.store.journal")


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalHealth:
    """A snapshot for /health, metrics and tests."""

    #: Records waiting in memory (not yet acknowledged), in-flight batch included.
    queue_depth: int
    #: Records of the batch being written to the database right now.
    in_flight: int
    #: Records in the spool waiting for replay.
    spool_depth: int
    #: Seconds the last successful database batch took (acquire + transaction).
    last_write_latency: float | None
    #: False after a failed write until the next successful one.
    database_ok: bool
    #: False after a spool write failed (disk full ...) until the next successful one.
    spool_ok: bool
    #: Highest sequence number handed out / acknowledged.
    submitted: int
    durable: int
    #: Records the database refused as invalid, kept in ``rejected.jsonl``.
    rejected: int
    last_error: str | None

    @property
    def is_writable_or_spooling(self) -> bool:
        """Records are being made durable somewhere (database or spool)."""
        return self.database_ok or self.spool_ok


@dataclass(slots=True)
class _Item:
    seq: int
    record: Record
    #: The statement and parameters, built (and checked) once at submit.
    row: Prepared
    #: The spool line, built when first needed (most records never reach the spool).
    line: bytes | None = None

    def spool_line(self) -> bytes:
        if self.line is None:
            self.line = _encode(self.record, self.row)
        return self.line


def _encode(record: Record, row: Prepared) -> bytes:
    """The spool line of a record as submitted: its JSON fields as ``prepare`` encoded
    them (what the database gets, even if the caller changed a ``data`` dict since), its
    scalars checked JSON-safe there, so this cannot fail."""
    submitted = submitted_json(row)
    if submitted:
        record = dataclasses.replace(record, **submitted)
    return encode_record(record)


class Journal:
    """Batches records to PostgreSQL through ``pool``; spools when it cannot.

    ``pool`` is an asyncpg pool (anything with awaitable ``acquire()`` and ``release()``);
    ``None`` means spool only. Use ``await start()`` (replays a leftover spool), then
    ``submit()`` from anywhere on the loop, and ``await close()`` at shutdown.
    """

    def __init__(
        self,
        pool: Any,
        spool_dir: Path,
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        segment_records: int = 10_000,
        write_timeout: float = 10.0,
        retry_initial: float = 0.5,
        retry_max: float = 15.0,
        coalesce: float = 0.01,
        batch_interval: float = 0.02,
    ) -> None:
        if max_queue < 1 or batch_size < 1:
            raise ValueError("max_queue and batch_size must be >= 1")
        self._pool = pool
        self._spool = Spool(Path(spool_dir), segment_records=segment_records)
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._write_timeout = write_timeout
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        # Wait this long after a wake-up before writing a batch smaller than batch_size,
        # and while records keep coming start at most one transaction per batch_interval:
        # a transaction costs the writer ~0.3-0.5 ms of CPU whatever its size (BEGIN, one
        # executemany per table, COMMIT: each a round trip), so under load batches grow
        # instead of the number of transactions, and a quiet system still writes within
        # `coalesce`.
        self._coalesce = coalesce
        self._batch_interval = batch_interval
        self._next_batch_at = 0.0

        self._queue: collections.deque[_Item] = collections.deque()
        self._eager_lines = max(1, max_queue // 4)
        # The writer's own connection, held between batches (a pool acquire + reset per
        # batch cost more than the batch's statements); dropped after any failure.
        self._conn: Any = None
        self._inflight: list[_Item] = []
        self._inflight_spilled = False
        self._seq = 0
        self._durable = 0
        self._spooled_max = 0  # highest seq appended to the spool

        self._database_ok = True
        self._spool_ok = True
        self._retry_at = 0.0
        self._backoff = retry_initial
        self._last_latency: float | None = None
        self._last_error: str | None = None
        self._rejected = 0

        self._stalled = False
        self._spool.open()  # so that submit() may spill even before start()

        self._wakeup = asyncio.Event()
        # Set by close() and by a wait for a record not yet acknowledged: the writer then
        # writes at once instead of waiting out batch_interval.
        self._hurry = asyncio.Event()
        self._awaited = 0  # highest seq someone waits for
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._closing = False
        self._closed = False

    # -- public API ----------------------------------------------------------------

    async def start(self) -> None:
        """Replay what a previous run left in the spool (if the database answers), then
        start the writer task."""
        if self._started:
            return
        self._started = True
        if self._spool.depth:
            log.info("journal_spool_found", records=self._spool.depth)
            await self._replay()
        self._task = asyncio.create_task(self._supervise(), name="acd-store-journal")

    def submit(self, record: Record) -> int:
        """Queue ``record``; never blocks, never drops. Returns its sequence number.

        Raises ``StoreError(journal_closed)`` after ``close()``, and ``TypeError`` /
        ``ValueError`` if the record's JSON fields cannot be encoded.
        """
        if self._closing:
            raise StoreError(JOURNAL_CLOSED, "the journal is closed")
        item = _Item(self._seq + 1, record, prepare(record))
        if len(self._queue) >= self._eager_lines:
            # Backlog building up (database slow or away): encode now, so that a spill
            # of the whole queue does not encode thousands of records in one go.
            item.spool_line()
        self._seq += 1
        if len(self._queue) >= self._max_queue:
            self._spill(item)
        else:
            self._queue.append(item)
        self._wakeup.set()
        return item.seq

    async def wait_durable(self, seq: int) -> None:
        """Return once every record up to ``seq`` is acknowledged."""
        if seq > self._durable and seq > self._awaited:
            self._awaited = seq
            self._hurry.set()
        while self._durable < seq:
            if self._closed:
                raise StoreError(JOURNAL_CLOSED, f"record {seq} was not acknowledged")
            await self._progress.wait()

    async def flush(self) -> None:
        """Return once everything submitted so far is acknowledged."""
        await self.wait_durable(self._seq)

    def health(self) -> JournalHealth:
        return JournalHealth(
            queue_depth=len(self._queue) + (0 if self._inflight_spilled else len(self._inflight)),
            in_flight=0 if self._inflight_spilled else len(self._inflight),
            spool_depth=self._spool.depth,
            last_write_latency=self._last_latency,
            database_ok=self._database_ok,
            spool_ok=self._spool_ok,
            submitted=self._seq,
            durable=self._durable,
            rejected=self._rejected,
            last_error=self._last_error,
        )

    async def wait_until(self, predicate: Callable[[JournalHealth], bool]) -> JournalHealth:
        """Wait (bound it with ``asyncio.timeout``) until ``predicate(health())``."""
        while True:
            health = self.health()
            if predicate(health):
                return health
            await self._progress.wait()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop accepting records and drain: everything submitted ends up committed or
        fsync'd in the spool. Idempotent."""
        if self._closed:
            return
        self._closing = True
        self._wakeup.set()
        self._hurry.set()
        task = self._task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._emergency_spool()
        self._spool.close()
        await self._release_connection()
        self._closed = True
        self._notify()

    # -- writer task ---------------------------------------------------------------

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._run()
                return
            except Exception as exc:  # a bug: keep the records, log, carry on
                self._last_error = f"journal writer failed: {exc!r}"
                log.exception("journal_writer_failed")
                self._emergency_spool()
                await self._drop_connection()
                self._retry_at = loop.time() + self._retry_max
                await asyncio.sleep(1.0)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._spool.unsynced:
                await self._sync_spool()
            if self._spool.depth and loop.time() >= self._retry_at:
                await self._replay()
            if self._queue:
                if len(self._queue) < self._batch_size and not self._closing:
                    delay = self._coalesce
                    if self._awaited <= self._durable:  # nobody waits: batch up
                        self._hurry.clear()
                        delay = max(delay, self._next_batch_at - loop.time())
                    if delay > 0:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(delay):
                                await self._hurry.wait()  # close() or a waiter
                self._next_batch_at = loop.time() + self._batch_interval
                await self._write_batch()
                if self._stalled:
                    # Neither the database nor the spool took the batch: back off
                    # (records stay in memory) instead of spinning.
                    self._stalled = False
                    await asyncio.sleep(self._backoff)
                continue
            if self._closing:
                await self._sync_spool()
                return
            timeout = None
            if self._spool.depth:
                timeout = max(0.0, self._retry_at - loop.time())
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _write_batch(self) -> None:
        count = min(self._batch_size, len(self._queue))
        batch = [self._queue.popleft() for _ in range(count)]
        self._inflight, self._inflight_spilled = batch, False
        self._notify()
        try:
            # Older records waiting in the spool: queue behind them to keep the order
            # (unless the spool is failing: then availability beats order).
            if self._spool.depth and self._spool_ok and await self._spool_items(batch):
                return
            if await self._insert(batch):
                self._advance(batch[-1].seq)
                return
            if self._inflight_spilled:  # submit() spilled it while we were writing
                await self._sync_spool()
                return
            if await self._spool_items(batch):
                return
            self._queue.extendleft(reversed(batch))
            self._stalled = True
        finally:
            self._inflight, self._inflight_spilled = [], False
            self._notify()

    async def _spool_items(self, items: Sequence[_Item]) -> bool:
        """Append and fsync; False if the spool cannot take them."""
        try:
            self._spool.append([item.spool_line() for item in items])
        except OSError as exc:
            self._spool_error("spool write failed", exc)
            return False
        self._inflight_spilled = True
        self._spooled_max = max(self._spooled_max, items[-1].seq)
        await self._sync_spool()
        try:
            await self._spool.rotate_if_full()
        except OSError as exc:
            self._spool_error("spool rotation failed", exc)
        return True

    async def _sync_spool(self) -> None:
        covered = self._spooled_max
        try:
            await self._spool.sync()
        except OSError as exc:
            self._spool_error("spool fsync failed", exc)
            return
        self._spool_ok = True
        self._advance(covered)

    def _spool_error(self, what: str, exc: OSError) -> None:
        # Disk full or similar. Records stay in memory (over the bound if need be)
        # rather than being lost; the database path may still take them.
        if self._spool_ok:
            log.error("journal_spool_failed", error=f"{what}: {exc}")
        self._spool_ok = False
        self._last_error = f"{what}: {exc}"
        self._retry_at = asyncio.get_running_loop().time() + self._backoff
        self._notify()

    def _in_memory(self) -> list[_Item]:
        """What is not yet in the spool nor the database, in order: the batch in flight
        (unless a spill already spooled it), then the queue."""
        items = [] if self._inflight_spilled else list(self._inflight)
        items.extend(self._queue)
        return items

    def _spill(self, item: _Item) -> None:
        """Queue full: move inflight + queue + item to the spool, in order."""
        items = self._in_memory()
        items.append(item)
        try:
            self._spool.append([i.spool_line() for i in items])
        except OSError as exc:
            self._spool_ok = False
            self._last_error = f"spool write failed: {exc}"
            self._queue.append(item)
            return
        if self._inflight:
            self._inflight_spilled = True
        self._queue.clear()
        self._spooled_max = max(self._spooled_max, item.seq)
        self._notify()

    def _emergency_spool(self) -> None:
        """Blocking: put whatever is still in memory into the spool and fsync."""
        items = self._in_memory()
        if not items:
            return
        try:
            self._spool.append([i.spool_line() for i in items])
            self._spool.sync_now()
        except OSError as exc:
            log.error("journal_records_lost", records=len(items), error=str(exc))
            return
        self._inflight, self._inflight_spilled = [], False
        self._queue.clear()
        self._durable = max(self._durable, items[-1].seq)

    async def _replay(self) -> bool:
        """Replay sealed segments oldest first; False if the database failed."""
        total = 0
        try:
            await self._spool.seal()
            self._advance(self._spooled_max)
            for segment in self._spool.sealed():
                records, bad = await self._spool.read(segment)
                items = []
                for record in records:
                    try:
                        items.append(_Item(0, record, prepare(record)))
                    except (TypeError, ValueError) as exc:  # a hand-edited line (NaN ...)
                        bad.append((repr(record).encode(), _one_line(exc)))
                await self._reject(bad)
                for start in range(0, len(items), self._batch_size):
                    if not await self._insert(items[start : start + self._batch_size]):
                        return False
                await self._spool.remove(segment)
                total += segment.records
                self._notify()
        except OSError as exc:
            self._spool_error("spool replay failed", exc)
            return False
        if total:
            log.info("journal_spool_replayed", records=total)
        return True

    # -- database ------------------------------------------------------------------

    async def _insert(self, items: Sequence[_Item]) -> bool:
        """One transaction for ``items``. True when committed (bad records diverted
        to ``rejected.jsonl``); False when the database is unreachable."""
        if self._pool is None:
            await self._mark_down("no database pool")
            return False
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await self._transaction(items)
        except Exception as exc:
            if is_poison(exc) and len(items) > 1:
                return await self._insert_one_by_one(items)
            if is_poison(exc):
                await self._reject([(items[0].spool_line(), _one_line(exc))])
                return True
            await self._mark_down(_one_line(exc), exc)
            return False
        self._last_latency = loop.time() - started
        self._mark_up()
        return True

    async def _insert_one_by_one(self, items: Sequence[_Item]) -> bool:
        for item in items:
            try:
                await self._transaction([item])
            except Exception as exc:
                if not is_poison(exc):
                    await self._mark_down(_one_line(exc), exc)
                    return False
                await self._reject([(item.spool_line(), _one_line(exc))])
        self._mark_up()
        return True

    async def _transaction(self, items: Sequence[_Item]) -> None:
        async with asyncio.timeout(self._write_timeout):
            conn = self._conn
            if conn is None or not _usable(conn):
                await self._drop_connection()
                conn = self._conn = await self._pool.acquire()
            async with conn.transaction():
                await write_prepared(conn, [item.row for item in items])

    async def _drop_connection(self) -> None:
        """Close the writer's connection (state unknown after a failure, a timeout or a
        cancellation) and give it back to the pool, which opens a new one when asked."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # A connection the server closed is already back in the pool: both may raise.
        with contextlib.suppress(Exception):
            conn.terminate()
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    async def _release_connection(self) -> None:
        """At close: hand a healthy connection back to the pool, else drop it."""
        conn = self._conn
        if conn is None:
            return
        if not _usable(conn) or conn.is_in_transaction():
            await self._drop_connection()
            return
        self._conn = None
        try:
            await asyncio.wait_for(self._pool.release(conn), self._write_timeout)
        except Exception:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def _reject(self, bad: Sequence[tuple[bytes, str]]) -> None:
        if not bad:
            return
        await self._spool.reject(bad)
        self._rejected += len(bad)
        log.error("journal_records_rejected", records=len(bad), error=bad[0][1])

    async def _mark_down(self, error: str, exc: BaseException | None = None) -> None:
        await self._drop_connection()
        loop = asyncio.get_running_loop()
        if self._database_ok:
            log.warning(
                "journal_database_unreachable",
                error=error,
                transient=exc is None or is_transient(exc),
            )
            self._backoff = self._retry_initial
        else:
            self._backoff = min(self._backoff * 2, self._retry_max)
        self._database_ok = False
        self._last_error = error
        self._retry_at = loop.time() + self._backoff
        self._notify()

    def _mark_up(self) -> None:
        if not self._database_ok:
            log.info("journal_database_back")
            self._retry_at = 0.0  # replay the spool now
        self._database_ok = True
        self._backoff = self._retry_initial

    # -- bookkeeping ---------------------------------------------------------------

    def _advance(self, seq: int) -> None:
        if seq > self._durable:
            self._durable = seq
        self._notify()

    def _notify(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()


def _usable(conn: Any) -> bool:
    """Open, and still ours: the pool takes back a connection the server closed."""
    try:
        return not conn.is_closed()
    except Exception:  # asyncpg InterfaceError: released back to the pool
        return False


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
