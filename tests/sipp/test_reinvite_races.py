"""Announce mode on the wire: a BYE meets the ACD's RFC 3725 re-INVITE of the caller.

The PBX (``pbx_reinvite_race.xml``) leaves the ACD's re-INVITE unanswered until a BYE has
gone through — the agent's (``agent_hangup.xml`` hanging up right after its ACK: the ACD
BYEs the caller at once), or its own — and then answers it late: 487, 481, 200 (a 200 that
crossed the BYE) or never. sipp fails the call unless the ACD ACKs that final response; the
test then checks the ACD: one ``call_ended`` (answered, by whom, in state connecting), one
leg ended as answered, exactly one BYE sent, the ACKs sent, the call record in PostgreSQL
(answered, talk time, who hung up), the agent in wrap-up and no call left in the queue.

And the RFC 3261 §15 ordering just before it: the agent answers and hangs up before the
caller's ACK to the ACD's 200 arrived (``pbx_late_ack.xml``): the caller's BYE waits for
that ACK, and there is no re-INVITE.

One ACD for the module (announce queue 12345, ringback queue 12346, wrap-up 60 s so the
state can be read, no keepalives); every test takes a fresh agent.
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests import pg
from tests.sipp.agents import AgentPhone, AgentSpec, SippRun, spawn_sipp, start_agents
from tests.sipp.harness import (
    RunningAcd,
    agent_password,
    make_config,
    require_sipp,
    running_acd,
    sample,
    scrape,
    wait_for,
)

pytestmark = pytest.mark.sipp

NUMBER, RINGBACK = "12345", "12346"
ACK_MS = 2000  # the late ACK: the agent answers (100 ms) and hangs up well before it
AGENTS = 20
_ids = itertools.count(1001)
_callers = itertools.count(13900000001)


@pytest.fixture(scope="module")
def acd(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    require_sipp()
    tmp = tmp_path_factory.mktemp("acd-races")
    rtp_base = 57000 + (os.getpid() % 4) * 1000
    extra: dict[str, Any] = {
        "trunks": [{"name": "pbx", "sources": ["127.0.0.1/32"]}],
        "agents": [
            {"id": str(1001 + i), "password": agent_password(str(1001 + i)),
             "skills": {"mandarin": 5}, "auto_available": True}
            for i in range(AGENTS)
        ],
        "queues": [
            {"name": name, "numbers": [number], "media": name.replace("general", "announce"),
             "skills": {"mandarin": 1}, "ring_timeout": 10, "wrapup_seconds": 60,
             "max_no_answers": 0}
            for name, number in (("general", NUMBER), ("ringback", RINGBACK))
        ],
        "media": {"bind_host": "127.0.0.1", "port_min": rtp_base, "port_max": rtp_base + 998,
                  "keepalive_interval": 0},
    }
    with running_acd(make_config(tmp, module_db, agents=0, extra=extra), tmp) as running:
        yield running


# -- helpers -------------------------------------------------------------------------------
def sent_requests(acd: RunningAcd) -> dict[str, float]:
    samples = scrape(acd)
    return {m: sample(samples, "acd_sip_requests_total", direction="sent", method=m)
            for m in ("BYE", "ACK", "INVITE", "CANCEL")}


def acd_events(acd: RunningAcd, name: str, call_id: str) -> list[dict[str, Any]]:
    return [e for e in acd.events(name) if e.get("call_id") == call_id]


def get(acd: RunningAcd, path: str) -> Any:
    with urllib.request.urlopen(f"{acd.http}{path}", timeout=5) as response:
        return json.loads(response.read())


def call_record(database: str, call_id: str) -> Any:
    async def fetch() -> Any:
        conn = await asyncpg.connect(database, timeout=10)
        try:
            return await conn.fetchrow(
                "SELECT * FROM call_records WHERE call_id = $1 AND ended_at IS NOT NULL",
                call_id)
        finally:
            await conn.close()

    return wait_for(lambda: pg._in_thread(fetch), 15, f"the call record of {call_id}")


def one_call(acd: RunningAcd, work: Path, scenario: str, number: str, behaviour: str,
             variables: dict[str, str]) -> tuple[SippRun, AgentPhone, str, str]:
    """One PBX call answered by a fresh agent (``behaviour``: answer, or hangup right after
    its ACK); the PBX run, the phone, the ACD's call id, the agent."""
    agent = str(next(_ids))
    assert int(agent) <= 1000 + AGENTS, "out of agent ids"
    spec = AgentSpec(agent, behaviour, ring_ms=100, hold_ms=0)
    with start_agents(acd, work, [spec]) as pool:
        run = spawn_sipp(scenario, acd.sip(), work, service=number, timeout=40,
                         variables={"caller": str(next(_callers)), "rtp_port": "9", **variables})
        result = run.wait()
        assert result.returncode == 0, run.explain()
        phone = pool[agent]
        assert phone.wait(30).returncode == 0, phone.explain()
    sip_call_id = run.events()[0].call_id
    started = [e for e in acd.events("call_started") if e.get("sip_call_id") == sip_call_id]
    assert len(started) == 1, started
    return run, phone, str(started[0]["call_id"]), agent


