"""Agents' softphones registering with the running ACD (issue 2), driven by sipp."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sipp.harness import RunningAcd, agent_password, run_many, run_sipp

pytestmark = pytest.mark.sipp

AGENTS = [str(1001 + i) for i in range(60)]


def _agent_run(agent: str, acd: RunningAcd, transport: str = "udp", **kw: object):
    return (
        "register",
        acd.sip(transport),
        {
            "service": agent,
            "auth": (agent, agent_password(agent)),
            "transport": transport,
            "timeout": 30,
            **kw,
        },
    )


def test_sixty_agents_register_with_digest_and_unregister(acd: RunningAcd, work: Path) -> None:
    before_reg = len(acd.events("agent_registered"))
    before_unreg = len(acd.events("agent_unregistered"))
    results = run_many([_agent_run(a, acd) for a in AGENTS], work)
    failed = [(a, r) for a, r in zip(AGENTS, results, strict=True) if r.returncode != 0]
    assert not failed, failed[0][1].explain()
    registered = {e["agent_id"] for e in acd.events("agent_registered")[before_reg:]}
    unregistered = acd.events("agent_unregistered")[before_unreg:]
    assert registered == set(AGENTS)
    assert {e["agent_id"] for e in unregistered} == set(AGENTS)
    assert {e["reason"] for e in unregistered} == {"unregistered"}


def test_register_over_tcp(acd: RunningAcd, work: Path) -> None:
    result = run_many([_agent_run("1001", acd, "tcp")], work)[0]
    assert result.returncode == 0, result.explain()


@pytest.mark.parametrize(
    ("user", "password"),
    [("1002", "not-the-password"), ("9999", "whatever")],
    ids=["wrong-password", "unknown-user"],
)
def test_bad_credentials_rejected(acd: RunningAcd, work: Path, user: str, password: str) -> None:
    before = len(acd.events("sip_auth_failed"))
    result = run_sipp(
        "register_wrong_password",
        acd.sip(),
        work,
        service=user,
        auth=(user, password),
        timeout=20,
    )
    assert result.returncode == 0, result.explain()
    failures = acd.events("sip_auth_failed")[before:]
    assert [f["username"] for f in failures] == [user]
    assert not [e for e in acd.events("agent_registered") if e["agent_id"] == "9999"]


def test_retransmissions_absorbed_under_packet_loss(acd: RunningAcd, work: Path) -> None:
    """sipp drops 10% of the messages it sends and receives; its timers retransmit and the
    ACD must answer each retransmission from the transaction, never twice as new work."""
    agents = AGENTS[:12]
    runs = [
        _agent_run(a, acd, calls=4, rate=20, extra=["-lost", "10"]) for i, a in enumerate(agents)
    ]
    results = run_many(runs, work)
    failed = [r for r in results if r.returncode != 0]
    assert not failed, failed[0].explain()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_answered(acd: RunningAcd, work: Path, transport: str) -> None:
    result = run_sipp("options", acd.sip(transport), work, transport=transport, calls=5, timeout=20)
    assert result.returncode == 0, result.explain()
