"""The full call path driven by sipp at increasing call rates, and a single-worker Kamailio
stateful proxy driven the same way on the same machine (issue 4).

ACD: ``acd serve`` (subprocess, fresh PostgreSQL database) with ``--agents`` registered sipp
agents (UAS: 180, answer after ``--ring`` ms, talk ``--hold`` ms, then the agent hangs up, or
with ``--hangup caller`` the PBX does); a sipp PBX caller places ``--calls`` calls per rate
to a ringback queue and to an announce queue (RFC 3725 re-INVITE), so every call is PBX
leg + agent leg + bridge + BYE on both legs.

Kamailio: ``kamailio -f bench/kamailio/kamailio.cfg`` (``children=1``, UDP 127.0.0.1, tm +
rr + sl + maxfwd; record_route on the INVITE, loose_route + t_relay in-dialog) relays the
same sipp PBX caller (ringback flow: INVITE/180/200/ACK/BYE) to one sipp UAS with the same
ring/talk times; the BYE crosses the proxy in the same direction as in the ACD run.

Per rate: calls, failed (the caller's sipp did not complete the call; the cause from sipp's
statistics and error file, and the ACD's warnings), the achieved rate, and latencies:

* ``wire``: the PBX's INVITE sent -> the agent's / UAS's INVITE received, both sipp
  timestamps (same clock), matched by the caller number (unique per call; a B2BUA makes a
  new Call-ID). Measured the same way for both systems: this is the comparison figure.
* ``acd``: ``call_started`` -> ``agent_ringing`` in the ACD's JSON log (INVITE received ->
  agent INVITE sent, inside the ACD).
* ``setup``: INVITE sent -> the call is bridged (ringback: 200 received; announce: the
  re-INVITE's ACK), including ``--ring`` ms of ringing.

The highest rate with zero failed calls (that rate and every lower one clean) is printed
for each, then the comparison with the target (ACD >= Kamailio).

    python bench/bench_calls.py [--rates 20,40,80,120,160] [--calls 400]
        [--modes ringback,announce] [--kamailio-extra 320,640,1280] [--no-kamailio]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402
from tests.sipp.agents import (  # noqa: E402
    AgentPool,
    AgentSpec,
    PhoneEvent,
    free_media_base,
    free_sip_port,
    parse_log,
    start_agents,
    udp_port_bound,
)
from tests.sipp.harness import (  # noqa: E402
    DOMAIN,
    RunningAcd,
    agent_password,
    make_config,
    require_sipp,
    running_acd,
    stop_process,
)

try:
    import psutil  # type: ignore[import-untyped]
except ImportError:  # CPU figures are optional
    psutil = None

BENCH = Path(__file__).resolve().parent
SCENARIOS = BENCH / "scenarios"
KAMAILIO_CFG = BENCH / "kamailio" / "kamailio.cfg"
NUMBERS = {"announce": "12345", "ringback": "12346"}


@dataclass
class Step:
    system: str
    rate: int
    calls: int
    failed: int
    achieved: float
    wire: list[float]
    acd: list[float]
    setup: list[float]
    cpu: float | None = None  # % of one core used by the system under test
    drops: int = 0  # UDP datagrams the kernel dropped (receive buffer full), system-wide
    causes: list[str] = field(default_factory=list)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    if not values:
        return f"{'-':>8s} {'-':>8s}"
    return f"{pct(values, 0.5) * 1000:8.2f} {pct(values, 0.99) * 1000:8.2f}"


HEADER = (
    f"  {'system':18s} {'rate':>5s} {'calls':>6s} {'failed':>6s} {'got/s':>6s} {'cpu%':>5s}"
    f" {'drops':>6s}"
    f" | {'wire p50':>8s} {'p99':>8s} | {'acd p50':>8s} {'p99':>8s}"
    f" | {'setup p50':>8s} {'p99':>8s}  (ms)"
)


def show(step: Step) -> None:
    cpu = f"{step.cpu:5.0f}" if step.cpu is not None else f"{'-':>5s}"
    print(
        f"  {step.system:18s} {step.rate:5d} {step.calls:6d} {step.failed:6d}"
        f" {step.achieved:6.1f} {cpu} {step.drops:6d}"
        f" | {ms(step.wire)} | {ms(step.acd)} | {ms(step.setup)}",
        flush=True,
    )
    for cause in step.causes:
        print(f"      cause: {cause}", flush=True)


# -- CPU of the system under test, UDP drops ------------------------------------------------
def udp_drops() -> int:
    """The kernel's UDP RcvbufErrors counter (all sockets of the machine)."""
    try:
        lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()
                 if ln.startswith("Udp:")]
        return int(dict(zip(lines[0], lines[1], strict=True))["RcvbufErrors"])
    except (OSError, IndexError, KeyError, ValueError):
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants (0 without psutil)."""
    if psutil is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


# -- the sipp PBX caller -------------------------------------------------------------------
@dataclass
class CallerRun:
    returncode: int
    events: list[PhoneEvent]
    stats: dict[str, str]
    errors: str
    output: str


def run_caller(
    scenario: str, target: tuple[str, int], work: Path, *, number: str, prefix: str,
    rate: int, calls: int, bye_ms: int,
) -> CallerRun:
    tag = f"pbx-{prefix}-{time.monotonic_ns()}"
    log, err, stat = (work / f"{tag}.{ext}" for ext in ("log", "err", "csv"))
    timeout = int(calls / rate) + 40
    args = [
        require_sipp(), f"{target[0]}:{target[1]}", "-sf", str(SCENARIOS / f"{scenario}.xml"),
        "-m", str(calls), "-r", str(rate), "-l", str(max(500, rate * 10)),
        "-i", "127.0.0.1", "-p", str(free_sip_port()), "-t", "u1", "-nostdin",
        "-mp", str(free_media_base()), "-s", number,
        "-set", "domain", DOMAIN, "-set", "caller", prefix, "-set", "bye_ms", str(bye_ms),
        "-recv_timeout", "15000", "-timeout", f"{timeout}s", "-timeout_error",
        "-trace_logs", "-log_file", str(log), "-trace_err", "-error_file", str(err),
        "-trace_stat", "-stf", str(stat), "-fd", "3600",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=work)
    try:
        out, _ = proc.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    stats: dict[str, str] = {}
    if stat.exists():
        lines = [ln for ln in stat.read_text(errors="replace").splitlines() if ln.strip()]
        if len(lines) >= 2:
            stats = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
    return CallerRun(
        proc.returncode,
        parse_log(log.read_text(errors="replace")) if log.exists() else [],
        stats,
        err.read_text(errors="replace") if err.exists() else "",
        out.decode(errors="replace"),
    )


_SIPP_STAMP = re.compile(r"\d{4}-\d\d-\d\d\t[0-9:.]+\t[0-9.]+: ")


def sipp_causes(run: CallerRun) -> list[str]:
    causes = [
        f"sipp {k.removesuffix('(C)')}={v}"
        for k, v in run.stats.items()
        if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)"
        and v not in ("", "0")
    ]
    # the first distinct sipp error messages ("Aborting call on unexpected message ...
    # received 'SIP/2.0 408 ...'"), one line each; sipp does not always end them with \n
    seen: dict[str, str] = {}
    for text in _SIPP_STAMP.split(run.errors)[1:]:
        text = " ".join(text.split())
        key = re.sub(r"Call-Id '[^']*'|call: \S+|[0-9]+-[0-9]+@\S+", "", text)[:70]
        if text and key not in seen:
            seen[key] = text[:170]
        if len(seen) == 3:
            break
    if run.returncode not in (0, 1) and not causes:
        causes.append(f"sipp exit {run.returncode}: {run.output.strip()[-200:]}")
    errors = sorted(seen.values(), key=lambda text: text.startswith("Discarding"))
    return causes + [f"sipp error: {text}" for text in errors]


def measure(
    system: str, run: CallerRun, rate: int, calls: int, far_invites: list[PhoneEvent],
    prefix: str, done_event: str,
) -> Step:
    sent = {e.fields.get("from_user", ""): e.t for e in run.events if e.name == "invite"}
    first: dict[str, float] = {}
    for event in far_invites:
        user = event.fields.get("from_user", "")
        if user.startswith(prefix) and user in sent:
            first[user] = min(first.get(user, event.t), event.t)
    wire = [first[u] - sent[u] for u in first]
    by_call = {e.call_id: e.t for e in run.events if e.name == "invite"}
    setup = [e.t - by_call[e.call_id] for e in run.events if e.name == done_event
             and e.call_id in by_call]
    ended = {e.call_id for e in run.events if e.name == "end"}
    times = sorted(sent.values())
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    step = Step(system, rate, calls, calls - len(ended), achieved, wire, [], setup)
    if step.failed:
        step.causes = sipp_causes(run)
    return step


# -- the ACD ---------------------------------------------------------------------------------
def acd_config(tmp: Path, url: str, agents: int) -> Path:
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
            for i in range(agents)
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


def acd_records(acd: RunningAcd, offset: int) -> tuple[list[dict[str, Any]], int]:
    """JSON records the ACD logged from byte ``offset`` on, and the new offset."""
    with acd.log_path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    records = []
    for line in data[:end].decode(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records, offset + end


def acd_latencies(records: list[dict[str, Any]], sip_call_ids: set[str]) -> list[float]:
    started: dict[str, float] = {}
    ringing: dict[str, float] = {}
    for record in records:
        event = record.get("event")
        if event == "call_started" and record.get("sip_call_id") in sip_call_ids:
            started[record["call_id"]] = _ts(record)
        elif event == "agent_ringing" and record.get("call_id") in started:
            ringing.setdefault(record["call_id"], _ts(record))
    return [ringing[c] - started[c] for c in ringing]


def acd_warnings(records: list[dict[str, Any]]) -> list[str]:
    """What the ACD saw go wrong: its warnings and the calls/legs that did not end well."""
    counts: Counter[str] = Counter()
    for r in records:
        event = r.get("event")
        if r.get("level") in ("warning", "error", "critical"):
            counts[f"{event}"] += 1
        elif event == "call_ended" and (
            r.get("outcome"), r.get("hangup_by"), r.get("state")
        ) != ("answered", "agent", "bridged"):
            counts[f"call_ended outcome={r.get('outcome')} by={r.get('hangup_by')}"
                   f" reason={r.get('reason')} state={r.get('state')}"] += 1
        elif event == "agent_leg_ended" and r.get("result") != "answered":
            counts[f"agent_leg_ended result={r.get('result')}"] += 1
        elif event in ("agent_no_response", "agent_answered_too_late"):
            counts[str(event)] += 1
    return [f"acd log: {what} x{n}" for what, n in counts.most_common(5)]


def settle(done: Callable[[], bool], timeout: float) -> None:
    """Between rates: until every call has ended on the far side (bounded)."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.1)  # polling log files the sipp agents write


