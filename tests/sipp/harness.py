"""Run the real ACD (`acd serve` in a subprocess) and real sipp peers against it, on loopback.

The ACD binds port 0 and writes what it bound to a ready file (``acd serve --ready-file``), so
tests never race for ports and never sleep: they wait for the file, or for sipp to exit.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).parent / "scenarios"
DOMAIN = "acd.test"
STARTUP_TIMEOUT = 60.0


def require_sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        import pytest

        if os.environ.get("CI"):
            pytest.fail("sipp is not installed (apt-get install sip-tester)")
        pytest.skip("sipp is not installed (apt-get install sip-tester)")
    return path


def agent_password(agent_id: str) -> str:
    return f"pw-{agent_id}-secret"


def make_config(
    tmp: Path,
    database_url: str,
    *,
    agents: int = 60,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A config for one test run: loopback, port 0, ``agents`` agents 1001.."""
    config: dict[str, Any] = {
        "sip": {
            "listen": ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"],
            "domain": DOMAIN,
            "qualify_interval": 0,
            # sipp reads only the first challenge and knows only MD5.
            "digest_algorithms": ["MD5"],
        },
        "http": {"listen": "127.0.0.1:0"},
        # The ACD's RTP ports stay clear of the ranges sipp peers are given (-mp).
        "media": {"bind_host": "127.0.0.1", "port_min": 10000, "port_max": 14999},
        "database": {"url": database_url, "spool_dir": str(tmp / "spool")},
        "logging": {"format": "json", "level": "debug"},
        "trunks": [{"name": "pbx", "sources": ["127.0.0.0/8"]}],
        "agents": [
            {
                "id": str(1001 + i),
                "name": f"Agent {1001 + i}",
                "password": agent_password(str(1001 + i)),
                "skills": {"mandarin": 5},
            }
            for i in range(agents)
        ],
        "queues": [{"name": "general", "numbers": ["12345"], "skills": {"mandarin": 1}}],
    }
    for key, value in (extra or {}).items():
        config[key] = value
    path = tmp / "acd.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


