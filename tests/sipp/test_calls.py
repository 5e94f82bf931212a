"""Issue 4 end to end: a PBX (sipp) calls the real `acd serve`; agents' phones (sipp UAS,
registered with digest) are rung, answer, refuse, hang up. Announce queues answer the caller
and bridge by RFC 3725 re-INVITE; ringback queues relay 180 and the agent's 200.

One ACD for the module (queues ``general`` 12345 announce, ``ringback`` 12346; trunk
127.0.0.1/32 only, so a caller bound to 127.0.0.2 is not a trunk). Every test takes fresh
agent ids and unregisters its phones when done, so no test sees another's agents.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests import pg
from tests.sipp.agents import (
    AgentPool,
    AgentSpec,
    SippRun,
    spawn_sipp,
    start_agents,
    wait_until,
)
from tests.sipp.harness import (
    RunningAcd,
    agent_password,
    make_config,
    require_sipp,
    run_sipp,
    running_acd,
    wait_for,
)
from tests.sipp.rtp import RtpReceiver, check_stream

pytestmark = pytest.mark.sipp

ANNOUNCE, RINGBACK = "12345", "12346"
MODES = {"announce": ANNOUNCE, "ringback": RINGBACK}
RING_TIMEOUT = 3.0
AGENTS = 200
MANUAL = {str(1001 + i) for i in range(AGENTS - 10, AGENTS)}  # no auto_available
_ids = itertools.count(1001)
_callers = itertools.count(13800000001)


def take_agents(n: int) -> list[str]:
    ids = [str(next(_ids)) for _ in range(n)]
    assert all(int(i) <= 1000 + AGENTS - 10 for i in ids), "out of agent ids"
    return ids


def calls_config(tmp: Path, database_url: str) -> Path:
    rtp_base = 61000 + (os.getpid() % 4) * 1000
    queue = {
        "skills": {"mandarin": 1},
        "ring_timeout": RING_TIMEOUT,
        "wrapup_seconds": 1,
        "max_no_answers": 0,
        "no_answer_delay": 1,
    }
    extra: dict[str, Any] = {
        "trunks": [{"name": "pbx", "sources": ["127.0.0.1/32"]}],
        "agents": [
            {
                "id": str(1001 + i),
                "name": f"Agent {1001 + i}",
                "password": agent_password(str(1001 + i)),
                "skills": {"mandarin": 5},
                "auto_available": str(1001 + i) not in MANUAL,
            }
            for i in range(AGENTS)
        ],
        "queues": [
            {"name": "general", "numbers": [ANNOUNCE], "media": "announce", **queue},
            {"name": "ringback", "numbers": [RINGBACK], "media": "ringback", **queue},
        ],
        "media": {
            "bind_host": "127.0.0.1",
            "port_min": rtp_base,
            "port_max": rtp_base + 998,
            "keepalive_interval": 0,
        },
    }
    return make_config(tmp, database_url, agents=0, extra=extra)


@pytest.fixture(scope="module")
def acd(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    require_sipp()
    tmp = tmp_path_factory.mktemp("acd-calls")
    with running_acd(calls_config(tmp, module_db), tmp) as running:
        yield running


# -- helpers -------------------------------------------------------------------------------
def place_call(
    acd: RunningAcd,
    work: Path,
    scenario: str,
    number: str,
    *,
    rtp_port: int = 9,
    agent: tuple[str, int] | None = None,
    bye_ms: int | None = None,
    cancel_ms: int | None = None,
    timeout: float = 40,
    **kwargs: Any,
) -> SippRun:
    variables = {"caller": str(next(_callers)), "rtp_port": str(rtp_port)}
    if scenario in ("pbx_call_announce", "pbx_call_ringback"):
        ip, port = agent or ("127.0.0.1", 0)
        variables |= {"agent_ip": ip, "agent_port": str(port) if agent else "any"}
    if bye_ms is not None:
        variables["bye_ms"] = str(bye_ms)
    if cancel_ms is not None:
        variables["cancel_ms"] = str(cancel_ms)
    return spawn_sipp(
        scenario, acd.sip(), work, service=number, variables=variables, timeout=timeout, **kwargs
    )


def ok(run: SippRun) -> None:
    result = run.wait()
    assert result.returncode == 0, run.explain()


def phones_ok(pool: AgentPool) -> None:
    for phone in pool:
        result = phone.wait(60)
        assert result.returncode == 0, phone.explain()


def acd_events(acd: RunningAcd, name: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in acd.events(name) if all(e.get(k) == v for k, v in match.items())]


def acd_call_id(acd: RunningAcd, run: SippRun) -> str:
    """The ACD's call id for the sipp caller's Call-ID (from ``call_started``)."""
    sip_call_id = run.events()[0].call_id
    started = acd_events(acd, "call_started", sip_call_id=sip_call_id)
    assert started, f"no call_started for {sip_call_id}"
    return str(started[0]["call_id"])


def only(events: list[Any], what: str) -> Any:
    assert len(events) == 1, f"{what}: {events}"
    return events[0]


# -- answered calls ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["announce", "ringback"])
def test_only_available_agent_answers_caller_hangs_up_first(
    acd: RunningAcd, work: Path, mode: str
) -> None:
    (agent,) = take_agents(1)
    spec = AgentSpec(agent, "answer", ring_ms=300, media_ip="127.0.0.9")
    with start_agents(acd, work, [spec]) as pool:
        phone = pool[agent]
        run = place_call(
            acd,
            work,
            f"pbx_call_{mode}",
            MODES[mode],
            agent=("127.0.0.9", phone.rtp_port),
            bye_ms=1500,
        )
        ok(run)
        phones_ok(pool)
    caller = {e.name: e for e in run.events()}
    agent_invite = only(phone.named("invite"), "agent INVITEs")
    # The agent's INVITE carries the caller's original offer and the caller's number.
    assert agent_invite.fields["offer"] == f"127.0.0.1:{run.events()[0].fields['rtp']}"
    assert agent_invite.fields["from_user"] == caller["invite"].fields["caller"]
    # Answered by the agent within 15 s (GB/T 33358): INVITE -> the caller talks to the agent.
    talking = caller["bridged"] if mode == "announce" else caller["answered"]
    assert talking.t - caller["invite"].t < 15.0
    assert caller["end"].fields["hangup"] == "caller"
    assert phone.named("end")[0].fields["hangup"] == "acd"
    call_id = acd_call_id(acd, run)
    ended = only(acd_events(acd, "call_ended", call_id=call_id), "call_ended")
    assert ended["hangup_by"] == "caller"
    assert ended["agent_id"] == agent


@pytest.mark.parametrize("mode", ["announce", "ringback"])
def test_agent_hangs_up_first_then_wraps_up(acd: RunningAcd, work: Path, mode: str) -> None:
    (agent,) = take_agents(1)
    spec = AgentSpec(agent, "hangup", ring_ms=200, hold_ms=800, calls=2)
    with start_agents(acd, work, [spec]) as pool:
        phone = pool[agent]
        first = place_call(
            acd,
            work,
            f"pbx_call_{mode}",
            MODES[mode],
            agent=("127.0.0.1", phone.rtp_port),
            bye_ms=0,
        )
        ok(first)
        # Wrap-up (1 s): the next call waits for it, then goes to the same agent.
        second = place_call(acd, work, f"pbx_call_{mode}", MODES[mode], bye_ms=0)
        ok(second)
        phones_ok(pool)
    ends = phone.named("end")
    assert [e.fields["hangup"] for e in ends] == ["agent", "agent"]
    assert {e.fields["hangup"] for n in (first, second) for e in n.named("end")} == {"acd"}
    call_id = acd_call_id(acd, first)
    assert only(acd_events(acd, "call_ended", call_id=call_id), "ended")["hangup_by"] == "agent"
    # The second offer came no earlier than wrap-up after the first call ended.
    invites = phone.named("invite")
    assert invites[1].t - ends[0].t >= 0.9, (invites[1].t, ends[0].t)


def test_reinvite_3pcc_checked_message_by_message(acd: RunningAcd, work: Path) -> None:
    """pbx_call_announce.xml checks in sipp: 200 with PCMU/PCMA and an RTP port; then the
    re-INVITE: same o= session id, version + 1, c=/m= the agent's (127.0.0.9:port)."""
    (agent,) = take_agents(1)
    spec = AgentSpec(agent, "answer", ring_ms=100, media_ip="127.0.0.9")
    with start_agents(acd, work, [spec]) as pool:
        run = place_call(
            acd,
            work,
            "pbx_call_announce",
            ANNOUNCE,
            agent=("127.0.0.9", pool[agent].rtp_port),
            bye_ms=500,
        )
        ok(run)
        phones_ok(pool)
    by = {e.name: e for e in run.events()}
    sess, ver = by["answered"].fields["sdp_o"].split("/")
    assert by["reinvite"].fields["sdp_o"] == f"{sess}/{int(ver) + 1}"
    assert by["reinvite"].fields["media"] == f"127.0.0.9:{pool[agent].rtp_port}"
    assert by["answered"].fields["pt"] in ("0", "8")