def bench_acd(args: argparse.Namespace, work: Path, mode: str) -> list[Step]:
    server = pg.start_server()
    url = pg._in_thread(lambda: pg.create_database(server))
    steps: list[Step] = []
    behaviour = "hangup" if args.hangup == "agent" else "answer"
    try:
        with running_acd(acd_config(work, url, args.agents), work) as acd:
            specs = [
                AgentSpec(str(1001 + i), behaviour, ring_ms=args.ring, hold_ms=args.hold,
                          calls=None)
                for i in range(args.agents)
            ]
            with start_agents(acd, work, specs, timeout=3600) as pool:
                offset = acd_records(acd, 0)[1]
                for index, rate in enumerate(args.rates):
                    prefix = f"139{index:02d}"
                    cpu0, drops0 = cpu_seconds(acd.process.pid), udp_drops()
                    t0 = time.monotonic()
                    run = run_caller(
                        f"pbx_{mode}", acd.sip(), work, number=NUMBERS[mode], prefix=prefix,
                        rate=rate, calls=args.calls,
                        bye_ms=0 if args.hangup == "agent" else args.hold,
                    )
                    cpu = (cpu_seconds(acd.process.pid) - cpu0) / (time.monotonic() - t0) * 100
                    invites = [e for p in pool for e in p.named("invite")]
                    step = measure(f"acd {mode}", run, rate, args.calls, invites, prefix,
                                   "answered" if mode == "ringback" else "bridged")
                    settle(lambda: agents_idle(pool), 15)
                    records, offset = acd_records(acd, offset)
                    step.acd = acd_latencies(records, {e.call_id for e in run.events})
                    step.cpu = cpu if psutil is not None else None
                    step.drops = udp_drops() - drops0
                    if step.failed:
                        step.causes += acd_warnings(records)
                    steps.append(step)
                    show(step)
                    if step.failed and not args.keep_going:
                        break
    finally:
        pg._in_thread(lambda: pg.drop_database(server, url))
        pg.stop_server(server)
    return steps


