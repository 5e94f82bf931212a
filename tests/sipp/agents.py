"""Agents' phones for end-to-end call tests: per agent, one sipp REGISTER run (Contact pointing
at port P, Expires 300, no unregister) and one sipp UAS listening on P that plays a behaviour
(``agent_<behaviour>.xml``: answer, hangup, busy, decline, noanswer).

Every sipp process is bounded by ``-timeout`` (and ``-m`` when the number of calls is known);
UAS processes started without a call count are stopped through sipp's UDP control socket
(``q``: stop taking calls, finish the current ones, exit with 0 only if none failed). Each
UAS logs one line per step with a wall-clock timestamp (``-trace_logs``), parsed into
`PhoneEvent` so tests can check timings and that no phone ever had two calls at once.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.sipp.harness import (
    SCENARIOS,
    RunningAcd,
    SippResult,
    agent_password,
    free_port,
    require_sipp,
    run_many,
    sipp_command,
)

__all__ = [
    "BEHAVIOURS",
    "AgentPhone",
    "AgentPool",
    "AgentSpec",
    "PhoneEvent",
    "SippRun",
    "free_media_base",
    "free_sip_port",
    "parse_log",
    "spawn_sipp",
    "start_agents",
    "udp_port_bound",
    "wait_until",
]

BEHAVIOURS = ("answer", "hangup", "busy", "decline", "noanswer")


@dataclass(frozen=True)
class AgentSpec:
    agent_id: str
    behaviour: str = "answer"
    #: how long the phone rings before answering (answer, hangup)
    ring_ms: int = 200
    #: talk time before the agent hangs up (hangup)
    hold_ms: int = 1000
    #: calls the UAS takes before it exits (-m); None: until the pool stops it
    calls: int | None = 1
    #: address the phone's SDP announces (c=); the ACD never sends it RTP in these tests
    media_ip: str = "127.0.0.1"
    register: bool = True

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r} (one of {BEHAVIOURS})")


@dataclass(frozen=True)
class PhoneEvent:
    """One line a phone's scenario logged: ``invite``, ``answered``, ``acked``, ``bye_in``,
    ``bye_out``, ``cancel_in``, ``end`` (with ``outcome=``)."""

    name: str
    t: float  # wall clock (time.time())
    call_id: str
    fields: dict[str, str]


_LINE = re.compile(
    r"^(?P<name>[a-z_]+) t=(?P<s>[0-9.]+):(?P<us>[0-9.]+) call=(?P<call>\S+)(?P<rest>.*)$"
)
_FIELD = re.compile(r"(\w+)=(\S*)")


def parse_log(text: str) -> list[PhoneEvent]:
    """Lines written by the scenarios' ``<log>`` actions (``name t=S:US call=ID k=v ...``);
    sipp writes seconds and microseconds as doubles."""
    events = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match is None:
            continue
        t = float(match["s"]) + float(match["us"]) / 1e6
        rest = match["rest"]
        events.append(
            PhoneEvent(match["name"], t, match["call"], dict(_FIELD.findall(rest)) | {"raw": rest})
        )
    return events


# -- ports ---------------------------------------------------------------------------------
_used_media: set[int] = set()
_reserved: set[int] = set()  # ports handed out to sipp processes of this test process
_media_slot = itertools.count()


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_media_base() -> int:
    """A base for sipp's ``-mp`` (it binds base and base+2) that no other sipp of this test
    process uses: a range apart from the harness's (20000-39999), probed before use."""
    span = 800
    base = 40000 + (os.getpid() % 24) * span
    for _ in range(span // 4):
        port = base + (next(_media_slot) % (span // 4)) * 4
        if port in _used_media or _reserved & set(range(port, port + 4)):
            continue
        if all(_udp_free(port + i) for i in range(4)):
            _used_media.add(port)
            return port
    raise RuntimeError("no free RTP port range for sipp")


def free_sip_port() -> int:
    """Like `harness.free_port`, but never a port inside a media range (or another port)
    already handed to a sipp process that may not have bound it yet."""
    for _ in range(100):
        port = free_port("udp")
        media = {m + i for m in _used_media for i in range(4)}
        if port not in _reserved and port not in media:
            _reserved.add(port)
            return port
    raise RuntimeError("no free UDP port")


def udp_port_bound(port: int) -> bool:
    """Whether some process has a UDP socket on ``port`` (read from /proc: probing by binding
    would race the process that is about to bind it)."""
    needle = f":{port:04X} "
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(needle in line.split(None, 3)[1] + " " for line in lines if line.strip()):
            return True
    return False


# -- one phone ------------------------------------------------------------------------------
@dataclass
class AgentPhone:
    spec: AgentSpec
    port: int  # the Contact port (the UAS listens here)
    rtp_port: int  # the m= port of the phone's SDP
    control_port: int
    log_path: Path
    err_path: Path
    process: subprocess.Popen[bytes] | None = None
    result: SippResult | None = None
    registration: SippResult | None = None

    @property
    def agent_id(self) -> str:
        return self.spec.agent_id

    def events(self) -> list[PhoneEvent]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return parse_log(text)

    def named(self, name: str) -> list[PhoneEvent]:
        return [e for e in self.events() if e.name == name]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def quit(self) -> None:
        """Ask sipp to stop taking calls and exit when the current ones are done."""
        if self.running():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"q", ("127.0.0.1", self.control_port))

    def wait(self, timeout: float) -> SippResult:
        assert self.process is not None
        if self.result is not None:
            return self.result
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        errors = self.err_path.read_text(errors="replace") if self.err_path.exists() else ""
        self.result = SippResult(self.process.returncode, out.decode(errors="replace"), errors)
        return self.result

    def explain(self) -> str:
        parts = [f"agent {self.agent_id} ({self.spec.behaviour}) on port {self.port}"]
        if self.registration is not None and self.registration.returncode != 0:
            parts.append("registration: " + self.registration.explain())
        if self.result is not None:
            parts.append(self.result.explain())
        if self.log_path.exists():
            parts.append("--- log ---\n" + self.log_path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)


class AgentPool:
    """Agents' phones started by `start_agents`; ``pool[agent_id]`` is an `AgentPhone`."""

    def __init__(self, acd: RunningAcd, tmp: Path, timeout: float) -> None:
        self.acd = acd
        self.tmp = tmp
        self.timeout = timeout
        self.phones: dict[str, AgentPhone] = {}

    def __getitem__(self, agent_id: str) -> AgentPhone:
        return self.phones[agent_id]

    def __iter__(self) -> Iterator[AgentPhone]:
        return iter(self.phones.values())

    # -- processes --------------------------------------------------------------------
    def start_phone(self, spec: AgentSpec) -> AgentPhone:
        sipp = require_sipp()
        port = free_sip_port()
        tag = f"agent-{spec.agent_id}-{spec.behaviour}-{time.monotonic_ns()}"
        phone = AgentPhone(
            spec=spec,
            port=port,
            rtp_port=_sdp_port(),
            control_port=free_sip_port(),
            log_path=self.tmp / f"{tag}.log",
            err_path=self.tmp / f"{tag}.err",
        )
        args = [
            sipp,
            "-sf",
            str(SCENARIOS / f"agent_{spec.behaviour}.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            "u1",
            "-nostdin",
            "-s",
            spec.agent_id,
            "-mp",
            str(free_media_base()),
            "-cp",
            str(phone.control_port),
            "-timeout",
            f"{int(self.timeout)}s",
            "-trace_err",
            "-error_file",
            str(phone.err_path),
            "-trace_logs",
            "-log_file",
            str(phone.log_path),
            "-set",
            "agent_ip",
            spec.media_ip,
            "-set",
            "agent_rtp",
            str(phone.rtp_port),
            "-set",
            "ring_ms",
            str(spec.ring_ms),
        ]
        if spec.behaviour == "hangup":
            args += ["-set", "hold_ms", str(spec.hold_ms)]
        if spec.calls is not None:
            args += ["-m", str(spec.calls), "-timeout_error"]
        phone.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.tmp
        )
        self.phones[spec.agent_id] = phone
        return phone

    def wait_listening(self, phones: Sequence[AgentPhone], timeout: float = 20.0) -> None:
        """Until every phone's UAS has bound its Contact port (polling /proc, not sleeping
        for a guessed time): an INVITE sent earlier would only be retransmitted, but a
        registration must not point at nothing."""
        deadline = time.monotonic() + timeout
        pending = list(phones)
        while pending:
            for phone in list(pending):
                if udp_port_bound(phone.port):
                    pending.remove(phone)
                elif not phone.running():
                    phone.wait(5)
                    raise RuntimeError("agent phone exited at start:\n" + phone.explain())
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} agent phones not listening in {timeout}s")
            if pending:
                time.sleep(0.01)

    def _binding_run(
        self, scenario: str, phone: AgentPhone
    ) -> tuple[str, tuple[str, int], dict[str, Any]]:
        """A sipp run of ``scenario`` (register_only / unregister) for ``phone``'s Contact,
        with its digest credentials."""
        return (
            scenario,
            self.acd.sip("udp"),
            {
                "service": phone.agent_id,
                "auth": (phone.agent_id, agent_password(phone.agent_id)),
                "variables": {"contact_port": str(phone.port)},
                "timeout": 30,
            },
        )

    def register(self, phones: Sequence[AgentPhone]) -> None:
        """REGISTER every phone's Contact (digest, Expires 300) and check the ACD took it."""
        runs = [self._binding_run("register_only", p) for p in phones]
        for phone, result in zip(phones, run_many(runs, self.tmp), strict=True):
            phone.registration = result
        failed = [p for p in phones if p.registration and p.registration.returncode != 0]
        if failed:
            raise AssertionError("registration failed:\n" + failed[0].explain())

    def unregister(self, agent_id: str) -> SippResult:
        return run_many([self._binding_run("unregister", self.phones[agent_id])], self.tmp)[0]

    def unregister_all(self) -> None:
        """Remove every binding this pool made, so later tests never ring a dead phone."""
        registered = [
            p for p in self if p.registration is not None and p.registration.returncode == 0
        ]
        runs = [self._binding_run("unregister", p) for p in registered]
        if runs:
            run_many(runs, self.tmp)

    def stop(self, grace: float = 30.0) -> dict[str, SippResult]:
        """Stop phones still running (``q``: finish current calls) and collect all results."""
        for phone in self:
            phone.quit()
        return {p.agent_id: p.wait(grace) for p in self}

    def kill(self) -> None:
        for phone in self:
            if phone.running() and phone.process is not None:
                phone.process.kill()
                phone.process.wait()

    # -- checks -----------------------------------------------------------------------
    def events(self) -> dict[str, list[PhoneEvent]]:
        return {p.agent_id: p.events() for p in self}

    def overlapping_calls(self) -> list[str]:
        """Every time a phone had two calls at once (an INVITE before the previous call's
        ``end``): each as a readable line. A phone that never ended a call counts as busy
        until the end of the test."""
        problems = []
        for phone in self:
            open_call: PhoneEvent | None = None
            for event in phone.events():
                if event.name == "invite":
                    if open_call is not None:
                        problems.append(
                            f"agent {phone.agent_id}: INVITE {event.call_id} at {event.t:.3f} "
                            f"while {open_call.call_id} (offered {open_call.t:.3f}) was not over"
                        )
                    open_call = event
                elif (
                    event.name == "end"
                    and open_call is not None
                    and event.call_id == open_call.call_id
                ):
                    open_call = None
        return problems


class SippRun:
    """One sipp client (e.g. a PBX caller) running in the background, with its log."""

    def __init__(self, scenario: str, target: tuple[str, int], tmp: Path, **kwargs: Any) -> None:
        self.log_path = tmp / f"{scenario}.{time.monotonic_ns()}.log"
        extra = list(kwargs.pop("extra", None) or [])
        extra += ["-trace_logs", "-log_file", str(self.log_path)]
        self.timeout = float(kwargs.get("timeout", 60))
        args, self.err_path = sipp_command(scenario, target, tmp, extra=extra, **kwargs)
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp
        )
        self.result: SippResult | None = None

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self) -> SippResult:
        if self.result is None:
            try:
                out, _ = self.process.communicate(timeout=self.timeout + 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                out, _ = self.process.communicate()
            errors = self.err_path.read_text(errors="replace") if self.err_path.exists() else ""
            self.result = SippResult(self.process.returncode, out.decode(errors="replace"), errors)
        return self.result

    def kill(self) -> None:
        if self.running():
            self.process.kill()
        self.wait()

    def events(self) -> list[PhoneEvent]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return parse_log(text)

    def named(self, name: str) -> list[PhoneEvent]:
        return [e for e in self.events() if e.name == name]

    def explain(self) -> str:
        result = self.wait()
        log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        return result.explain() + "\n--- log ---\n" + log


def spawn_sipp(scenario: str, target: tuple[str, int], tmp: Path, **kwargs: Any) -> SippRun:
    """Start a bounded sipp client (arguments as `harness.sipp_command`) without waiting."""
    return SippRun(scenario, target, tmp, **kwargs)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition the system under test makes true (a log line, a phone's state)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


_sdp_ports = itertools.count()


def _sdp_port() -> int:
    """The m= port a phone announces: distinct per phone (nobody sends to it)."""
    return 50000 + (os.getpid() % 50) * 200 + (next(_sdp_ports) % 100) * 2


@contextmanager
def start_agents(
    acd: RunningAcd,
    tmp: Path,
    specs: Sequence[AgentSpec],
    *,
    timeout: float = 60.0,
) -> Iterator[AgentPool]:
    """Start each agent's UAS, wait until all listen, register those with ``register``;
    on exit stop every phone (``q``, then kill) so no process outlives the test. The
    results stay on the pool's phones (``phone.result``) for assertions."""
    pool = AgentPool(acd, tmp, timeout)
    try:
        phones = [pool.start_phone(spec) for spec in specs]
        pool.wait_listening(phones)
        pool.register([p for p in phones if p.spec.register])
        yield pool
    finally:
        try:
            pool.unregister_all()
            pool.stop(grace=10.0)
        finally:
            pool.kill()
