"""/metrics of a running ACD after sipp traffic: promtool-clean, SIP, store, routing and
staffing figures, and a real Prometheus (Debian package ``prometheus``) scraping it,
every Grafana panel's query returning a real number (never NaN).

Traffic, in this order: agents' REGISTERs (with unregister) and OPTIONS probes; then,
once Prometheus has scraped the idle ACD (so ``increase()`` sees the counters move), a
PBX caller who hangs up while queued with nobody logged in (abandoned), then two
auto-available agents' phones (`tests.sipp.agents.start_agents`) and three PBX calls
answered and hung up by the caller (``pbx_call_announce``, as tests/sipp/test_calls.py
places them); the queue's wrap-up is 1 s so the handle time is known quickly.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from queueing.erlang import erlang_a_agents_required
from tests import pg
from tests.sipp.agents import AgentSpec, SippRun, spawn_sipp, start_agents
from tests.sipp.harness import (
    RunningAcd,
    agent_password,
    free_port,
    fresh_database,
    make_config,
    run_many,
    run_sipp,
    running_acd,
    sample,
    scrape,
    scrape_text,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.sipp

pg_server = pg.pg_server

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "metrics" / "grafana" / "hotline-12345.json"
RULES = ROOT / "metrics" / "prometheus" / "rules.yml"
AGENTS = [str(1001 + i) for i in range(4)]  # REGISTER + unregister, never logged in
CALL_AGENTS = ["1005", "1006"]  # auto-available phones that answer
ANSWERED = 3
ABANDONED = 1
CALLS = ANSWERED + ABANDONED
STAFFING_PANEL = "Agents required vs logged in"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (Debian: apt-get install prometheus)")
        pytest.skip(f"{name} not installed (Debian: apt-get install prometheus)")
    return path


def prometheus_config(tmp: Path, database: str) -> Path:
    """Agents 1001-1006 (1005-1006 auto-available), queue ``general`` (12345) with a 1 s
    wrap-up; RTP on loopback, no in-dialog OPTIONS keepalive (sipp's PBX scenarios do
    not expect one)."""
    config = make_config(tmp, database, agents=len(AGENTS) + len(CALL_AGENTS), extra={
        "media": {"bind_host": "127.0.0.1", "keepalive_interval": 0}})
    data = json.loads(config.read_text())
    for agent in data["agents"]:
        agent["auto_available"] = agent["id"] in CALL_AGENTS
    data["queues"][0] |= {"wrapup_seconds": 1, "ring_timeout": 5}
    config.write_text(json.dumps(data))
    return config


@pytest.fixture(scope="module")
def acd(pg_server: pg.PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    """The ACD after the registration traffic (no calls yet)."""
    tmp = tmp_path_factory.mktemp("acd-prom")
    with fresh_database(pg_server) as url:
        config = prometheus_config(tmp, url)
        with running_acd(config, tmp) as running:
            runs = [
                ("register", running.sip(), {"service": a, "auth": (a, agent_password(a)),
                                             "timeout": 30})
                for a in AGENTS
            ]
            results = run_many(runs, tmp)
            assert all(r.returncode == 0 for r in results), results[0].explain()
            probe = run_sipp("options", running.sip(), tmp, calls=3, timeout=20)
            assert probe.returncode == 0, probe.explain()
            yield running


def test_exposition_passes_promtool(traffic: RunningAcd) -> None:
    result = subprocess.run(
        [_tool("promtool"), "check", "metrics"], input=scrape_text(traffic), capture_output=True,
        text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_sip_store_and_routing_figures_after_traffic(traffic: RunningAcd) -> None:
    m = scrape(traffic)
    n = len(AGENTS)
    received = {"direction": "received"}
    sent = {"direction": "sent"}
    # register.xml: REGISTER, challenge, REGISTER with credentials, then the same to
    # unregister (the nonce may still be good: 2 or 3 REGISTERs for that part).
    assert sample(m, "acd_sip_requests_total", method="REGISTER", **received) >= 3 * n
    assert sample(m, "acd_sip_requests_total", method="OPTIONS", **received) >= 3
    assert sample(m, "acd_sip_responses_total", code="401", **sent) >= n
    assert sample(m, "acd_sip_responses_total", code="200", **sent) >= 2 * n + 3
    assert sample(m, "acd_sip_requests_total", method="INVITE", **received) == CALLS
    assert sample(m, "acd_sip_collector_up") == 1
    assert sample(m, "acd_sip_transactions_alive") >= 0
    for name in ("acd_sip_retransmissions_total", "acd_sip_transaction_timeouts_total"):
        assert any(key[0] == name for key in m), name
    # every binding (added, removed) went through the journal to PostgreSQL
    assert sample(m, "acd_store_records_submitted_total") >= 2 * n
    assert sample(m, "acd_store_database_up") == 1
    assert sample(m, "acd_store_spool_records") == 0
    assert sample(m, "acd_store_collector_up") == 1
    # gauges read from the router at the scrape: everyone unregistered again
    assert sample(m, "acd_agents_registered") == 0
    assert sample(m, "acd_agents", status="logged-out", state="unreachable") == n
    assert sample(m, "acd_queue_calls_waiting", queue="general") == 0
    assert sample(m, "acd_queue_longest_wait_seconds", queue="general") == 0
    # exact KPIs: 3 answered within 15 s, 1 abandoned (strict: 3 / (3 + 1))
    for queue in ("general", "_all"):
        kpi = {"queue": queue, "window": "rolling_24h"}
        assert sample(m, "acd_kpi_service_level_ratio", **kpi) == 0.75
        assert sample(m, "acd_kpi_connection_ratio", **kpi) == 0.75
        assert sample(m, "acd_kpi_abandonment_ratio", **kpi) == 0.25
        assert 0 < sample(m, "acd_kpi_average_speed_of_answer_seconds", **kpi) < 15
        assert 0 < sample(m, "acd_kpi_occupancy_ratio", **kpi) < 1
        assert sample(m, "acd_kpi_calls", outcome="answered", **kpi) == ANSWERED
        assert sample(m, "acd_kpi_calls", outcome="abandoned", **kpi) == ABANDONED
    assert sample(m, "acd_kpi_collector_up") == 1
    # live staffing estimate: the ACD has run for less than 300 s (the minimum span)
    staffing = {"queue": "general"}
    rate = sample(m, "acd_queue_arrival_rate_per_second", **staffing)
    aht = sample(m, "acd_queue_handle_time_seconds", **staffing)
    patience = sample(m, "acd_queue_patience_seconds", **staffing)
    assert rate == CALLS / 300
    assert 2.0 <= aht < 10.0  # ~1 s talk (caller's BYE after 1 s) + 1 s wrap-up
    waited = sample(m, "acd_call_wait_seconds_sum", outcome="answered", **staffing) + sample(
        m, "acd_call_wait_seconds_sum", outcome="abandoned", **staffing)
    assert patience == pytest.approx(waited / ABANDONED)
    assert sample(m, "acd_agents_required", **staffing) == erlang_a_agents_required(
        rate * aht, aht, patience, 15.0, 0.8)
    assert sample(m, "acd_staffing_collector_up") == 1


# --- a real Prometheus ---------------------------------------------------------------


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every Grafana target, dashboard variables substituted
    as Grafana would for "All" queues."""
    dashboard = json.loads(DASHBOARD.read_text())
    out = []
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            expr = re.sub(r"\$\{queue(:\w+)?\}|\$queue", ".+", expr)
            expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
            expr = expr.replace("$__range", "1h")
            assert "$" not in expr, f"unsubstituted variable in {panel['title']}: {expr}"
            out.append((panel["title"], expr))
    return out


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return list(body["data"]["result"])