# -- callers who give up -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["announce", "ringback"])
def test_caller_gives_up_while_queued_and_is_never_bridged(
    acd: RunningAcd, work: Path, mode: str
) -> None:
    if mode == "announce":
        gone = place_call(acd, work, "pbx_abandon_announce", ANNOUNCE, bye_ms=1500)
    else:
        gone = place_call(acd, work, "pbx_cancel", RINGBACK, cancel_ms=0)
    ok(gone)
    gone_id = acd_call_id(acd, gone)
    ended = only(acd_events(acd, "call_ended", call_id=gone_id), "call_ended")
    assert ended["hangup_by"] == "caller"
    assert ended.get("agent_id") is None
    # An agent who becomes available afterwards gets the next caller, never the gone one.
    (agent,) = take_agents(1)
    with start_agents(acd, work, [AgentSpec(agent, "answer", ring_ms=100)]) as pool:
        after = place_call(acd, work, f"pbx_call_{mode}", MODES[mode], bye_ms=500)
        ok(after)
        phones_ok(pool)
    (invite,) = pool[agent].named("invite")
    assert invite.fields["from_user"] == after.events()[0].fields["caller"]
    assert not acd_events(acd, "agent_ringing", call_id=gone_id)


@pytest.mark.parametrize("mode", ["announce", "ringback"])
def test_caller_leaves_while_agent_rings_cancels_the_agent(
    acd: RunningAcd, work: Path, mode: str
) -> None:
    (agent,) = take_agents(1)
    with start_agents(acd, work, [AgentSpec(agent, "noanswer")]) as pool:
        if mode == "announce":
            run = place_call(acd, work, "pbx_abandon_announce", ANNOUNCE, bye_ms=1000)
        else:
            run = place_call(acd, work, "pbx_cancel", RINGBACK, cancel_ms=800)
        ok(run)
        phones_ok(pool)
    phone = pool[agent]
    (invite,) = phone.named("invite")
    (cancel,) = phone.named("cancel_in")
    assert cancel.t - invite.t < RING_TIMEOUT - 0.5, "CANCEL came from the ring timeout"
    assert only(phone.named("end"), "end").fields["outcome"] == "cancelled"


