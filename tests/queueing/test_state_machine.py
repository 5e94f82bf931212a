"""Hypothesis state machine over the routing core.

Random arrivals, agent status changes, answers, refusals, hang-ups and clock advances;
after every step the invariants of issue 3 are checked, partly on the router's
snapshots and partly by replaying its event stream through an independent model:

- no agent holds two offers; every ringing agent is AVAILABLE and RESERVED;
- an offer goes only to an agent that was IDLE, AVAILABLE, a member of one of the
  call's pools and skilled for the call's current (relaxed) requirements;
- priority/FIFO: when call C is offered to agent X, X is eligible for no waiting call
  ranked better (priority, queue weight, wait) than C;
- work conservation: no idle available agent is eligible for a waiting call;
- every queue visit ends in exactly one outcome, and a call the router forgot has one;
- after a step that did not move the clock, no agent offered a call in that step is
  eligible for a caller still waiting that ranks better (checked on the final state,
  independently of the per-offer check in the stream).

Several agents freed in one dispatch pass is the case where routing has most room to
go wrong (a freed agent's best caller handed to another agent freed at the same
instant, who is owed an older caller). Random runs rarely produce it, so dedicated
rules do: a ring-all queue (``urgent``) whose callers ring several agents at once and
then end (hang-up, failure, answer), and completing several calls at one ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from queueing import (
    AgentSpec,
    AgentState,
    AgentStateChanged,
    AgentStatus,
    AgentStatusChanged,
    CallAbandoned,
    CallAnswered,
    CallFailed,
    CallOverflowed,
    CallQueued,
    CallState,
    OfferCall,
    OfferEnded,
    OfferFailure,
    Outcome,
    QueueSpec,
    RelaxStep,
    RequirementsRelaxed,
    Router,
    RoutingError,
    Strategy,
    Tier,
    WhenNoAgents,
)

SKILLS = ("mandarin", "cantonese", "tax")
AGENT_SKILLS: dict[str, dict[str, int]] = {
    "a1": {"mandarin": 9, "tax": 5},
    "a2": {"mandarin": 3},
    "a3": {"mandarin": 6, "cantonese": 8},
    "a4": {"cantonese": 4, "tax": 9},
    "a5": {"mandarin": 7, "cantonese": 2, "tax": 2},
}
AGENT_QUEUES: dict[str, tuple[str, ...]] = {
    "a1": ("hotline", "urgent"),
    "a2": ("hotline", "general"),
    "a3": ("hotline", "tax", "urgent"),
    "a4": ("tax",),
    "a5": ("general", "tax", "urgent"),
}
PAUSE_REASONS = ("lunch", "training")
EXTRA_SKILLS = st.sampled_from([{}, {}, {"cantonese": 3}, {"tax": 8}])
CALLS = st.tuples(
    st.sampled_from(["hotline", "tax", "general", "urgent"]), st.integers(0, 2), EXTRA_SKILLS
)
# Callers queueing behind a ring-all call, in two groups: first callers with a skill
# only some of the ringing agents hold, then callers any of them can take. The agents
# freed together are then owed different callers.
CALLS_SKILLED = st.tuples(
    st.sampled_from(["urgent", "urgent", "hotline", "tax"]),
    st.sampled_from([0, 0, 1]),
    st.sampled_from([{"cantonese": 3}, {"cantonese": 3}, {"tax": 5}]),
)
CALLS_PLAIN = st.tuples(
    st.sampled_from(["urgent", "urgent", "hotline", "general"]), st.just(0), st.just({})
)


@dataclass
class Tracked:
    """The test's own view of a call, built only from the event stream."""

    queue: str
    priority: int
    arrived: float
    seq: int
    requirements: dict[str, int] = field(default_factory=dict)
    pools: tuple[str, ...] = ()
    ringing: set[str] = field(default_factory=set)
    outcomes: list[list[Outcome | None]] = field(default_factory=list)
    answered: bool = False


def _meets(skills: Mapping[str, int], requirements: Mapping[str, int]) -> bool:
    return all(skills.get(s, 0) >= level for s, level in requirements.items())


