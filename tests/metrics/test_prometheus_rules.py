"""Prometheus rules: promtool validates them and runs their unit tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .promtool import promtool

RULES_DIR = Path(__file__).resolve().parents[2] / "metrics" / "prometheus"


def load(name: str) -> Any:
    return YAML(typ="safe").load((RULES_DIR / name).read_text())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=RULES_DIR, capture_output=True, text=True,
                          timeout=120, check=False)


def test_rules_are_valid() -> None:
    done = run("check", "rules", "rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_unit_tests_pass() -> None:
    done = run("test", "rules", "rules_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_required_rules_and_alerts_exist() -> None:
    groups = load("rules.yml")["groups"]
    records = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    alerts = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
    assert {"queue:acd_service_level_15s:ratio5m", "queue:acd_service_level_15s:ratio1h",
            ":acd_connection:ratio24h", "queue:acd_connection:ratio24h"} <= records
    assert {"AcdServiceLevelLow", "AcdConnectionRateLow", "AcdCallsWaitingNoAgent",
            "AcdLongestWaitOver15s", "AcdStoreSpoolNotEmpty"} <= alerts
    tested = load("rules_test.yml")["tests"]
    alerts_tested = {a["alertname"] for t in tested for a in t.get("alert_rule_test", [])}
    assert alerts_tested == alerts