# -- the next agent --------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["announce", "ringback"])
@pytest.mark.parametrize("refusal", ["noanswer", "busy", "decline"])
def test_refused_or_unanswered_offer_rings_next_agent(
    acd: RunningAcd, work: Path, mode: str, refusal: str
) -> None:
    first, second = take_agents(2)
    with start_agents(acd, work, [AgentSpec(first, refusal)]) as pool:
        run = place_call(acd, work, f"pbx_call_{mode}", MODES[mode], bye_ms=800)
        wait_until(lambda: bool(pool[first].named("invite")), 15, f"agent {first} rung")
        phone2 = pool.start_phone(AgentSpec(second, "answer", ring_ms=100))
        pool.wait_listening([phone2])
        pool.register([phone2])
        ok(run)
        phones_ok(pool)
    a, b = pool[first], pool[second]
    first_end = only(a.named("end"), "first agent's call")
    if refusal == "noanswer":
        ring = a.named("cancel_in")[0].t - a.named("invite")[0].t
        assert RING_TIMEOUT - 0.3 <= ring <= RING_TIMEOUT + 1.0, ring
    else:
        assert first_end.fields["outcome"] == {"busy": "486", "decline": "603"}[refusal]
    assert only(b.named("end"), "second agent's call").fields["outcome"] == "answered"
    assert b.named("invite")[0].t >= first_end.t - 0.05


def test_agent_unregistered_while_ringing_is_cancelled(acd: RunningAcd, work: Path) -> None:
    first, second = take_agents(2)
    with start_agents(acd, work, [AgentSpec(first, "noanswer")]) as pool:
        run = place_call(acd, work, "pbx_call_ringback", RINGBACK, bye_ms=500)
        wait_until(lambda: bool(pool[first].named("invite")), 15, f"agent {first} rung")
        unregistered = pool.unregister(first)
        assert unregistered.returncode == 0, unregistered.explain()
        phone2 = pool.start_phone(AgentSpec(second, "answer", ring_ms=100))
        pool.wait_listening([phone2])
        pool.register([phone2])
        ok(run)
        phones_ok(pool)
    a = pool[first]
    ring = a.named("cancel_in")[0].t - a.named("invite")[0].t
    assert ring < RING_TIMEOUT - 0.5, (
        f"CANCEL after {ring:.2f}s: the ring timeout, not the unregister"
    )
    assert only(pool[second].named("end"), "second").fields["outcome"] == "answered"


