"""Grafana dashboard: valid JSON, every panel queried, every metric name exported."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from ruamel.yaml import YAML

from metrics.collectors import (
    AcdMetrics,
    KpiCollector,
    SipStatsCollector,
    StoreHealthCollector,
    metric_names,
)
from metrics.kpi import KpiEngine
from sip.transaction_events import SipStats

from .test_collectors import Health

ROOT = Path(__file__).resolve().parents[2] / "metrics"
DASHBOARD = ROOT / "grafana" / "hotline-12345.json"

# PromQL words that are not metric names.
_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "and",
                       "or", "unless", "bool", "offset", "inf", "nan"})
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a small, conservative tokenizer)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges
    expr = _GROUPING.sub(" ", expr)
    expr = re.sub(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,[^)]*\)", r"\1", expr)
    names = set()
    for m in _IDENT.finditer(expr):
        rest = expr[m.end():].lstrip()
        word = m.group()
        if rest.startswith("(") or word.lower() in _KEYWORDS or word[0].isdigit():
            continue
        if re.fullmatch(r"\d+(?:\.\d+)?(e\d+)?", word):
            continue
        names.add(word)
    return names


def test_tokenizer() -> None:
    assert promql_metric_names(
        'sum by (queue) (increase(acd_x_count{outcome="answered",queue=~"$queue"}[1h])) '
        "/ on (queue) group_left :acd_y:ratio1h > 0.95 and acd_z"
    ) == {"acd_x_count", ":acd_y:ratio1h", "acd_z"}
    assert promql_metric_names("label_values(acd_queue_calls_waiting, queue)") == {
        "acd_queue_calls_waiting"
    }


def exported_names() -> set[str]:
    registry = CollectorRegistry()
    engine = KpiEngine()
    AcdMetrics(registry, queues=["general"], kpi=engine)
    registry.register(KpiCollector(lambda: engine.snapshot(1.7e9), ["general"]))
    registry.register(SipStatsCollector(SipStats, lambda: 0))
    registry.register(StoreHealthCollector(Health))
    rules = YAML(typ="safe").load((ROOT / "prometheus" / "rules.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    return metric_names(registry) | recorded


@pytest.fixture(scope="module")
def dashboard() -> Any:
    return json.loads(DASHBOARD.read_text())


def test_dashboard_shape(dashboard: Any) -> None:
    assert dashboard["title"] == "12345 hotline"
    assert dashboard["uid"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["queue"]["multi"] and variables["queue"]["includeAll"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = " | ".join(p["title"] for p in dashboard["panels"]).lower()
    for needed in ("15-s answer rate", "connection rate", "calls waiting", "longest wait",
                   "agents by state", "average speed of answer", "abandonment",
                   "calls per hour"):
        assert needed in titles
    conn = next(p for p in dashboard["panels"] if p["title"] == "24 h connection rate vs 95%")
    steps = conn["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert any(s["value"] == 0.95 for s in steps)
    assert conn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"


def test_every_panel_has_a_query_using_exported_metrics(dashboard: Any) -> None:
    exported = exported_names()
    queries = [v["query"]["query"] for v in dashboard["templating"]["list"]]
    for p in dashboard["panels"]:
        exprs = [t.get("expr", "").strip() for t in p.get("targets", [])]
        assert exprs and all(exprs), f"panel {p['title']!r} has no query"
        assert p["datasource"]["uid"] == "acd-prometheus"
        queries.extend(exprs)
    used: set[str] = set()
    for q in queries:
        names = promql_metric_names(q)
        assert names, q
        used |= names
        assert names <= exported, f"{q!r} uses {sorted(names - exported)}"
    per_queue = [q for q in queries if "$queue" in q]
    assert len(per_queue) >= 10


def test_provisioning_files(dashboard: Any) -> None:
    yaml = YAML(typ="safe")
    ds = yaml.load((ROOT / "grafana" / "provisioning" / "datasources" / "acd.yaml").read_text())
    assert ds["datasources"][0]["uid"] == "acd-prometheus"
    assert ds["datasources"][0]["type"] == "prometheus"
    dp = yaml.load((ROOT / "grafana" / "provisioning" / "dashboards" / "acd.yaml").read_text())
    assert dp["providers"][0]["type"] == "file" and dp["providers"][0]["options"]["path"]
