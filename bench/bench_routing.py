"""Routing cost of the pure router: per input event and per routing decision.

    python bench/bench_routing.py [--ops N] [--repeat R] [--profile]

Set-up per size: 20 skills, one queue per skill (required level 1); each agent holds
3 distinct skills (levels 1-10) and is a member of those skills' queues; wrap-up 0.
Every agent is brought ON_CALL, then W callers are left waiting, spread over the
queues. The measured steady-state loop, repeated ``--ops`` times:

    call_completed(random busy call)   -> the freed agent takes the best waiting call
    offer_answered(that call, agent)   -> bridged
    call_arrived(new caller)           -> queued (keeps W waiting)

plus drain() after each command. "Per event" is the loop time over the commands fed;
"per decision" is the loop time over the OfferCall decisions produced.

Targets (docs): <= 20 us per decision at 1,000 agents / 10,000 waiting calls, and ten
times the size costs at most twice the time (agents x10 at a fixed W; W x100 may cost
up to 4x, i.e. 2x per decade).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queueing import (
    AgentSpec,
    AgentState,
    AgentStatus,
    CallAnswered,
    OfferCall,
    Output,
    QueueSpec,
    Router,
    Tier,
)

SKILLS = [f"skill{i:02d}" for i in range(20)]
SKILLS_PER_AGENT = 3
TARGET_DECISION_US = 20.0
SIZES_AGENTS = (60, 1_000, 10_000)
SIZES_WAITING = (100, 10_000)


@dataclass(kw_only=True)
class Row:
    agents: int
    waiting: int
    setup_s: float
    us_per_event: float  # router time over every command fed (incl. drain)
    us_decision_cmd: float  # call_completed: the command that makes the decision
    us_answer: float
    us_arrive: float
    us_per_decision: float  # all router time over OfferCall decisions
    decisions_per_op: float


class Bench:
    def __init__(self, agents: int, waiting: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        queues = [QueueSpec(name=s, required_skills={s: 1}, ring_timeout=15.0) for s in SKILLS]
        specs = []
        for i in range(agents):
            skills = self.rng.sample(SKILLS, SKILLS_PER_AGENT)
            specs.append(
                AgentSpec(
                    id=f"a{i}",
                    skills={s: self.rng.randint(1, 10) for s in skills},
                    tiers={s: Tier() for s in skills},
                )
            )
        self.router = Router(queues, specs, seed=seed)
        self.now = 0.0
        self.n = 0
        self.busy: list[str] = []  # answered call ids (swap-remove)
        self.decisions = 0
        for spec in specs:
            self.router.agent_login(spec.id, self.now)
            view = self.router.agent_view(spec.id)
            if view.status is not AgentStatus.AVAILABLE:
                self.router.agent_available(spec.id, self.now)
        self._pump()
        # Fill every agent (one caller into a queue of each idle agent), then leave
        # `waiting` callers queued.
        for view in self.router.agent_views():
            if view.state is AgentState.IDLE:
                self._arrive(view.queues[0])
                self._pump()
        assert len(self.busy) == agents, (len(self.busy), agents)
        for _ in range(waiting):
            self._arrive()
            self._pump()
        self.decisions = 0

    def _tick(self) -> None:
        self.now += 0.001

    def _arrive(self, queue: str | None = None) -> None:
        self.n += 1
        self._tick()
        self.router.call_arrived(f"c{self.n}", queue or self.rng.choice(SKILLS), self.now)

    def _pump(self) -> None:
        """Answer every offer at once, until the router has nothing more to say."""
        while True:
            out = self.router.drain()
            if not out:
                return
            for o in out:
                if isinstance(o, OfferCall):
                    self.decisions += 1
                    self.router.offer_answered(o.call_id, o.agent_id, self.now)
                elif isinstance(o, CallAnswered):
                    self.busy.append(o.call_id)

    def _timed_answers(self, out: list[Output], timing: Timing) -> None:
        for o in out:
            if isinstance(o, OfferCall):
                timing.decisions += 1
                t0 = perf_counter()
                self.router.offer_answered(o.call_id, o.agent_id, self.now)
                answered = self.router.drain()
                timing.answer += perf_counter() - t0
                timing.commands += 1
                self.busy.extend(a.call_id for a in answered if isinstance(a, CallAnswered))

    def step(self, timing: Timing) -> None:
        """One loop iteration; only the router's own calls (command + drain) are timed."""
        i = self.rng.randrange(len(self.busy))
        call_id = self.busy[i]
        self.busy[i] = self.busy[-1]
        self.busy.pop()
        self._tick()
        t0 = perf_counter()
        self.router.call_completed(call_id, self.now)
        out = self.router.drain()
        timing.complete += perf_counter() - t0
        timing.commands += 1
        self._timed_answers(out, timing)

        self.n += 1
        self._tick()
        queue = self.rng.choice(SKILLS)
        t0 = perf_counter()
        self.router.call_arrived(f"c{self.n}", queue, self.now)
        out = self.router.drain()
        timing.arrive += perf_counter() - t0
        timing.commands += 1
        self._timed_answers(out, timing)


