"""Events stay frozen, slotted, keyword-only dataclasses; the router's positional
hot-path constructors build exactly what the keyword constructors build."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from queueing import (
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallCompleted,
    CallOffered,
    CallQueued,
    OfferCall,
    OfferEnded,
    OfferEndReason,
)
from queueing import events as ev

CASES = [
    (ev.new_agent_state_changed, AgentStateChanged,
     {"agent_id": "a1", "old": AgentState.IDLE, "new": AgentState.RESERVED, "call_id": "c1",
      "at": 1.0}),
    (ev.new_call_queued, CallQueued,
     {"call_id": "c1", "queue": "q", "priority": 2, "position": 3, "overflowed_from": None,
      "at": 1.5}),
    (ev.new_call_offered, CallOffered,
     {"call_id": "c1", "queue": "q", "agent_id": "a1", "attempt": 1, "at": 2.0}),
    (ev.new_offer_call, OfferCall,
     {"call_id": "c1", "agent_id": "a1", "queue": "q", "ring_timeout": 15.0}),
    (ev.new_offer_ended, OfferEnded,
     {"call_id": "c1", "queue": "q", "agent_id": "a1", "reason": OfferEndReason.ANSWERED,
      "ring_seconds": 3.0, "at": 5.0}),
    (ev.new_call_answered, CallAnswered,
     {"call_id": "c1", "queue": "q", "agent_id": "a1", "wait_seconds": 4.0,
      "ring_seconds": 3.0, "at": 5.0}),
    (ev.new_call_completed, CallCompleted,
     {"call_id": "c1", "queue": "q", "agent_id": "a1", "talk_seconds": 60.0, "at": 65.0}),
]  # fmt: skip


@pytest.mark.parametrize(("make", "cls", "kw"), CASES)
def test_positional_constructor_matches_keywords(make, cls, kw) -> None:  # type: ignore[no-untyped-def]
    built = make(*kw.values())
    expected = cls(**kw)
    assert type(built) is cls
    assert built == expected and hash(built) == hash(expected) and repr(built) == repr(expected)
    assert [f.name for f in dataclasses.fields(cls)] == list(kw)
    assert pickle.loads(pickle.dumps(built)) == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, next(iter(kw)), "changed")
    with pytest.raises(TypeError):
        cls(*kw.values())  # keyword-only
    with pytest.raises(TypeError):
        cls(**dict(list(kw.items())[:-1]))  # every field required