@dataclass
class RunningAcd:
    process: subprocess.Popen[bytes]
    ready: dict[str, Any]
    log_path: Path

    def sip(self, transport: str = "udp") -> tuple[str, int]:
        for listener in self.ready["sip"]:
            if listener["transport"] == transport:
                return listener["host"], int(listener["port"])
        raise LookupError(transport)

    @property
    def http(self) -> str:
        return str(self.ready["http"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        out = []
        for line in self.log().splitlines():
            if f'"{name}"' in line:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == name:
                    out.append(record)
        return out


@contextmanager
def running_acd(config: Path, tmp: Path) -> Iterator[RunningAcd]:
    ready_file = tmp / "ready.json"
    log_path = tmp / "acd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "acd",
                "serve",
                "--config",
                str(config),
                "--ready-file",
                str(ready_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"acd exited {process.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"acd not ready in {STARTUP_TIMEOUT}s:\n{log_path.read_text()}")
            time.sleep(0.05)  # polling a file the server writes once, not synchronising on time
        ready = json.loads(ready_file.read_text())
        yield RunningAcd(process, ready, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class SippResult:
    returncode: int
    output: str
    errors: str

    def explain(self) -> str:
        return (
            f"sipp exit {self.returncode}\n--- stdout ---\n{self.output[-3000:]}"
            f"\n--- errors ---\n{self.errors[-3000:]}"
        )


def free_port(transport: str = "udp") -> int:
    """A port free right now on 127.0.0.1 (sipp writes its port into Via and Contact, so
    it must be told one; ``-p 0`` makes it advertise 5060)."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_rtp_slot = itertools.count()


def _rtp_range() -> list[str]:
    # 20000-31999: above the test ACD's media ports (make_config), below the kernel's
    # ephemeral range (32768-) that free_port() draws from.
    base = 20000 + (os.getpid() % 10) * 1200 + (next(_rtp_slot) % 300) * 4
    return ["-mp", str(base)]


def sipp_command(
    scenario: str,
    target: tuple[str, int],
    tmp: Path,
    *,
    transport: str = "udp",
    calls: int = 1,
    rate: float = 10,
    limit: int = 100,
    service: str | None = None,
    auth: tuple[str, str] | None = None,
    variables: dict[str, str] | None = None,
    extra: list[str] | None = None,
    timeout: float = 60,
    local_port: int | None = None,
) -> tuple[list[str], Path]:
    """The argv of one bounded sipp client run (``-m calls``) and its error file."""
    sipp = require_sipp()
    tag = f"{scenario}.{time.monotonic_ns()}"
    err_file = tmp / f"{tag}.err"
    args = [
        sipp,
        f"{target[0]}:{target[1]}",
        "-sf",
        str(SCENARIOS / f"{scenario}.xml"),
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-l",
        str(limit),
        "-i",
        "127.0.0.1",
        "-p",
        str(local_port or free_port(transport)),
        "-t",
        "u1" if transport == "udp" else "t1",
        "-nostdin",
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-trace_err",
        "-error_file",
        str(err_file),
        "-set",
        "domain",
        DOMAIN,
        # sipp binds an RTP socket even for signalling-only scenarios: give each
        # concurrent process its own range so 60 of them can start at once.
        *_rtp_range(),
    ]
    if service is not None:
        args += ["-s", service]
    if auth is not None:
        args += ["-au", auth[0], "-ap", auth[1]]
    for name, value in (variables or {}).items():
        args += ["-set", name, value]
    args += extra or []
    return args, err_file


def run_sipp(scenario: str, target: tuple[str, int], tmp: Path, **kwargs: Any) -> SippResult:
    """Run one sipp client scenario to completion, bounded by its timeout."""
    return run_many([(scenario, target, kwargs)], tmp)[0]


def run_many(
    runs: list[tuple[str, tuple[str, int], dict[str, Any]]], tmp: Path
) -> list[SippResult]:
    """Start several sipp clients at once (e.g. 60 agents' phones) and wait for all."""
    started = []
    for scenario, target, kwargs in runs:
        args, err_file = sipp_command(scenario, target, tmp, **kwargs)
        timeout = float(kwargs.get("timeout", 60))
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp)
        started.append((proc, err_file, timeout))
    results = []
    for proc, err_file, timeout in started:
        try:
            out, _ = proc.communicate(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        errors = err_file.read_text(errors="replace") if err_file.exists() else ""
        results.append(SippResult(proc.returncode, out.decode(errors="replace"), errors))
    return results


# -- additions for the transport / digest / qualify wire tests ------------------------------


def sip_section(**overrides: Any) -> dict[str, Any]:
    """The ``sip`` section `make_config` writes, with ``overrides`` applied (pass it as
    ``extra={"sip": sip_section(...)}``)."""
    section: dict[str, Any] = {
        "listen": ["udp:127.0.0.1:0", "tcp:127.0.0.1:0"],
        "domain": DOMAIN,
        "qualify_interval": 0,
        "digest_algorithms": ["MD5"],
    }
    section.update(overrides)
    return section


def free_port_both(host: str = "127.0.0.1", attempts: int = 50) -> int:
    """A port free right now for both UDP and TCP on ``host`` (for one listener pair that
    shares a port): bind both, close both."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(attempts):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for both UDP and TCP on {host}")


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate()`` until it returns something truthy (returned) or fail after
    ``timeout`` seconds with ``what`` in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)  # polling a log file, bounded by the deadline


def wait_for_event(
    acd: RunningAcd, name: str, timeout: float, *, after: int = 0, **match: Any
) -> dict[str, Any]:
    """The first log event ``name`` (from index ``after`` on) whose fields equal ``match``."""

    def found() -> dict[str, Any] | None:
        for record in acd.events(name)[after:]:
            if all(record.get(k) == v for k, v in match.items()):
                return record
        return None

    return wait_for(found, timeout, f"{name} {match}")  # type: ignore[no-any-return]


@contextmanager
def sipp_server(
    scenario: str, tmp: Path, port: int, *, host: str = "127.0.0.1", transport: str = "udp"
) -> Iterator[subprocess.Popen[bytes]]:
    """A sipp UAS (e.g. an agent's phone answering OPTIONS) on ``host:port`` until the block
    ends; stop it early with `stop_process`."""
    sipp = require_sipp()
    args = [
        sipp,
        "-sf",
        str(SCENARIOS / f"{scenario}.xml"),
        "-i",
        host,
        "-p",
        str(port),
        "-t",
        "u1" if transport == "udp" else "t1",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(tmp / f"{scenario}.{port}.{time.monotonic_ns()}.err"),
        *_rtp_range(),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    try:
        yield proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM one process we started (by its pid), SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def udp_port_bound(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already holds UDP ``host:port`` (a sipp UAS has started)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@contextmanager
def fresh_database(pg_server: Any) -> Iterator[str]:
    """A new empty database on the session's server for one ACD (or one restart pair)."""
    from tests import pg

    url = pg._in_thread(lambda: pg.create_database(pg_server))
    try:
        yield url
    finally:
        pg._in_thread(lambda: pg.drop_database(pg_server, url))


def scrape_text(acd: RunningAcd, timeout: float = 10) -> str:
    """The ACD's ``/metrics`` exposition, as text."""
    import urllib.request

    with urllib.request.urlopen(f"{acd.http}/metrics", timeout=timeout) as response:
        return str(response.read().decode())


def scrape(acd: RunningAcd) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted labels): value}`` from ``/metrics``."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(scrape_text(acd)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def sample(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """One sample's value; ``KeyError`` naming the sample when it is not exported."""
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        raise KeyError(f"{name}{labels} not in /metrics")
    return samples[key]
