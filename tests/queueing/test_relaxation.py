"""Relaxation steps as data: applied at their deadlines, never by rescanning."""

from __future__ import annotations

from queueing import RelaxStep, RequirementsRelaxed

from .helpers import agent, of, offers, queue, router

STEPS = (
    RelaxStep(after_seconds=20.0, set_level={"mandarin": 1}),
    RelaxStep(after_seconds=45.0, drop_skills=("city_management",)),
    RelaxStep(after_seconds=90.0, add_queues=("general",)),
)


def _router():  # type: ignore[no-untyped-def]
    return router(
        [
            queue("city", required_skills={"mandarin": 6, "city_management": 3},
                  relaxation=STEPS),
            queue("general"),
        ],
        [
            agent("weak_mandarin", {"mandarin": 2, "city_management": 5}, queues=("city",)),
            agent("no_city", {"mandarin": 9}, queues=("city",)),
            agent("gen", {"mandarin": 1}, queues=("general",)),
        ],
        login=False,
    )


def test_steps_fire_at_their_deadlines_and_widen_eligibility() -> None:
    r = _router()
    r.call_arrived("c1", "city", 100.0)
    r.agent_login("gen", 100.0)
    r.drain()
    assert r.next_deadline() == 120.0

    r.agent_login("no_city", 110.0)
    assert offers(r.drain()) == []  # lacks city_management

    r.handle_timer(119.9)
    assert r.drain() == []
    r.agent_login("weak_mandarin", 119.95)
    assert offers(r.drain()) == []  # mandarin 2 < 6 until 120
    r.agent_logout("weak_mandarin", 119.97)
    r.drain()

    r.handle_timer(120.0)
    (relaxed,) = of(r.drain(), RequirementsRelaxed)
    assert dict(relaxed.requirements) == {"mandarin": 1, "city_management": 3}
    assert r.next_deadline() == 145.0

    r.handle_timer(145.0)
    out = r.drain()
    assert dict(of(out, RequirementsRelaxed)[0].requirements) == {"mandarin": 1}
    assert offers(out) == [("c1", "no_city")]


def test_added_queue_agents_get_the_call_after_90s() -> None:
    r = _router()
    r.agent_login("gen", 0.0)
    r.call_arrived("c1", "city", 0.0)
    r.handle_timer(89.0)
    assert offers(r.drain()) == []
    r.handle_timer(90.0)
    out = r.drain()
    assert of(out, RequirementsRelaxed)[-1].pools == ("city", "general")
    assert offers(out) == [("c1", "gen")]


def test_relaxation_counts_from_queue_entry_and_step_at_zero_applies_at_once() -> None:
    r = router(
        [queue(required_skills={"tax": 9},
               relaxation=(RelaxStep(after_seconds=0.0, set_level={"tax": 2}),))],
        [agent("a1", {"tax": 2})],
    )
    r.call_arrived("c1", "main", 50.0)
    assert offers(r.drain()) == [("c1", "a1")]


def test_own_queue_agents_are_preferred_over_added_pools() -> None:
    r = router(
        [queue("city", relaxation=(RelaxStep(after_seconds=0.0, add_queues=("general",)),)),
         queue("general")],
        [agent("gen", queues=("general",)), agent("own", queues=("city",))],
        now=0.0,
    )
    r.call_arrived("c1", "city", 10.0)
    assert offers(r.drain()) == [("c1", "own")]