class RouterMachine(RuleBasedStateMachine):
    @initialize(
        strategy=st.sampled_from(list(Strategy)),
        weights=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
        no_answer_delay=st.sampled_from([0.0, 5.0]),
        wrapup=st.sampled_from([0.0, 10.0]),
        max_no_answers=st.integers(0, 2),
        seed=st.integers(0, 3),
        logged_in=st.sampled_from([True, True, True, False]),
    )
    def setup(
        self,
        strategy: Strategy,
        weights: tuple[int, int, int],
        no_answer_delay: float,
        wrapup: float,
        max_no_answers: int,
        seed: int,
        logged_in: bool,
    ) -> None:
        common = {
            "strategy": strategy,
            "ring_timeout": 8.0,
            "wrapup_seconds": wrapup,
            "no_answer_delay": no_answer_delay,
            "reject_delay": no_answer_delay / 2,
            "max_no_answers": max_no_answers,
        }
        self.queues = {
            "hotline": QueueSpec(
                name="hotline", required_skills={"mandarin": 6}, weight=weights[0],
                relaxation=(
                    RelaxStep(after_seconds=10.0, set_level={"mandarin": 3}),
                    RelaxStep(after_seconds=25.0, add_queues=("general",)),
                ),
                max_wait=90.0, overflow_target="general", **common,
            ),
            "tax": QueueSpec(
                name="tax", required_skills={"tax": 5}, weight=weights[1],
                relaxation=(RelaxStep(after_seconds=15.0, drop_skills=("tax",)),),
                when_no_agents=WhenNoAgents.OVERFLOW, overflow_target="sip:vm@pbx",
                **common,
            ),
            "general": QueueSpec(name="general", weight=weights[2], **common),
        }
        # Always ring-all, whatever the strategy of the others: its calls ring several
        # agents at once, and ending such a call frees them in one dispatch pass.
        self.queues["urgent"] = QueueSpec(
            name="urgent", required_skills={"mandarin": 6}, weight=weights[0],
            **{**common, "strategy": Strategy.RING_ALL},
        )  # fmt: skip
        agents = [
            AgentSpec(id=a, skills=AGENT_SKILLS[a],
                      tiers={q: Tier(level=1, position=i) for q in AGENT_QUEUES[a]})
            for i, a in enumerate(sorted(AGENT_SKILLS))
        ]
        self.router = Router(self.queues.values(), agents, PAUSE_REASONS, seed=seed)
        self.now = 0.0
        self.seq = 0
        self.calls: dict[str, Tracked] = {}
        self.status = dict.fromkeys(AGENT_SKILLS, AgentStatus.LOGGED_OUT)
        self.state = dict.fromkeys(AGENT_SKILLS, AgentState.IDLE)
        if logged_in:  # skip the logins: deeper runs reach busy, shared agents sooner
            for agent_id in sorted(AGENT_SKILLS):
                self.router.agent_login(agent_id, self.now)
            self._pump()

    # --- helpers ---------------------------------------------------------------------

    def _pump(self, *, clock_moved: bool = False) -> None:
        """Observe the step's output; remember the step's offers for the invariants."""
        self.step_offers = []
        self.clock_moved = clock_moved
        for out in self.router.drain():
            self._observe(out)

    def _observe(self, out: object) -> None:
        if isinstance(out, CallQueued):
            t = self.calls[out.call_id]
            if t.outcomes:
                assert t.outcomes[-1] == [Outcome.OVERFLOWED], t.outcomes
            t.outcomes.append([])
            t.queue = out.queue
            spec = self.queues[out.queue]
            t.requirements = dict(spec.required_skills)
            for skill, level in self.extra.get(out.call_id, {}).items():
                t.requirements[skill] = max(level, t.requirements.get(skill, 0))
            t.pools = (out.queue,)
        elif isinstance(out, RequirementsRelaxed):
            t = self.calls[out.call_id]
            t.requirements, t.pools = dict(out.requirements), out.pools
        elif isinstance(out, AgentStatusChanged):
            assert self.status[out.agent_id] is out.old
            self.status[out.agent_id] = out.new
        elif isinstance(out, AgentStateChanged):
            assert self.state[out.agent_id] is out.old
            if out.new is AgentState.RESERVED:
                assert out.old is AgentState.IDLE
                assert self.status[out.agent_id] is AgentStatus.AVAILABLE
            self.state[out.agent_id] = out.new
        elif isinstance(out, OfferCall):
            self._check_offer(out)
            self.calls[out.call_id].ringing.add(out.agent_id)
            self.step_offers.append((out.call_id, out.agent_id))
        elif isinstance(out, OfferEnded):
            self.calls[out.call_id].ringing.remove(out.agent_id)
        elif isinstance(out, CallAnswered | CallAbandoned | CallOverflowed | CallFailed):
            outcome = {
                CallAnswered: Outcome.ANSWERED, CallAbandoned: Outcome.ABANDONED,
                CallOverflowed: Outcome.OVERFLOWED, CallFailed: Outcome.FAILED,
            }[type(out)]
            visit = self.calls[out.call_id].outcomes[-1]
            assert visit == [], f"second outcome {outcome} for {out.call_id}: {visit}"
            visit.append(outcome)
            self.calls[out.call_id].answered = outcome is Outcome.ANSWERED

    def _rank(self, t: Tracked) -> tuple[int, int, float, int]:
        return (-t.priority, -self.queues[t.queue].weight, t.arrived, t.seq)

    def _eligible(self, agent_id: str, t: Tracked) -> bool:
        return bool(set(AGENT_QUEUES[agent_id]) & set(t.pools)) and _meets(
            AGENT_SKILLS[agent_id], t.requirements
        )

    def _check_offer(self, offer: OfferCall) -> None:
        t = self.calls[offer.call_id]
        assert t.outcomes and t.outcomes[-1] == [], "offer for a finished call"
        assert self.state[offer.agent_id] is AgentState.RESERVED
        assert self._eligible(offer.agent_id, t), (offer, t)
        # waiting *at this point of the stream*: open visit, nothing ringing
        for other_id, other in self.calls.items():
            if other.ringing or not other.outcomes or other.outcomes[-1] != []:
                continue
            if other_id != offer.call_id and self._rank(other) < self._rank(t):
                assert not self._eligible(offer.agent_id, other), (
                    f"{offer.agent_id} got {offer.call_id} while better {other_id} waits"
                )

    # --- rules -----------------------------------------------------------------------

    def _arrive(self, queue: str, priority: int, extra: dict[str, int]) -> str:
        self.seq += 1
        call_id = f"c{self.seq}"
        self.extra[call_id] = extra
        self.calls[call_id] = Tracked(queue, priority, self.now, self.seq)
        self.router.call_arrived(call_id, queue, self.now, priority=priority,
                                 extra_skills=extra)
        return call_id

    @rule(call=CALLS)
    def arrive(self, call: tuple[str, int, dict[str, int]]) -> None:
        self._arrive(*call)
        self._pump()

    @rule(
        data=st.data(),
        skilled=st.lists(CALLS_SKILLED, min_size=1, max_size=2),
        plain=st.lists(CALLS_PLAIN, min_size=1, max_size=2),
        how=st.sampled_from(["left", "failed", "answered"]),
    )
    def ring_several_then_free_them_together(
        self,
        data: st.DataObject,
        skilled: list[tuple[str, int, dict[str, int]]],
        plain: list[tuple[str, int, dict[str, int]]],
        how: str,
    ) -> None:
        """A caller of the ring-all queue rings every eligible idle agent; more callers
        queue behind; then the first call ends (hang-up, failure, or one agent answers)
        and every other agent it rang is freed in one dispatch pass, all at one ``now``."""
        first = self._arrive("urgent", 0, {})
        self._pump()
        for call in skilled + plain:
            self._arrive(*call)
            self._pump()
        live = {c.call_id: c for c in self.router.call_views()}
        ringing = live[first].offered_to if first in live else ()
        if ringing:
            if how == "left":
                self.router.caller_left(first, self.now)
            elif how == "failed":
                self.router.call_failed(first, "media", self.now)
            else:
                self.router.offer_answered(first, data.draw(st.sampled_from(ringing)), self.now)
        self._pump()

    @rule(agent_id=st.sampled_from(sorted(AGENT_SKILLS)),
          action=st.sampled_from(["login", "logout", "pause", "available", "end_wrapup",
                                  "lost", "found"]),
          reason=st.sampled_from(PAUSE_REASONS))
    def agent_action(self, agent_id: str, action: str, reason: str) -> None:
        r = self.router
        commands = {
            "login": lambda: r.agent_login(agent_id, self.now),
            "logout": lambda: r.agent_logout(agent_id, self.now),
            "pause": lambda: r.agent_pause(agent_id, reason, self.now),
            "available": lambda: r.agent_available(agent_id, self.now),
            "end_wrapup": lambda: r.agent_end_wrapup(agent_id, self.now),
            "lost": lambda: r.agent_reachable(agent_id, False, self.now),
            "found": lambda: r.agent_reachable(agent_id, True, self.now),
        }
        try:
            commands[action]()
        except RoutingError as err:
            assert err.code == "invalid_transition"
        self._pump()

    def _ringing(self) -> list[tuple[str, str]]:
        return sorted((c.call_id, a) for c in self.router.call_views() for a in c.offered_to)

    @precondition(lambda self: bool(self._ringing()))
    @rule(data=st.data(), how=st.sampled_from(["answer", "answer", *OfferFailure]))
    def offer_outcome(self, data: st.DataObject, how: str | OfferFailure) -> None:
        call_id, agent_id = data.draw(st.sampled_from(self._ringing()))
        if isinstance(how, OfferFailure):
            self.router.offer_failed(call_id, agent_id, how, self.now)
        else:
            self.router.offer_answered(call_id, agent_id, self.now)
        self._pump()

    @precondition(lambda self: any(c.state is CallState.ANSWERED
                                   for c in self.router.call_views()))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        answered = [c.call_id for c in self.router.call_views() if c.state is CallState.ANSWERED]
        self.router.call_completed(data.draw(st.sampled_from(answered)), self.now)
        self._pump()

    @precondition(
        lambda self: sum(c.state is CallState.ANSWERED for c in self.router.call_views()) >= 2
    )
    @rule(data=st.data())
    def complete_several_at_once(self, data: st.DataObject) -> None:
        """Several bridged calls end at the same ``now``: several agents freed together."""
        answered = [c.call_id for c in self.router.call_views() if c.state is CallState.ANSWERED]
        ending = data.draw(
            st.lists(st.sampled_from(answered), min_size=2, max_size=3, unique=True)
        )
        for call_id in ending:
            self.router.call_completed(call_id, self.now)
        self._pump()

    def _multi_ringing(self) -> list[str]:
        return [c.call_id for c in self.router.call_views() if len(c.offered_to) >= 2]

    @precondition(lambda self: bool(self._multi_ringing()))
    @rule(data=st.data(), how=st.sampled_from(["left", "failed", "answered"]))
    def end_call_ringing_on_several(self, data: st.DataObject, how: str) -> None:
        """Every ringing agent of the call is freed in one dispatch pass (all of them
        when the caller leaves, all but one when one answers)."""
        call_id = data.draw(st.sampled_from(self._multi_ringing()))
        if how == "left":
            self.router.caller_left(call_id, self.now)
        elif how == "failed":
            self.router.call_failed(call_id, "media", self.now)
        else:
            ringing = self.router.call_view(call_id).offered_to
            self.router.offer_answered(call_id, data.draw(st.sampled_from(ringing)), self.now)
        self._pump()

    @precondition(
        lambda self: any(v.state is AgentState.WRAP_UP for v in self.router.agent_views())
    )
    @rule()
    def end_wrapups_together(self) -> None:
        """Every agent resting (wrap-up / delay) ends it at the same ``now``, in one
        command each, before any other timer moves the clock."""
        for view in self.router.agent_views():
            if view.state is AgentState.WRAP_UP:
                self.router.agent_end_wrapup(view.agent_id, self.now)
        self._pump()

    @precondition(lambda self: any(c.state is not CallState.ANSWERED
                                   for c in self.router.call_views()))
    @rule(data=st.data(), fail=st.booleans())
    def hang_up(self, data: st.DataObject, fail: bool) -> None:
        waiting = [c.call_id for c in self.router.call_views()
                   if c.state is not CallState.ANSWERED]
        call_id = data.draw(st.sampled_from(waiting))
        if fail:
            self.router.call_failed(call_id, "media", self.now)
        else:
            self.router.caller_left(call_id, self.now)
        self._pump()

    @rule(dt=st.sampled_from([0.5, 3.0, 8.0, 20.0]))
    def advance(self, dt: float) -> None:
        self.now += dt
        self.router.handle_timer(self.now)
        self._pump(clock_moved=True)

    @precondition(lambda self: self.router.next_deadline() is not None)
    @rule()
    def to_next_deadline(self) -> None:
        deadline = self.router.next_deadline()
        assert deadline is not None and deadline >= self.now
        self.now = deadline
        self.router.handle_timer(self.now)
        self._pump(clock_moved=True)

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def snapshots_agree_with_stream(self) -> None:
        for view in self.router.agent_views():
            assert view.status is self.status[view.agent_id]
            assert view.state is self.state[view.agent_id]

    @invariant()
    def one_offer_per_agent_and_only_to_available_reserved(self) -> None:
        holders: dict[str, str] = {}
        for call in self.router.call_views():
            for agent_id in call.offered_to:
                assert agent_id not in holders, f"{agent_id} rings for two calls"
                holders[agent_id] = call.call_id
        for view in self.router.agent_views():
            if view.agent_id in holders:
                assert view.state is AgentState.RESERVED
                assert view.status is AgentStatus.AVAILABLE and view.reachable
                assert view.call_id == holders[view.agent_id]
            else:
                assert view.state is not AgentState.RESERVED

    @invariant()
    def work_conservation(self) -> None:
        idle = [v.agent_id for v in self.router.agent_views()
                if v.status is AgentStatus.AVAILABLE and v.state is AgentState.IDLE]
        for call in self.router.call_views():
            if call.state is CallState.WAITING:
                t = self.calls[call.call_id]
                assert dict(call.requirements) == t.requirements and call.pools == t.pools
                for agent_id in idle:
                    assert not self._eligible(agent_id, t), (
                        f"idle {agent_id} and waiting {call.call_id}"
                    )

    @invariant()
    def offers_of_the_step_respect_priority(self) -> None:
        """On the state after the step: an agent offered a call in this step is eligible
        for no caller still waiting that ranks better. Only after steps that did not
        move the clock: a timer may relax a caller's requirements after an offer made
        earlier in the same step."""
        if self.clock_moved:
            return
        waiting = [
            (call_id, t) for call_id, t in self.calls.items()
            if not t.ringing and t.outcomes and t.outcomes[-1] == []
        ]  # fmt: skip
        for call_id, agent_id in self.step_offers:
            t = self.calls[call_id]
            if agent_id not in t.ringing:
                continue  # the offer already ended within the step
            for other_id, other in waiting:
                if self._rank(other) < self._rank(t):
                    assert not self._eligible(agent_id, other), (
                        f"{agent_id} took {call_id} in this step; better {other_id} still waits"
                    )

    @invariant()
    def exactly_one_outcome_per_visit(self) -> None:
        live = {c.call_id: c for c in self.router.call_views()}
        for call_id, t in self.calls.items():
            assert all(len(v) == 1 for v in t.outcomes[:-1])
            assert all(v == [Outcome.OVERFLOWED] for v in t.outcomes[:-1])
            if call_id in live:
                expected = [Outcome.ANSWERED] if live[call_id].state is CallState.ANSWERED else []
                assert t.outcomes[-1] == expected
            else:
                assert len(t.outcomes[-1]) == 1, (call_id, t.outcomes)

    @invariant()
    def positions_are_a_permutation(self) -> None:
        by_queue: dict[str, list[int]] = {}
        for call in self.router.call_views():
            if call.position is not None:
                by_queue.setdefault(call.queue, []).append(call.position)
        for positions in by_queue.values():
            assert sorted(positions) == list(range(1, len(positions) + 1))

    extra: dict[str, dict[str, int]]
    step_offers: list[tuple[str, str]]
    clock_moved: bool

    def __init__(self) -> None:
        super().__init__()
        self.extra = {}
        self.step_offers = []
        self.clock_moved = False


# 300 examples: with 150, a dispatch that hands a freed agent's best caller to another
# agent freed in the same pass was caught in ~90 % of fresh runs, with 300 in all of 20.
RouterMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRouterMachine = RouterMachine.TestCase
