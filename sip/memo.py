"""Bounded memo tables for values the SIP core sees over and over (a trunk's URIs, SDP
lines, peer addresses). One eviction rule for all of them: a full table is emptied
before the next entry goes in, so a flood of new keys costs memory up to ``limit``
entries and never more. Lookups stay inline (``table.get(key)``) on the hot paths;
only a miss calls `remember`."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["LIMIT", "remember"]

K = TypeVar("K")
V = TypeVar("V")

#: Entries kept per table.
LIMIT = 4096


def remember(table: dict[K, V], key: K, value: V, limit: int = LIMIT) -> V:
    """Keep ``value`` under ``key`` in ``table`` (emptied first when full); return it."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value