@pytest.fixture(scope="module")
def prometheus_server(
    acd: RunningAcd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str | None]:
    """A Prometheus scraping the idle ACD (None when it is not installed outside CI)."""
    if shutil.which("prometheus") is None and not os.environ.get("CI"):
        yield None
        return
    binary = _tool("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    # The shipped rules evaluate every 30 s; here every second, so the test is short.
    rules = tmp / "rules.yml"
    rules.write_text(re.sub(r"interval: \d+[smh]", "interval: 1s", RULES.read_text()))
    target = urllib.parse.urlsplit(acd.http).netloc
    config = tmp / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "acd", "static_configs": [{"targets": [target]}]}],
    }))
    port = free_port("tcp")
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        def scraped_twice() -> bool:
            if proc.poll() is not None:
                raise AssertionError((tmp / "prometheus.log").read_text()[-3000:])
            try:
                # two samples are needed for increase()/rate(); rules evaluated once
                return bool(_query(base, 'count_over_time(up{job="acd"}[1m]) >= 3')) and bool(
                    _query(base, "count(queue:acd_service_level_15s:ratio5m)"))
            except OSError:
                return False

        wait_for(scraped_twice, 60, "Prometheus to scrape the ACD and evaluate the rules",
                 interval=0.2)
        yield base
    finally:
        stop_process(proc)
        log.close()