# -- bad calls ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "number", "source", "status"),
    [
        ("pbx_unknown_number", "99999", "127.0.0.1", 404),
        ("pbx_bad_codec", ANNOUNCE, "127.0.0.1", 488),
        ("pbx_forbidden", ANNOUNCE, "127.0.0.2", 403),
    ],
    ids=["unknown-number-404", "g729-only-488", "not-a-trunk-403"],
)
def test_refused_calls(
    acd: RunningAcd, work: Path, scenario: str, number: str, source: str, status: int
) -> None:
    run = place_call(acd, work, scenario, number, extra=["-i", source])
    ok(run)
    sip_call_id = run.events()[0].call_id
    refused = [e for e in acd.events("call_refused") if e.get("status") == status]
    assert refused, f"no call_refused {status} in the ACD log"
    assert not acd_events(acd, "call_started", sip_call_id=sip_call_id)


# -- feature codes -----------------------------------------------------------------------
def agent_status(acd: RunningAcd, agent: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"{acd.http}/api/v1/agents/{agent}", timeout=5) as response:
        return dict(json.loads(response.read()))


def state_history(database: str, agent: str) -> list[dict[str, Any]]:
    """The agent's rows in agent_state_history, oldest first."""
    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT status, state, reason, source, actor FROM agent_state_history"
                " WHERE agent_id = $1 ORDER BY started_at, recorded_at", agent)
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    return pg._in_thread(fetch)


def test_feature_codes_change_status(acd: RunningAcd, work: Path, module_db: str) -> None:
    """Registration alone does not make this agent available (no auto_available); *21
    does, *22 pauses, *23 logs out: each checked by whether a waiting call rings it. In
    agent_state_history every status change is the phone's (actor: the digest username),
    the calls' intervals (on-call) the system's."""
    agent = sorted(MANUAL)[0]

    def dial(code: str) -> None:
        result = run_sipp(
            "agent_feature",
            acd.sip(),
            work,
            service=agent,
            auth=(agent, agent_password(agent)),
            variables={"code": code},
            timeout=20,
        )
        assert result.returncode == 0, result.explain()

    def queued_not_offered(run: SippRun) -> str:
        wait_until(lambda: bool(run.events()), 10, "the caller's INVITE")
        sip_call_id = run.events()[0].call_id

        def queued() -> bool:
            started = acd_events(acd, "call_started", sip_call_id=sip_call_id)
            return bool(started) and bool(
                acd_events(acd, "call_queued", call_id=started[0]["call_id"])
            )

        wait_until(queued, 10, "call_queued")
        call_id = acd_call_id(acd, run)
        # The router offers in the step that queues the call: no offer now means none.
        assert not acd_events(acd, "agent_ringing", call_id=call_id, agent_id=agent)
        return call_id

    with start_agents(acd, work, [AgentSpec(agent, "answer", ring_ms=100, calls=2)]) as pool:
        first = place_call(acd, work, "pbx_call_ringback", RINGBACK, bye_ms=300)
        queued_not_offered(first)  # registered, logged out
        dial("*21")  # log in (available): the waiting call rings now
        ok(first)
        dial("*22")  # pause
        second = place_call(acd, work, "pbx_call_ringback", RINGBACK, bye_ms=300)
        queued_not_offered(second)
        dial("*21")  # available again
        ok(second)
        dial("*23")  # log out
        third = place_call(acd, work, "pbx_cancel", RINGBACK, cancel_ms=0)
        third_id = queued_not_offered(third)
        ok(third)  # gave up after 1.5 s, never rung
        phones_ok(pool)
    requested = [e["action"] for e in acd_events(acd, "agent_status_requested", agent_id=agent)]
    assert requested == ["login", "pause", "available", "logout"], requested
    assert [e.fields["outcome"] for e in pool[agent].named("end")] == ["answered", "answered"]
    assert not acd_events(acd, "agent_ringing", call_id=third_id)

    def logged_out_by_phone() -> list[dict[str, Any]]:
        rows = state_history(module_db, agent)
        done = any(r["status"] == "logged-out" and r["source"] == "phone" for r in rows)
        return rows if done else []

    rows = wait_for(logged_out_by_phone, 15, "the *23 interval in agent_state_history")
    changes = [(r["status"], r["reason"], r["source"], r["actor"])
               for before, r in zip([None, *rows], rows, strict=False)
               if before is None or r["status"] != before["status"]]
    assert changes == [
        ("logged-out", None, "system", None),  # start-up, registration
        ("available", None, "phone", agent),
        ("paused", "break", "phone", agent),
        ("available", None, "phone", agent),
        ("logged-out", None, "phone", agent),
    ], rows
    on_call = {(r["source"], r["actor"]) for r in rows if r["state"] == "on-call"}
    assert on_call == {("system", None)}, rows


