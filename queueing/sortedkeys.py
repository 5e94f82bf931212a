"""A small sorted multiset of tuples (stdlib only).

Lists of at most ``2 * _LOAD`` keys, indexed by their maxima, in the manner of
``sortedcontainers.SortedList``: insert, remove and rank cost O(log n + _LOAD) instead
of the O(n) memmove of one flat list, which matters with 10,000 waiting calls. ``rank``
(a caller's position) counts the keys of the lists before its own with a Fenwick tree
over the list lengths, O(log n); the tree is built on the first ``rank`` after the
lists were split or emptied (every ~``_LOAD`` inserts) and kept up to date by
``add``/``remove`` in between.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

__all__ = ["SortedKeys"]

K = TypeVar("K", bound=tuple[Any, ...])

_LOAD = 128


class SortedKeys(Generic[K]):
    __slots__ = ("_fenwick", "_len", "_lists", "_maxes")

    def __init__(self) -> None:
        self._lists: list[list[K]] = []
        self._maxes: list[K] = []
        self._len = 0
        # Fenwick tree of len(self._lists[i]); None until needed / after a split
        self._fenwick: list[int] | None = None

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[K]:
        for sub in self._lists:
            yield from sub

    def __contains__(self, key: K) -> bool:
        pos = bisect_left(self._maxes, key)
        if pos == len(self._maxes):
            return False
        sub = self._lists[pos]
        idx = bisect_left(sub, key)
        return idx < len(sub) and sub[idx] == key

    def first(self) -> K:
        return self._lists[0][0]

    def add(self, key: K) -> None:
        maxes = self._maxes
        if not maxes:
            self._lists.append([key])
            maxes.append(key)
            self._fenwick = None
        else:
            pos = bisect_left(maxes, key)
            if pos == len(maxes):
                pos -= 1
                self._lists[pos].append(key)
                maxes[pos] = key
            else:
                insort(self._lists[pos], key)
            sub = self._lists[pos]
            if len(sub) > 2 * _LOAD:
                half = sub[_LOAD:]
                del sub[_LOAD:]
                maxes[pos] = sub[-1]
                self._lists.insert(pos + 1, half)
                maxes.insert(pos + 1, half[-1])
                self._fenwick = None
            elif self._fenwick is not None:
                self._update(pos, 1)
        self._len += 1

    def remove(self, key: K) -> None:
        pos = bisect_left(self._maxes, key)
        if pos == len(self._maxes):
            raise KeyError(key)
        sub = self._lists[pos]
        idx = bisect_left(sub, key)
        if idx == len(sub) or sub[idx] != key:
            raise KeyError(key)
        del sub[idx]
        self._len -= 1
        if sub:
            self._maxes[pos] = sub[-1]
            if self._fenwick is not None:
                self._update(pos, -1)
        else:
            del self._lists[pos]
            del self._maxes[pos]
            self._fenwick = None

    def rank(self, key: K) -> int:
        """How many keys sort strictly before ``key``."""
        pos = bisect_left(self._maxes, key)
        if pos == len(self._maxes):
            return self._len
        if pos == 0:
            before = 0
        elif pos <= 4:  # cheaper than the tree for the first few lists
            before = sum([len(sub) for sub in self._lists[:pos]])
        else:
            before = self._prefix(pos)
        return before + bisect_left(self._lists[pos], key)

    def _prefix(self, pos: int) -> int:
        """Total length of the lists before ``pos`` (Fenwick query, O(log lists))."""
        tree = self._fenwick
        if tree is None:
            tree = [0] * (len(self._lists) + 1)
            for i, sub in enumerate(self._lists, 1):
                tree[i] += len(sub)
                parent = i + (i & -i)
                if parent < len(tree):
                    tree[parent] += tree[i]
            self._fenwick = tree
        total = 0
        while pos:
            total += tree[pos]
            pos &= pos - 1
        return total

    def _update(self, pos: int, delta: int) -> None:
        tree = self._fenwick
        assert tree is not None
        pos += 1
        size = len(tree)
        while pos < size:
            tree[pos] += delta
            pos += pos & -pos

    def iter_after(self, key: K) -> Iterator[K]:
        """Keys strictly greater than ``key``, in order."""
        pos = bisect_right(self._maxes, key)
        if pos == len(self._lists):
            return
        sub = self._lists[pos]
        yield from sub[bisect_right(sub, key) :]
        for later in self._lists[pos + 1 :]:
            yield from later