def place_call(
    acd: RunningAcd, work: Path, scenario: str, caller: int, **variables: str
) -> SippRun:
    return spawn_sipp(scenario, acd.sip(), work, service="12345", timeout=40, variables={
        "caller": str(13800000000 + caller), "rtp_port": "9", **variables})


def ok(run: SippRun) -> None:
    assert run.wait().returncode == 0, run.explain()


@pytest.fixture(scope="module")
def traffic(
    acd: RunningAcd, prometheus_server: str | None, tmp_path_factory: pytest.TempPathFactory
) -> RunningAcd:
    """Calls, placed while Prometheus scrapes: one abandoned, then three answered."""
    work = tmp_path_factory.mktemp("calls")
    # Nobody is logged in: the caller waits (hold music) and hangs up after 1.5 s.
    ok(place_call(acd, work, "pbx_abandon_announce", 0, bye_ms="1500"))
    specs = [AgentSpec(a, "answer", ring_ms=200, calls=None) for a in CALL_AGENTS]
    with start_agents(acd, work, specs) as pool:
        runs = [place_call(acd, work, "pbx_call_announce", i + 1, agent_ip="127.0.0.1",
                           agent_port="any", bye_ms="1000") for i in range(ANSWERED)]
        for run in runs:
            ok(run)

        def settled() -> bool:
            m = scrape(acd)
            return (sample(m, "acd_calls_answered_total", queue="general") == ANSWERED
                    and sample(m, "acd_calls_completed_total", queue="general") == ANSWERED
                    and sample(m, "acd_calls_abandoned_total", queue="general") == ABANDONED
                    and not math.isnan(sample(m, "acd_queue_handle_time_seconds",
                                              queue="general")))

        wait_for(settled, 20, "calls answered, completed and wrapped up")
    for phone in pool:
        assert phone.result is not None and phone.result.returncode == 0, phone.explain()
    assert sum(len(p.named("answered")) for p in pool) == ANSWERED
    if prometheus_server is not None:  # Prometheus has seen the calls, rules included
        wait_for(lambda: _query(prometheus_server, f"acd_calls_answered_total >= {ANSWERED}")
                 and _query(prometheus_server, "queue:acd_service_level_15s:ratio5m >= 0"),
                 30, "Prometheus to scrape the calls", interval=0.2)
    return acd


@pytest.fixture(scope="module")
def prometheus(prometheus_server: str | None, traffic: RunningAcd) -> str:
    if prometheus_server is None:
        pytest.skip("prometheus not installed (Debian: apt-get install prometheus)")
    return prometheus_server


def test_prometheus_scrapes_the_acd(prometheus: str) -> None:
    up = _query(prometheus, 'up{job="acd"}')
    assert [float(r["value"][1]) for r in up] == [1.0]


@pytest.mark.parametrize(("title", "expr"), panel_queries(), ids=lambda v: v[:60])
def test_every_grafana_panel_returns_data(prometheus: str, title: str, expr: str) -> None:
    last: list[dict[str, Any]] = []

    def numbers() -> bool:
        last[:] = _query(prometheus, expr)
        return bool(last) and all(not math.isnan(float(s["value"][1])) for s in last)

    try:
        wait_for(numbers, 30, f"numbers for panel {title!r}", interval=0.25)
    except AssertionError as exc:
        raise AssertionError(f"{title}: {expr} -> {last}") from exc


def test_panel_list_is_complete() -> None:
    titles = {t for t, _ in panel_queries()}
    assert STAFFING_PANEL in titles
    assert len(panel_queries()) >= 20