def answered_and_wrapping_up(acd: RunningAcd, database: str, call_id: str, agent: str,
                             by: str, state: str) -> None:
    """One call_ended (answered, ``by``, in ``state``), one leg ended as answered, the call
    record answered with its short talk time, the agent in wrap-up, no call waiting."""
    (ended,) = wait_for(lambda: acd_events(acd, "call_ended", call_id), 10, "call_ended")
    assert (ended["outcome"], ended["hangup_by"], ended["state"], ended["agent_id"]) == (
        "answered", by, state, agent)
    (leg,) = acd_events(acd, "agent_leg_ended", call_id)
    assert leg["result"] == "answered"
    record = call_record(database, call_id)
    assert (record["outcome"], record["hangup_by"], record["agent_id"]) == ("answered", by, agent)
    assert record["answered_at"] is not None and 0 <= record["talk_seconds"] < 5
    assert get(acd, f"/api/v1/agents/{agent}")["state"] == "wrap-up"
    assert get(acd, "/api/v1/queues/general/calls") == []
    assert get(acd, "/api/v1/queues/ringback/calls") == []


# -- the tests -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("race", "status"),
    [("agent_bye", 487), ("agent_bye", 200), ("agent_bye", 0),
     ("caller_bye", 487), ("caller_bye", 481), ("caller_bye", 200), ("caller_bye", 0)],
    ids=["agent-bye-then-487", "agent-bye-crossing-200", "agent-bye-never-answered",
         "caller-bye-then-487", "caller-bye-then-481", "caller-bye-then-200",
         "caller-bye-never-answered"],
)
def test_bye_while_the_reinvite_is_pending(
    acd: RunningAcd, module_db: str, work: Path, race: str, status: int
) -> None:
    before = sent_requests(acd)
    run, _, call_id, agent = one_call(
        acd, work, "pbx_reinvite_race", NUMBER, "hangup" if race == "agent_bye" else "answer",
        {"race": race, "reinvite_status": str(status)})
    by = "agent" if race == "agent_bye" else "caller"

    # sipp: the BYE came (agent_bye) or was answered (caller_bye) while the re-INVITE was
    # pending, and its late final response was ACKed with the re-INVITE's CSeq.
    names = [e.name for e in run.events()]
    assert names.index("reinvite") < names.index("bye_in" if by == "agent" else "bye_ok")
    if status:
        (reinvite,) = run.named("reinvite")
        (acked,) = run.named("reinvite_acked")
        assert reinvite.fields["cseq"] == f"{acked.fields['cseq']}"
    else:
        assert not run.named("reinvite_acked")

    # The ACD: one call_ended, answered by the agent, ended while connecting.
    answered_and_wrapping_up(acd, module_db, call_id, agent, by, "connecting")
    assert not acd_events(acd, "caller_reinvite_failed", call_id)

    # On the wire: one BYE (to the side that did not hang up), the agent's 200 ACKed and
    # the re-INVITE's final response ACKed; no CANCEL.
    after = sent_requests(acd)
    delta = {m: after[m] - before[m] for m in after}
    assert delta["BYE"] == 1, delta
    assert delta["ACK"] == (2 if status else 1), delta
    assert delta["INVITE"] == 2 and delta["CANCEL"] == 0, delta  # agent's + re-INVITE


@pytest.mark.parametrize("mode", ["announce", "ringback"])
def test_agent_bye_before_the_callers_ack_waits_for_it(
    acd: RunningAcd, module_db: str, work: Path, mode: str
) -> None:
    before = sent_requests(acd)
    run, phone, call_id, agent = one_call(
        acd, work, "pbx_late_ack", NUMBER if mode == "announce" else RINGBACK, "hangup",
        {"ack_ms": str(ACK_MS)})
    # The ordering happened: the agent's BYE went out before the PBX's ACK; sipp saw no
    # BYE before its ACK (it would have failed the call) and no re-INVITE after it.
    (agent_bye,) = phone.named("bye_out")
    (ack,) = run.named("ack_out")
    (bye,) = run.named("bye_in")
    assert agent_bye.t < ack.t <= bye.t
    answered_and_wrapping_up(acd, module_db, call_id, agent, "agent",
                             "connecting" if mode == "announce" else "bridged")
    assert not acd_events(acd, "caller_reinvited", call_id)
    after = sent_requests(acd)
    delta = {m: after[m] - before[m] for m in after}
    assert (delta["BYE"], delta["INVITE"]) == (1, 1), delta  # the caller's BYE; the agent's
