"""The same PBX calls answered by a real softphone: baresip (Debian ``baresip``) registers
as agent 1001 with digest auth and ``answermode=auto``, headless (no UI module; aubridge as
audio source and player, so no audio device). A sipp PBX calls each queue; the call must be
answered by baresip and end cleanly on the caller's BYE.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sipp.agents import SippRun, spawn_sipp, wait_until
from tests.sipp.harness import (
    RunningAcd,
    agent_password,
    free_port,
    make_config,
    require_sipp,
    running_acd,
)

pytestmark = pytest.mark.sipp

AGENT = "1001"
NUMBERS = {"announce": "12345", "ringback": "12346"}


def require_baresip() -> str:
    path = shutil.which("baresip")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("baresip is not installed (apt-get install baresip)")
        pytest.skip("baresip is not installed (apt-get install baresip)")
    return path


@pytest.fixture(scope="module")
def acd(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    require_sipp()
    tmp = tmp_path_factory.mktemp("acd-baresip")
    rtp_base = 63000 + (os.getpid() % 4) * 500
    queue: dict[str, Any] = {"skills": {"mandarin": 1}, "ring_timeout": 10, "wrapup_seconds": 1}
    extra: dict[str, Any] = {
        "trunks": [{"name": "pbx", "sources": ["127.0.0.1/32"]}],
        "agents": [
            {
                "id": AGENT,
                "name": "baresip",
                "password": agent_password(AGENT),
                "skills": {"mandarin": 5},
                "auto_available": True,
            }
        ],
        "queues": [
            {"name": "general", "numbers": [NUMBERS["announce"]], "media": "announce", **queue},
            {"name": "ringback", "numbers": [NUMBERS["ringback"]], "media": "ringback", **queue},
        ],
        "media": {
            "bind_host": "127.0.0.1",
            "port_min": rtp_base,
            "port_max": rtp_base + 498,
            "keepalive_interval": 0,
        },
    }
    with running_acd(make_config(tmp, module_db, agents=0, extra=extra), tmp) as running:
        yield running


def baresip_config(tmp: Path, acd: RunningAcd) -> Path:
    """A config dir: loopback SIP port, G.711, aubridge source and player (no device),
    no UI module (stdin is closed), one auto-answering account via the ACD."""
    home = tmp / "baresip"
    home.mkdir()
    host, port = acd.sip("udp")
    rtp = 45000 + (os.getpid() % 20) * 100
    (home / "config").write_text(
        "\n".join(
            [
                "poll_method\tepoll",
                "net_interface\t127.0.0.1",
                f"sip_listen\t127.0.0.1:{free_port('udp')}",
                "audio_source\taubridge,nil",
                "audio_player\taubridge,nil",
                "audio_alert\taubridge,nil",
                f"rtp_ports\t{rtp}-{rtp + 98}",
                "module_path\t/usr/lib/baresip/modules",
                "module\tg711.so",
                "module\taubridge.so",
                "module_app\taccount.so",
                "module_app\tmenu.so",
                "",
            ]
        )
    )
    (home / "accounts").write_text(
        f"<sip:{AGENT}@acd.test;transport=udp>;auth_user={AGENT};"
        f"auth_pass={agent_password(AGENT)};answermode=auto;regint=300;"
        f'outbound="sip:{host}:{port};transport=udp"\n'
    )
    (home / "contacts").write_text("")
    return home


@pytest.fixture(scope="module")
def baresip(
    acd: RunningAcd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    exe = require_baresip()
    tmp = tmp_path_factory.mktemp("baresip")
    home = baresip_config(tmp, acd)
    log = (tmp / "baresip.log").open("wb")
    process = subprocess.Popen(
        [exe, "-f", str(home), "-t", "240"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp,
    )
    try:
        wait_until(
            lambda: (
                any(e.get("agent_id") == AGENT for e in acd.events("agent_registered"))
                or process.poll() is not None
            ),
            20,
            "baresip's registration",
        )
        assert process.poll() is None, (tmp / "baresip.log").read_text(errors="replace")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.mark.parametrize("mode", ["announce", "ringback"])
def test_baresip_answers_pbx_call(
    acd: RunningAcd, baresip: subprocess.Popen[bytes], work: Path, mode: str
) -> None:
    run: SippRun = spawn_sipp(
        f"pbx_call_{mode}",
        acd.sip(),
        work,
        service=NUMBERS[mode],
        variables={
            "caller": "13900000001",
            "rtp_port": "9",
            "agent_ip": "127.0.0.1",
            "agent_port": "any",
            "bye_ms": "1500",
        },
        timeout=40,
    )
    result = run.wait()
    assert result.returncode == 0, run.explain()
    sip_call_id = run.events()[0].call_id
    started = [e for e in acd.events("call_started") if e.get("sip_call_id") == sip_call_id]
    assert len(started) == 1
    call_id = started[0]["call_id"]
    bridged = [e for e in acd.events("call_bridged") if e.get("call_id") == call_id]
    assert [e["agent_id"] for e in bridged] == [AGENT]
    ended = [e for e in acd.events("call_ended") if e.get("call_id") == call_id]
    assert len(ended) == 1, ended
    assert (ended[0]["outcome"], ended[0]["hangup_by"]) == ("answered", "caller"), json.dumps(
        ended[0]
    )
    # The bridge sent baresip's own media address to the caller.
    answered = run.named("reinvite" if mode == "announce" else "answered")[0]
    assert answered.fields["media"].startswith("127.0.0.1:")
    if mode == "announce":  # not the ACD's own media address any more
        assert answered.fields["media"] != run.named("answered")[0].fields["media"]
    assert baresip.poll() is None, "baresip died during the call"
