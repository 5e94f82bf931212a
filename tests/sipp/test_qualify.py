"""Qualify (OPTIONS pings to registered contacts) and registrations surviving a restart,
against the running ACD with fast timers: T1 = 50 ms, T2 = 400 ms, so an unanswered ping's
transaction times out (Timer F = 64·T1) after 3.2 s; one ping per second.

The agent's phone is split in two, as many softphones are: REGISTERs come from an ephemeral
port of a raw UDP socket, the Contact names a sipp UAS (`agent_options_uas.xml`) on another
port of the same host that answers OPTIONS. Pings must go to the Contact (Kamailio's rule:
the source address only when the Contact's IP differs from it, i.e. behind NAT).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.sipp.harness import (
    DOMAIN,
    RunningAcd,
    agent_password,
    free_port,
    fresh_database,
    make_config,
    running_acd,
    sip_section,
    sipp_server,
    stop_process,
    udp_port_bound,
    wait_for,
    wait_for_event,
)
from tests.sipp.wire import RawMessage, UdpPeer, register_with_digest

pytestmark = pytest.mark.sipp

FAST = {"qualify_interval": 1, "t1": 0.05, "t2": 0.4, "digest_algorithms": ["SHA-256", "MD5"]}
# One interval, Timer F (3.2 s), scheduling slack on a loaded 2-core machine.
UNREACHABLE_WITHIN = 1 + 64 * 0.05 + 4


def _config(tmp: Path, url: str) -> Path:
    return make_config(tmp, url, agents=4, extra={"sip": sip_section(**FAST)})


def register(acd: RunningAcd, peer: UdpPeer, user: str, contact_port: int) -> RawMessage:
    """REGISTER ``user`` from ``peer`` with a Contact on ``contact_port`` (same host),
    answering the SHA-256 challenge."""
    challenge, ok = register_with_digest(
        peer, acd.sip("udp"), user, agent_password(user), domain=DOMAIN,
        contact=f"<sip:{user}@127.0.0.1:{contact_port}>",
    )
    assert challenge.status == 401, challenge.text()
    assert ok.status == 200, ok.text()
    return ok


def _count(acd: RunningAcd, name: str) -> int:
    return len(acd.events(name))


def _wait_uas(port: int, proc: Any) -> None:
    def up() -> bool:
        assert proc.poll() is None, f"sipp UAS exited {proc.returncode}"
        return udp_port_bound(port)

    wait_for(up, 10, f"sipp UAS on port {port}")


def test_unreachable_when_phone_stops_answering_and_back(
    pg_server: pg.PgServer, tmp_path: Path
) -> None:
    uas_port = free_port("udp")
    with (
        fresh_database(pg_server) as url,
        running_acd(_config(tmp_path, url), tmp_path) as acd,
        sipp_server("agent_options_uas", tmp_path, uas_port) as uas,
        UdpPeer() as peer,
    ):
        _wait_uas(uas_port, uas)
        register(acd, peer, "1001", uas_port)
        wait_for_event(acd, "agent_reachability", 5, agent_id="1001", reachable=True)
        wait_for_event(acd, "contact_reachable", 10, agent_id="1001")
        unreachable_before = _count(acd, "contact_unreachable")
        reach_before = _count(acd, "agent_reachability")
        reachable_before = _count(acd, "contact_reachable")

        stop_process(uas)  # the phone goes away (crash, Wi-Fi lost)
        event = wait_for_event(
            acd, "contact_unreachable", UNREACHABLE_WITHIN, after=unreachable_before
        )
        assert event["agent_id"] == "1001" and event["failures"] >= 1
        wait_for_event(
            acd, "agent_reachability", 5, after=reach_before, agent_id="1001", reachable=False
        )
        # Pings went to the Contact port, never to the REGISTER's source port.
        assert peer.drain(0.05) == []

        with sipp_server("agent_options_uas", tmp_path, uas_port) as again:
            _wait_uas(uas_port, again)
            wait_for_event(acd, "contact_reachable", 10, after=reachable_before, agent_id="1001")
            wait_for_event(
                acd,
                "agent_reachability",
                5,
                after=reach_before,
                agent_id="1001",
                reachable=True,
            )
    for bad in ("Traceback", "flush_failed", "handler_failed"):
        assert bad not in acd.log()


def test_registrations_restored_after_restart(pg_server: pg.PgServer, tmp_path: Path) -> None:
    agents = ["1001", "1002", "1003"]
    uas_port = free_port("udp")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with (
        fresh_database(pg_server) as url,
        sipp_server("agent_options_uas", tmp_path, uas_port) as uas,
    ):
        _wait_uas(uas_port, uas)
        with running_acd(_config(first, url), first) as acd, UdpPeer() as peer:
            for agent in agents:
                register(acd, peer, agent, uas_port)
            for agent in agents:
                wait_for_event(acd, "agent_reachability", 5, agent_id=agent, reachable=True)
        # Leaving the block sent SIGTERM: a clean stop, after the bindings were stored.
        assert acd.process.returncode == 0, acd.log()[-3000:]
        assert acd.events("acd_stopped")

        with running_acd(_config(second, url), second) as restarted:
            restored = wait_for_event(restarted, "registrations_restored", 10)
            assert restored["bindings"] == len(agents)
            for agent in agents:
                wait_for_event(restarted, "agent_reachability", 5, agent_id=agent, reachable=True)
                # The restored bindings are live: qualify pings reach the phone's Contact.
                wait_for_event(restarted, "contact_reachable", 10, agent_id=agent)
            assert not restarted.events("sip_auth_failed")
            assert not [e for e in restarted.events("sip_message_rejected")]
