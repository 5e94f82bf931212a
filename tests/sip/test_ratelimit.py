"""FailureLimiter: sliding window with literal times, bounded memory."""

from __future__ import annotations

import pytest

from sip.ratelimit import FailureLimiter


def test_blocks_at_max_failures_within_window() -> None:
    lim = FailureLimiter(max_failures=3, window_seconds=60.0)
    lim.record_failure("10.0.0.5", 0.0)
    lim.record_failure("10.0.0.5", 10.0)
    assert not lim.is_blocked("10.0.0.5", 10.0)
    assert lim.retry_after("10.0.0.5", 10.0) == 0.0
    lim.record_failure("10.0.0.5", 20.0)
    assert lim.is_blocked("10.0.0.5", 20.0)
    assert lim.retry_after("10.0.0.5", 20.0) == 40.0  # first failure leaves at 60.0
    assert lim.is_blocked("10.0.0.5", 59.9)
    assert not lim.is_blocked("10.0.0.5", 60.0)
    assert lim.retry_after("10.0.0.5", 60.0) == 0.0
    assert not lim.is_blocked("10.0.0.6", 20.0)  # other sources unaffected


def test_failures_spread_out_never_block() -> None:
    lim = FailureLimiter(max_failures=3, window_seconds=60.0)
    for t in (0.0, 31.0, 62.0, 93.0, 124.0):
        lim.record_failure("a", t)
        assert not lim.is_blocked("a", t)


def test_sliding_window_retry_after_uses_oldest_in_window() -> None:
    lim = FailureLimiter(max_failures=2, window_seconds=30.0)
    for t in (0.0, 10.0, 20.0):
        lim.record_failure("a", t)
    assert lim.retry_after("a", 20.0) == 20.0  # failures at 10 and 20; 10 leaves at 40


def test_success_clears() -> None:
    lim = FailureLimiter(max_failures=1, window_seconds=30.0)
    lim.record_failure("a", 0.0)
    assert lim.is_blocked("a", 1.0)
    lim.record_success("a")
    assert not lim.is_blocked("a", 1.0)


def test_memory_bounded_and_pruned() -> None:
    lim = FailureLimiter(max_failures=5, window_seconds=10.0, max_sources=3)
    for i in range(10):
        lim.record_failure(f"s{i}", float(i))
    assert len(lim) == 3
    assert not lim.is_blocked("s0", 9.0)
    for _ in range(100):
        lim.record_failure("s9", 9.0)
    assert lim._failures["s9"].maxlen == 5 and len(lim._failures["s9"]) == 5
    lim.record_failure("new", 100.0)  # everything else has left the window
    assert len(lim) == 1


def test_rejects_bad_config() -> None:
    with pytest.raises(ValueError):
        FailureLimiter(max_failures=0, window_seconds=10.0)
    with pytest.raises(ValueError):
        FailureLimiter(max_failures=1, window_seconds=0.0)


def test_limit_keys_cover_every_named_account() -> None:
    from sip.ratelimit import limit_keys

    assert limit_keys("10.0.0.9", "1001", "1001") == ["10.0.0.9|1001"]
    assert limit_keys("10.0.0.9", "2001", "1001") == ["10.0.0.9|1001", "10.0.0.9|2001"]
    assert limit_keys("10.0.0.9", "2001", None) == ["10.0.0.9|2001"]
    limiter = FailureLimiter(2, 60.0)
    keys = limit_keys("10.0.0.9", "2001", "1001")
    limiter.record_failures(keys, 0.0)
    limiter.record_failures(["10.0.0.9|1001"], 1.0)
    assert limiter.blocked_for(["10.0.0.9|2002", "10.0.0.9|1001"], 2.0) == 58.0
    assert limiter.blocked_for(["10.0.0.9|2001"], 2.0) is None
    limiter.record_successes(keys)
    assert limiter.blocked_for(keys, 2.0) is None
