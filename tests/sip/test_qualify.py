"""Qualify (OPTIONS pinging) schedule and reachability, with literal `now` values."""

from __future__ import annotations

import pytest

from sip.qualify import ContactReachable, ContactUnreachable, Qualifier, Reachability

A = ("sip:1001@12345.hotline.gov.cn", "sip:1001@192.168.1.20:5060")
B = ("sip:1002@12345.hotline.gov.cn", "sip:1002@192.168.1.21:5060")


def test_first_ping_is_due_at_once_then_every_interval() -> None:
    q: Qualifier[tuple[str, str]] = Qualifier(interval=30.0, timeout=40.0)
    q.add(A, 0.0)
    assert q.next_deadline() == 0.0
    assert q.due(0.0) == [A]
    assert q.due(0.0) == []  # in flight: not due twice
    assert q.next_deadline() == 40.0  # its timeout
    assert q.result(A, True, 0.25) == [ContactReachable(contact_key=A, rtt=0.25)]
    assert q.state(A) is Reachability.REACHABLE
    assert q.next_deadline() == 30.25
    assert q.due(30.0) == []
    assert q.due(30.25) == [A]
    assert q.result(A, True, 30.5) == []  # still reachable: no event


def test_any_response_counts_so_ok_true_after_unreachable_recovers() -> None:
    q: Qualifier[tuple[str, str]] = Qualifier()
    q.add(A, 0.0)
    q.due(0.0)
    assert q.result(A, False, 32.0) == [ContactUnreachable(contact_key=A, failures=1)]
    assert q.state(A) is Reachability.UNREACHABLE
    q.due(62.0)
    assert q.result(A, False, 94.0) == []  # already unreachable: reported once
    q.due(124.0)
    # e.g. the softphone answered 405 Method Not Allowed: alive all the same.
    assert q.result(A, True, 124.5) == [ContactReachable(contact_key=A, rtt=0.5)]


def test_two_failures_needed_when_configured() -> None:
    q: Qualifier[str] = Qualifier(interval=30.0, max_failures=2)
    q.add("a", 0.0)
    q.due(0.0)
    assert q.result("a", False, 32.0) == []
    assert q.state("a") is Reachability.UNKNOWN
    q.due(62.0)
    assert q.result("a", False, 94.0) == [ContactUnreachable(contact_key="a", failures=2)]


def test_a_success_resets_the_failure_count() -> None:
    q: Qualifier[str] = Qualifier(interval=30.0, max_failures=2)
    q.add("a", 0.0)
    for now, ok in [(0.0, False), (30.0, True), (60.0, False)]:
        q.due(now)
        q.result("a", ok, now + 1.0)
    assert q.state("a") is Reachability.REACHABLE


def test_unreported_ping_times_out_by_timer() -> None:
    q: Qualifier[str] = Qualifier(interval=30.0, timeout=40.0)
    q.add("a", 0.0)
    assert q.due(0.0) == ["a"]
    q.add("b", 5.0)
    assert q.due(5.0) == ["b"]
    assert q.handle_timer(39.9) == []
    assert q.handle_timer(40.0) == [ContactUnreachable(contact_key="a", failures=1)]
    assert q.handle_timer(45.0) == [ContactUnreachable(contact_key="b", failures=1)]
    assert q.next_deadline() == 70.0  # a's next ping (b's is 75)


def test_remove_forgets_and_late_result_is_ignored() -> None:
    q: Qualifier[tuple[str, str]] = Qualifier()
    q.add(A, 0.0)
    q.add(B, 0.0)
    q.due(0.0)
    q.remove(A)
    assert A not in q and len(q) == 1
    assert q.result(A, True, 1.0) == []
    q.remove(B)
    assert q.next_deadline() is None


def test_re_adding_keeps_schedule_and_state() -> None:
    q: Qualifier[str] = Qualifier(interval=30.0)
    q.add("a", 0.0)
    q.due(0.0)
    q.result("a", True, 1.0)
    q.add("a", 10.0)  # registration refreshed
    assert q.state("a") is Reachability.REACHABLE
    assert q.next_deadline() == 31.0


def test_bad_configuration_is_rejected() -> None:
    with pytest.raises(ValueError):
        Qualifier(interval=0)
