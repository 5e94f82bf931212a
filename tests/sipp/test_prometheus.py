"""/metrics of a running ACD after sipp traffic: promtool-clean, SIP and store counters,
and a real Prometheus (Debian package ``prometheus``) scraping it, every Grafana panel's
query returning data.

Calls are not driven here yet (the call-control engine is not in this build): the
traffic is agents' REGISTERs and OPTIONS probes. Panels whose figures need calls return
series whose value is NaN (0/0) until calls flow; they are listed in
``CALL_DEPENDENT_PANELS`` and checked for presence, not value.
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

from tests import pg
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
AGENTS = [str(1001 + i) for i in range(4)]

#: Panels whose value is a ratio of call counts: NaN (no calls) in this build.
CALL_DEPENDENT_PANELS = {
    "15-s answer rate (24 h, exact)",
    "24 h connection rate (exact)",
    "15-s answer rate",
    "24 h connection rate vs 95%",
    "Average speed of answer (1 h)",
    "Abandonment (1 h)",
    "Occupancy (24 h, exact)",
}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (Debian: apt-get install prometheus)")
        pytest.skip(f"{name} not installed (Debian: apt-get install prometheus)")
    return path


@pytest.fixture(scope="module")
def acd(pg_server: pg.PgServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAcd]:
    tmp = tmp_path_factory.mktemp("acd-prom")
    with fresh_database(pg_server) as url:
        config = make_config(tmp, url, agents=len(AGENTS))
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


def test_exposition_passes_promtool(acd: RunningAcd) -> None:
    result = subprocess.run(
        [_tool("promtool"), "check", "metrics"], input=scrape_text(acd), capture_output=True,
        text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_sip_store_and_routing_figures_after_traffic(acd: RunningAcd) -> None:
    m = scrape(acd)
    n = len(AGENTS)
    received = {"direction": "received"}
    sent = {"direction": "sent"}
    # register.xml: REGISTER, challenge, REGISTER with credentials, then the same to
    # unregister (the nonce may still be good: 2 or 3 REGISTERs for that part).
    assert sample(m, "acd_sip_requests_total", method="REGISTER", **received) >= 3 * n
    assert sample(m, "acd_sip_requests_total", method="OPTIONS", **received) >= 3
    assert sample(m, "acd_sip_responses_total", code="401", **sent) >= n
    assert sample(m, "acd_sip_responses_total", code="200", **sent) >= 2 * n + 3
    assert sample(m, "acd_sip_requests_total", method="INVITE", **received) == 0
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
    # exact KPIs: exported for the queue and overall, NaN with no calls
    assert math.isnan(sample(m, "acd_kpi_service_level_ratio", queue="_all",
                             window="rolling_24h"))
    assert sample(m, "acd_kpi_calls", queue="general", window="rolling_24h",
                  outcome="answered") == 0
    assert sample(m, "acd_kpi_collector_up") == 1


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
def prometheus(acd: RunningAcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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


def test_prometheus_scrapes_the_acd(prometheus: str) -> None:
    up = _query(prometheus, 'up{job="acd"}')
    assert [float(r["value"][1]) for r in up] == [1.0]


@pytest.mark.parametrize(("title", "expr"), panel_queries(), ids=lambda v: v[:60])
def test_every_grafana_panel_returns_data(prometheus: str, title: str, expr: str) -> None:
    def result() -> list[dict[str, Any]]:
        return _query(prometheus, expr)

    series = wait_for(result, 30, f"data for panel {title!r}: {expr}", interval=0.25)
    values = [float(s["value"][1]) for s in series]
    if title in CALL_DEPENDENT_PANELS:
        return  # present; NaN (0/0) until calls flow
    assert all(not math.isnan(v) for v in values), (title, expr, series)


def test_panel_list_is_complete() -> None:
    titles = {t for t, _ in panel_queries()}
    assert titles >= CALL_DEPENDENT_PANELS, CALL_DEPENDENT_PANELS - titles
    assert len(panel_queries()) >= 20