def agents_idle(pool: AgentPool) -> bool:
    for phone in pool:
        names = [e.name for e in phone.events() if e.name in ("invite", "end")]
        if names and names[-1] != "end":
            return False
    return True


# -- Kamailio --------------------------------------------------------------------------------
@contextmanager
def sipp_uas(args: argparse.Namespace, work: Path) -> Iterator[tuple[int, Path]]:
    """One sipp UAS (bench/scenarios/uas_*.xml) on a free port; yields (port, log)."""
    port = free_sip_port()
    log = work / f"uas-{port}.log"
    scenario = "uas_hangup" if args.hangup == "agent" else "uas_answer"
    cmd = [
        require_sipp(), "-sf", str(SCENARIOS / f"{scenario}.xml"), "-i", "127.0.0.1",
        "-p", str(port), "-t", "u1", "-nostdin", "-s", "uas", "-mp", str(free_media_base()),
        "-cp", str(free_sip_port()), "-set", "agent_ip", "127.0.0.1", "-set", "agent_rtp", "9",
        "-set", "ring_ms", str(args.ring), "-set", "hold_ms", str(args.hold),
        "-trace_logs", "-log_file", str(log), "-trace_err", "-error_file",
        str(work / f"uas-{port}.err"), "-l", "100000", "-fd", "3600",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        deadline = time.monotonic() + 20
        while not udp_port_bound(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sipp UAS did not start (see {work})")
            time.sleep(0.02)  # polling /proc for the bound port
        yield port, log
    finally:
        stop_process(proc)


@contextmanager
def kamailio(exe: str, work: Path, uas_port: int) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_sip_port()
    log = work / "kamailio.log"
    env = dict(os.environ, BENCH_UAS=f"sip:127.0.0.1:{uas_port}")
    cmd = [exe, "-f", str(KAMAILIO_CFG), "-DD", "-E", "-l", f"udp:127.0.0.1:{port}",
           "-m", "256", "-M", "16", "-P", str(work / "kamailio.pid")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env,
                            cwd=work)
    try:
        deadline = time.monotonic() + 20
        while not udp_port_bound(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("kamailio did not start:\n" + log.read_text()[-800:])
            time.sleep(0.02)  # polling /proc for the bound port
        yield port, proc
    finally:
        stop_process(proc)


def bench_kamailio(args: argparse.Namespace, work: Path) -> list[Step]:
    exe = shutil.which("kamailio") or next(
        (p for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio") if Path(p).exists()), None
    )
    if exe is None:
        print("  kamailio not installed (apt-get install kamailio): comparison skipped")
        return []
    steps: list[Step] = []
    rates = list(args.rates) + [r for r in args.kamailio_extra if r > max(args.rates)]
    with sipp_uas(args, work) as (uas_port, uas_log), kamailio(exe, work, uas_port) as (port, kam):
        for index, rate in enumerate(rates):
            prefix = f"138{index:02d}"
            calls = max(args.calls, int(rate * args.min_seconds))
            cpu0, drops0 = cpu_seconds(kam.pid), udp_drops()
            t0 = time.monotonic()
            run = run_caller(
                "pbx_ringback", ("127.0.0.1", port), work, number=NUMBERS["ringback"],
                prefix=prefix, rate=rate, calls=calls,
                bye_ms=0 if args.hangup == "agent" else args.hold,
            )
            cpu = (cpu_seconds(kam.pid) - cpu0) / (time.monotonic() - t0) * 100
            invites = [e for e in parse_log(uas_log.read_text(errors="replace"))
                       if e.name == "invite"]
            step = measure("kamailio 1 worker", run, rate, calls, invites, prefix, "answered")
            step.cpu = cpu if psutil is not None else None
            step.drops = udp_drops() - drops0
            steps.append(step)
            show(step)
            if kam.poll() is not None:
                print("  kamailio exited:", (work / "kamailio.log").read_text()[-500:])
                break
            if step.failed and not args.keep_going:
                break
    return steps


# -- summary -----------------------------------------------------------------------------------
def highest_clean(steps: list[Step]) -> Step | None:
    """The highest rate with zero failures such that every lower rate was clean too."""
    best = None
    for step in sorted(steps, key=lambda s: s.rate):
        if step.failed:
            break
        best = step
    return best


def describe(step: Step | None, steps: list[Step]) -> str:
    if step is None:
        return "none (failures at the lowest rate)"
    top = " (the highest rate tried)" if step.rate == max(s.rate for s in steps) else ""
    return (f"{step.rate} calls/s{top}: wire p50 {pct(step.wire, 0.5) * 1000:.2f} ms"
            f" p99 {pct(step.wire, 0.99) * 1000:.2f} ms")


def rate_list(text: str) -> list[int]:
    return [int(r) for r in text.split(",") if r.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=rate_list, default=rate_list("20,40,80,120,160"))
    parser.add_argument("--calls", type=int, default=400, help="calls per rate")
    parser.add_argument("--modes", default="ringback,announce",
                        help="ACD queue variants, comma-separated (ringback, announce)")
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--ring", type=int, default=20, help="ms before the agent answers")
    parser.add_argument("--hold", type=int, default=100, help="talk time, ms")
    parser.add_argument("--hangup", choices=("agent", "caller"), default="agent",
                        help="who sends the first BYE (the other leg is BYEd by the ACD)")
    parser.add_argument("--kamailio-extra", type=rate_list, default=rate_list("320,640,1280"),
                        help="further rates for Kamailio only, to find its own ceiling")
    parser.add_argument("--min-seconds", type=float, default=3.0,
                        help="Kamailio: at least rate x this many calls per rate")
    parser.add_argument("--keep-going", action="store_true",
                        help="try the higher rates after a rate with failures")
    parser.add_argument("--no-kamailio", action="store_true")
    parser.add_argument("--no-acd", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep every log here (ACD JSON log, sipp logs, kamailio.log)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in NUMBERS:
            parser.error(f"unknown mode {mode!r} (ringback, announce)")
    started = time.monotonic()
    results: dict[str, list[Step]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as scratch:
        tmp = str(args.workdir or scratch)
        Path(tmp).mkdir(parents=True, exist_ok=True)
        print(f"{os.cpu_count()} CPUs; ring {args.ring} ms, talk {args.hold} ms, first BYE by the"
              f" {args.hangup}; {args.calls} calls per rate")
        print("drops = UDP datagrams the kernel dropped during the rate (receive buffer full;"
              " RcvbufErrors, whole machine)")
        print("wire = PBX INVITE sent -> agent/UAS INVITE received (sipp clocks); acd = ACD log"
              " call_started -> agent_ringing; setup = INVITE sent -> bridged (incl. ring)")
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(HEADER, flush=True)
        if not args.no_acd:
            for mode in modes:
                work = Path(tmp) / f"acd-{mode}"
                work.mkdir(exist_ok=True)
                results[f"ACD {mode}"] = bench_acd(args, work, mode)
        if not args.no_kamailio:
            work = Path(tmp) / "kamailio"
            work.mkdir(exist_ok=True)
            results["Kamailio"] = bench_kamailio(args, work)
    print(f"\nhighest rate with zero failed calls ({time.monotonic() - started:.0f} s run,"
          " load average at the end: {:.2f} {:.2f} {:.2f}):".format(*os.getloadavg()))
    best = {name: highest_clean(steps) for name, steps in results.items() if steps}
    for name, steps in results.items():
        if steps:
            print(f"  {name:14s} {describe(best[name], steps)}")
    kam = best.get("Kamailio")
    if results.get("Kamailio"):
        kam_rate = kam.rate if kam else 0
        ceiling = kam is not None and kam.rate == max(s.rate for s in results["Kamailio"])
        for name, step in best.items():
            if name == "Kamailio":
                continue
            rate = step.rate if step else 0
            verdict = "MET" if rate >= kam_rate else "NOT met"
            bound = " (Kamailio's ceiling is at least that: no failure at any rate tried)" \
                if ceiling else ""
            print(f"  target {name} >= Kamailio: {rate} vs {kam_rate} calls/s: {verdict}{bound}")


if __name__ == "__main__":
    main()
