"""deploy/: compose.yaml and prometheus.yml parse, every file they mount exists, the
Grafana/Prometheus wiring matches the shipped provisioning, and the ACD's environment in
compose validates as configuration. (No Docker engine here: static checks only.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from config import load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_YAML = YAML(typ="safe", pure=True)
_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _load(text: str) -> Any:
    return _YAML.load(text)


def _env_example() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR:?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg or ""
        if op in (":?", "?"):
            raise AssertionError(f"{name} is required: {arg}")
        return ""

    return _VAR.sub(sub, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _load((DEPLOY / "compose.yaml").read_text())
    return interpolate(data, _env_example())  # type: ignore[no-any-return]


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        out.append((source, target))
    return out


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "migrate", "acd", "prometheus", "grafana"}
    build = compose["services"]["migrate"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert compose["services"]["acd"]["network_mode"] == "host"
    assert compose["services"]["acd"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")
    assert compose["services"]["migrate"]["command"][:2] == ["acd", "migrate"]


def test_every_bind_mount_exists(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for source, _ in _mounts(service):
            if source in named:
                continue
            path = (DEPLOY / source).resolve()
            assert path.exists(), f"{name}: {source} does not exist"


def test_prometheus_loads_the_shipped_rules(compose: dict[str, Any]) -> None:
    prom = _load((DEPLOY / "prometheus.yml").read_text())
    mounts = dict((t, s) for s, t in _mounts(compose["services"]["prometheus"]))
    rules_target = next(t for t in mounts if t.startswith("/etc/prometheus/rules/"))
    assert (DEPLOY / mounts[rules_target]).resolve() == ROOT / "metrics/prometheus/rules.yml"
    pattern = prom["rule_files"][0]
    assert Path(rules_target).match(pattern)
    assert "/etc/prometheus/prometheus.yml" in mounts
    acd_job = next(j for j in prom["scrape_configs"] if j["job_name"] == "acd")
    target = acd_job["static_configs"][0]["targets"][0]
    http_port = compose["services"]["acd"]["environment"]["ACD_HTTP__LISTEN"].rsplit(":", 1)[1]
    assert target == f"host.docker.internal:{http_port}"
    assert "host.docker.internal:host-gateway" in compose["services"]["prometheus"]["extra_hosts"]


def test_grafana_provisions_the_shipped_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {t: (DEPLOY / s).resolve() for s, t in _mounts(grafana) if s.startswith(".")}
    provisioning = ROOT / "metrics/grafana/provisioning"
    assert mounts["/etc/grafana/provisioning/datasources"] == provisioning / "datasources"
    assert mounts["/etc/grafana/provisioning/dashboards"] == provisioning / "dashboards"
    provider = _load((provisioning / "dashboards/acd.yaml").read_text())
    folder = provider["providers"][0]["options"]["path"]
    dashboards = [t for t, s in mounts.items() if s.suffix == ".json"]
    assert dashboards and all(Path(t).parent == Path(folder) for t in dashboards)
    assert mounts[dashboards[0]] == ROOT / "metrics/grafana/hotline-12345.json"
    datasource = _load((provisioning / "datasources/acd.yaml").read_text())
    url = datasource["datasources"][0]["url"]
    assert url == "http://prometheus:9090" and "prometheus" in compose["services"]


def test_acd_environment_is_a_valid_configuration(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ACD_"):
            monkeypatch.delenv(key)
    env = compose["services"]["acd"]["environment"]
    assert env == compose["services"]["migrate"]["environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = load_settings(ROOT / "config/example.yaml")
    assert settings.http.listen.host == "0.0.0.0"
    assert {t.role.value for t in settings.http.tokens} == {"read", "admin"}
    assert settings.sip.advertised_address is not None
    assert settings.sip.advertised_address.host == "10.20.0.5"
    assert settings.database.url is not None
    assert settings.database.url.get_secret_value().startswith("postgresql://acd:")


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    prom = _load((DEPLOY / "prometheus.yml").read_text())
    prom["rule_files"] = [str(ROOT / "metrics/prometheus/rules.yml")]
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps(prom))  # JSON is YAML
    result = subprocess.run([promtool, "check", "config", str(config)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
