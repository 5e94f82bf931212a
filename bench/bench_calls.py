"""The full call path driven by sipp, at increasing call rates: a PBX caller (sipp UAC)
calls the real ``acd serve``; 60 agents' phones (sipp UAS, registered) answer after 100 ms,
talk ``--hold`` ms and hang up; the ACD bridges (announce: RFC 3725 re-INVITE; ringback:
relayed 200) and BYEs the caller. Per rate: failed calls and the time from the caller's
INVITE received to the agent's INVITE sent, p50/p99 (from the ACD's JSON log:
``call_started`` -> ``agent_ringing``). Prints the highest rate with zero failed calls.

With ``kamailio`` installed, the same sipp traffic through a single-worker Kamailio
stateful proxy (tm, ``children=1``, loopback) relaying every INVITE to one sipp UAS
(agent_hangup.xml) is measured the same way: INVITE sent by the PBX -> INVITE received by
the UAS (sipp timestamps, matched by Call-ID, which a proxy keeps), for comparison.

    python bench/bench_calls.py [--rates 10,20,40,80,160] [--seconds 5] [--mode announce]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402
from tests.sipp.agents import (  # noqa: E402
    AgentSpec,
    free_sip_port,
    spawn_sipp,
    start_agents,
)
from tests.sipp.harness import RunningAcd, agent_password, make_config, running_acd  # noqa: E402

NUMBERS = {"announce": "12345", "ringback": "12346"}
AGENTS = 60


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def acd_config(tmp: Path, url: str) -> Path:
    queue: dict[str, Any] = {
        "skills": {"mandarin": 1},
        "ring_timeout": 10,
        "wrapup_seconds": 0,
        "max_no_answers": 0,
    }
    extra: dict[str, Any] = {
        "logging": {"format": "json", "level": "info"},
        "trunks": [{"name": "pbx", "sources": ["127.0.0.1/32"]}],
        "agents": [
            {
                "id": str(1001 + i),
                "password": agent_password(str(1001 + i)),
                "skills": {"mandarin": 5},
                "auto_available": True,
            }
            for i in range(AGENTS)
        ],
        "queues": [
            {"name": "general", "numbers": [NUMBERS["announce"]], "media": "announce", **queue},
            {"name": "ringback", "numbers": [NUMBERS["ringback"]], "media": "ringback", **queue},
        ],
        "media": {
            "bind_host": "127.0.0.1",
            "port_min": 61000,
            "port_max": 64998,
            "keepalive_interval": 0,
        },
    }
    return make_config(tmp, url, agents=0, extra=extra)


def _ts(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(record["timestamp"]).replace("Z", "+00:00")).timestamp()


def acd_latencies(acd: RunningAcd, sip_call_ids: set[str]) -> list[float]:
    started: dict[str, float] = {}
    ringing: dict[str, float] = {}
    for line in acd.log().splitlines():
        if '"call_started"' not in line and '"agent_ringing"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "call_started" and record.get("sip_call_id") in sip_call_ids:
            started[record["call_id"]] = _ts(record)
        elif record.get("event") == "agent_ringing" and record.get("call_id") in started:
            ringing.setdefault(record["call_id"], _ts(record))
    return [ringing[c] - started[c] for c in ringing]


def run_rate(
    target: tuple[str, int], work: Path, number: str, mode: str, rate: int, seconds: float
) -> tuple[int, int, set[str], list[Any]]:
    calls = max(1, int(rate * seconds))
    run = spawn_sipp(
        f"pbx_call_{mode}",
        target,
        work,
        service=number,
        calls=calls,
        rate=rate,
        limit=max(200, rate * 5),
        variables={
            "caller": "13800000000",
            "rtp_port": "9",
            "agent_ip": "127.0.0.1",
            "agent_port": "any",
            "bye_ms": "0",
        },
        timeout=seconds + 60,
    )
    result = run.wait()
    events = run.events()
    if result.returncode != 0:
        print("    sipp caller:", result.errors.strip().splitlines()[-1:] or result.output[-300:])
    ended = {e.call_id for e in events if e.name == "end"}
    started = {e.call_id for e in events if e.name == "invite"}
    return calls, calls - len(ended), started, events


def bench_acd(args: argparse.Namespace, work: Path) -> list[tuple[int, int, int, list[float]]]:
    server = pg.start_server()
    url = pg._in_thread(lambda: pg.create_database(server))
    rows = []
    try:
        with running_acd(acd_config(work, url), work) as acd:
            specs = [
                AgentSpec(str(1001 + i), "hangup", ring_ms=100, hold_ms=args.hold, calls=None)
                for i in range(AGENTS)
            ]
            with start_agents(acd, work, specs, timeout=3600) as _pool:
                for rate in args.rates:
                    calls, failed, sip_ids, _ = run_rate(
                        acd.sip(), work, NUMBERS[args.mode], args.mode, rate, args.seconds
                    )
                    lat = acd_latencies(acd, sip_ids)
                    rows.append((rate, calls, failed, lat))
                    print(
                        f"  acd {args.mode:8s} {rate:4d} cps: {calls:5d} calls, {failed:4d} failed,"
                        f" INVITE->agent INVITE p50 {pct(lat, 0.5) * 1000:7.2f} ms"
                        f" p99 {pct(lat, 0.99) * 1000:7.2f} ms",
                        flush=True,
                    )
                    if failed:
                        break
    finally:
        pg._in_thread(lambda: pg.drop_database(server, url))
        pg.stop_server(server)
    return rows


KAMAILIO_CFG = """#!KAMAILIO
debug=0
log_stderror=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("INVITE")) {{ record_route(); }}
    $du = "sip:127.0.0.1:{uas}";
    t_relay();
}}
"""


def bench_kamailio(args: argparse.Namespace, work: Path) -> list[tuple[int, int, int, list[float]]]:
    exe = shutil.which("kamailio")
    if exe is None:
        print("  kamailio not installed (apt-get install kamailio): comparison skipped")
        return []
    mpath = next(
        (p for p in Path("/usr/lib").glob("*/kamailio/modules") if (p / "tm.so").exists()), None
    )
    if mpath is None:
        print("  kamailio modules not found: comparison skipped")
        return []
    port = free_sip_port()
    with tempfile.TemporaryDirectory(prefix="bench-kam-") as kdir:
        from tests.sipp.agents import AgentPool

        pool = AgentPool(None, work, 3600)  # type: ignore[arg-type]  # no ACD: no REGISTER
        phone = pool.start_phone(
            AgentSpec("1001", "hangup", ring_ms=100, hold_ms=args.hold, calls=None, register=False)
        )
        pool.wait_listening([phone])
        cfg = Path(kdir) / "kamailio.cfg"
        cfg.write_text(KAMAILIO_CFG.format(port=port, mpath=mpath, uas=phone.port))
        kam = subprocess.Popen(
            [exe, "-f", str(cfg), "-DD", "-E", "-m", "64", "-M", "8", "-P", f"{kdir}/k.pid"],
            stdout=subprocess.DEVNULL,
            stderr=(work / "kamailio.log").open("wb"),
        )
        rows = []
        try:
            time.sleep(1.0)  # kamailio writes no ready file; give it a moment to bind
            if kam.poll() is not None:
                print("  kamailio did not start:", (work / "kamailio.log").read_text()[-500:])
                return []
            for rate in args.rates:
                before = {e.call_id: e.t for e in phone.named("invite")}
                calls, failed, _, events = run_rate(
                    ("127.0.0.1", port), work, NUMBERS[args.mode], "ringback", rate, args.seconds
                )
                sent = {e.call_id: e.t for e in events if e.name == "invite"}
                got = {e.call_id: e.t for e in phone.named("invite") if e.call_id not in before}
                lat = [got[c] - sent[c] for c in got if c in sent]
                rows.append((rate, calls, failed, lat))
                print(
                    f"  kamailio tm    {rate:4d} cps: {calls:5d} calls, {failed:4d} failed,"
                    f" PBX INVITE->UAS INVITE p50 {pct(lat, 0.5) * 1000:7.2f} ms"
                    f" p99 {pct(lat, 0.99) * 1000:7.2f} ms",
                    flush=True,
                )
                if failed:
                    break
        finally:
            kam.terminate()
            try:
                kam.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kam.kill()
                kam.wait()
            pool.stop(grace=10)
            pool.kill()
    return rows


def best(rows: list[tuple[int, int, int, list[float]]]) -> str:
    ok = [r for r in rows if r[2] == 0]
    if not ok:
        return "none (failures at the lowest rate)"
    rate, _, _, lat = ok[-1]
    return f"{rate} calls/s (p50 {pct(lat, 0.5) * 1000:.2f} ms, p99 {pct(lat, 0.99) * 1000:.2f} ms)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="10,20,40,80,160")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of calls per rate")
    parser.add_argument("--hold", type=int, default=500, help="agent talk time, ms")
    parser.add_argument("--mode", choices=sorted(NUMBERS), default="announce")
    parser.add_argument("--no-kamailio", action="store_true")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp:
        work = Path(tmp)
        print(f"ACD ({args.mode}, {AGENTS} sipp agents, talk {args.hold} ms):", flush=True)
        acd_rows = bench_acd(args, work)
        kam_rows: list[tuple[int, int, int, list[float]]] = []
        if not args.no_kamailio:
            print("Kamailio 1-worker tm proxy -> one sipp UAS (same PBX scenario):", flush=True)
            kam_dir = work / "kam"
            kam_dir.mkdir()
            kam_rows = bench_kamailio(args, kam_dir)
        print(f"highest rate with zero failed calls: ACD {best(acd_rows)}")
        if kam_rows:
            print(f"highest rate with zero failed calls: Kamailio {best(kam_rows)}")


if __name__ == "__main__":
    main()