@dataclass
class Timing:
    complete: float = 0.0  # call_completed + drain: frees an agent and routes to it
    answer: float = 0.0  # offer_answered + drain
    arrive: float = 0.0  # call_arrived + drain: mostly enqueue (no agent idle)
    commands: int = 0
    decisions: int = 0

    @property
    def total(self) -> float:
        return self.complete + self.answer + self.arrive


def measure(agents: int, waiting: int, ops: int, repeat: int) -> Row:
    t0 = perf_counter()
    bench = Bench(agents, waiting)
    setup = perf_counter() - t0
    best: Timing | None = None
    for _ in range(repeat):
        timing = Timing()
        for _ in range(ops):
            bench.step(timing)
        if best is None or timing.total / timing.decisions < best.total / best.decisions:
            best = timing
    assert best is not None and best.decisions > 0
    us = 1e6
    return Row(
        agents=agents,
        waiting=waiting,
        setup_s=setup,
        us_per_event=best.total / best.commands * us,
        us_decision_cmd=best.complete / ops * us,
        us_answer=best.answer / best.decisions * us,
        us_arrive=best.arrive / ops * us,
        us_per_decision=best.total / best.decisions * us,
        decisions_per_op=best.decisions / ops,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5_000, help="loop iterations per repeat")
    parser.add_argument("--repeat", type=int, default=3, help="repeats; the best is kept")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the 1,000 agents / 10,000 waiting case and print the top functions",
    )
    args = parser.parse_args()

    if args.profile:
        bench = Bench(1_000, 10_000)
        timing = Timing()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.ops):
            bench.step(timing)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return 0

    rows: list[Row] = []
    header = (
        f"{'agents':>7} {'waiting':>8} {'setup s':>8} {'us/event':>9} {'complete':>9} "
        f"{'answer':>7} {'arrive':>7} {'us/decision':>12} {'dec/op':>7}"
    )
    print("router time per command incl. drain(), in microseconds (best of --repeat runs)")
    print("complete = call_completed, the command that routes the freed agent (the decision)")
    print(header)
    for agents in SIZES_AGENTS:
        for waiting in SIZES_WAITING:
            row = measure(agents, waiting, args.ops, args.repeat)
            rows.append(row)
            print(
                f"{row.agents:>7} {row.waiting:>8} {row.setup_s:>8.2f} {row.us_per_event:>9.2f} "
                f"{row.us_decision_cmd:>9.2f} {row.us_answer:>7.2f} {row.us_arrive:>7.2f} "
                f"{row.us_per_decision:>12.2f} {row.decisions_per_op:>7.2f}",
                flush=True,
            )

    by = {(r.agents, r.waiting): r for r in rows}
    ok = True
    print()
    for label, value in (
        ("decision command (call_completed)", by[(1_000, 10_000)].us_decision_cmd),
        ("all router time per decision", by[(1_000, 10_000)].us_per_decision),
    ):
        met = value <= TARGET_DECISION_US
        ok &= met
        print(
            f"target: <= {TARGET_DECISION_US:.0f} us at 1,000 agents / 10,000 waiting, {label}: "
            f"{value:.2f} us -> {'MET' if met else 'MISSED'}"
        )
    for waiting in SIZES_WAITING:
        ratio = by[(10_000, waiting)].us_per_decision / by[(1_000, waiting)].us_per_decision
        met = ratio <= 2.0
        ok &= met
        print(
            f"scaling: agents 1,000 -> 10,000 at {waiting:,} waiting: x{ratio:.2f} "
            f"(limit x2.00) -> {'MET' if met else 'MISSED'}"
        )
    for agents in SIZES_AGENTS:
        ratio = by[(agents, 10_000)].us_per_decision / by[(agents, 100)].us_per_decision
        met = ratio <= 4.0
        ok &= met
        print(
            f"scaling: waiting 100 -> 10,000 at {agents:,} agents: x{ratio:.2f} "
            f"(limit x4.00, x2 per decade) -> {'MET' if met else 'MISSED'}"
        )
    print(f"\nall targets {'MET' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