# -- RTP ---------------------------------------------------------------------------------
def test_announce_rtp_then_silence_after_bridge(acd: RunningAcd, work: Path) -> None:
    with RtpReceiver() as rx:
        run = place_call(acd, work, "pbx_call_announce", ANNOUNCE, rtp_port=rx.port, bye_ms=500)
        wait_until(lambda: bool(run.named("answered")), 15, "the ACD's 200")
        packets = rx.wait_for(110, 10)
        pt = int(run.named("answered")[0].fields["pt"])
        problems = check_stream(packets, pt, window=100)
        assert not problems, problems
        (agent,) = take_agents(1)
        with start_agents(acd, work, [AgentSpec(agent, "answer", ring_ms=100)]) as pool:
            wait_until(lambda: bool(run.named("bridged")), 15, "the bridge")
            bridged_at = time.monotonic()
            count_at_bridge = len(rx.packets)
            ok(run)
            phones_ok(pool)
        late = [p for p in rx.packets[count_at_bridge:] if p.arrival > bridged_at + 0.1]
        assert not late, f"{len(late)} RTP packets from the ACD after the re-INVITE"


# -- load ------------------------------------------------------------------------------
def test_load_60_agents_120_callers(acd: RunningAcd, work: Path) -> None:
    """60 agents (hang up after 2-4.5 s), 120 callers at once on both queues: every call
    ends in exactly one outcome, every caller is answered, no phone rings twice at once."""
    agents = take_agents(60)
    specs = [
        AgentSpec(a, "hangup", ring_ms=100, hold_ms=2000 + (i % 6) * 500, calls=None)
        for i, a in enumerate(agents)
    ]
    with start_agents(acd, work, specs, timeout=150) as pool:
        runs = [
            place_call(
                acd,
                work,
                f"pbx_call_{mode}",
                MODES[mode],
                calls=60,
                rate=60,
                limit=60,
                bye_ms=0,
                timeout=120,
            )
            for mode in ("announce", "ringback")
        ]
        for run in runs:
            ok(run)
        results = pool.stop(grace=30)
    failed = [a for a, r in results.items() if r.returncode != 0]
    assert not failed, pool[failed[0]].explain()
    assert not pool.overlapping_calls()
    caller_ids = {e.call_id for run in runs for e in run.named("end")}
    assert len(caller_ids) == 120
    answered = sum(len(p.named("end")) for p in pool)
    assert answered == 120
    # ACD side: one call_ended per call, no agent offered two calls at once.
    started = {
        e["call_id"] for e in acd.events("call_started") if e.get("sip_call_id") in caller_ids
    }
    ended = [e for e in acd.events("call_ended") if e.get("call_id") in started]
    assert len(started) == 120
    assert sorted(e["call_id"] for e in ended) == sorted(started)
    assert {e["outcome"] for e in ended} == {"answered"}, {e["outcome"] for e in ended}
    ringing = [e for e in acd.events("agent_ringing") if e.get("call_id") in started]
    assert len(ringing) == 120, "every caller answered by the first agent rung"
    assert {e["agent_id"] for e in ringing} <= set(agents)
    assert not overlapping_offers(acd, started)


def overlapping_offers(acd: RunningAcd, calls: set[str]) -> list[str]:
    """From the ACD log: an agent rung (``agent_ringing``) while its previous offer's leg
    had not ended (``agent_leg_ended``)."""
    timeline: list[tuple[float, int, dict[str, Any]]] = []
    for line_no, line in enumerate(acd.log().splitlines()):
        if '"agent_ringing"' in line or '"agent_leg_ended"' in line:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("call_id") in calls:
                timeline.append((line_no, 0, record))
    busy: dict[str, str] = {}
    problems = []
    for _, _, record in timeline:
        agent = str(record.get("agent_id"))
        if record["event"] == "agent_ringing":
            if agent in busy:
                problems.append(f"agent {agent} rung for {record['call_id']} during {busy[agent]}")
            busy[agent] = record["call_id"]
        elif busy.get(agent) == record["call_id"]:
            del busy[agent]
    return problems
