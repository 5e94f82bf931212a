"""acd.runtime.settle_heap: what `acd serve` does to the collector once started."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from acd.runtime import GC_THRESHOLDS, settle_heap
before = gc.get_freeze_count()
settle_heap()
print(before, gc.get_freeze_count() > 10_000, gc.get_threshold() == GC_THRESHOLDS)
"""


def test_settle_heap_freezes_start_up_objects_and_raises_thresholds() -> None:
    # In a child process: freezing pytest's own heap would outlive this test.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["0", "True", "True"]
