"""The ``kpi`` section and the reserved queue names (``_all`` labels the overall figures)."""

from __future__ import annotations

import pytest

from config import KpiSettings, ServiceLevelVariant, Settings
from tests.config.helpers import minimal, validation_issues


def test_defaults_are_the_strict_reading() -> None:
    kpi = Settings(**minimal()).kpi
    assert kpi == KpiSettings()
    assert kpi.service_level_seconds == 15.0
    assert kpi.variant is ServiceLevelVariant.OF_ANSWERED_AND_ABANDONED
    assert kpi.short_abandon_seconds is None
    assert kpi.counts_unanswered_exits is False
    assert kpi.window_seconds == 86_400.0
    assert kpi.service_level_target == 0.8


def test_every_variant_is_accepted_and_matches_the_engine() -> None:
    from metrics.kpi import ServiceLevelVariant as EngineVariant

    assert {v.value for v in ServiceLevelVariant} == {v.value for v in EngineVariant}
    for variant in ServiceLevelVariant:
        data = minimal() | {"kpi": {"variant": variant.value}}
        assert Settings(**data).kpi.variant is variant


def test_values_are_read() -> None:
    data = minimal() | {
        "kpi": {"service_level_seconds": 20, "short_abandon_seconds": 5,
                "counts_unanswered_exits": True, "service_level_target": 0.9},
        "timezone": "Asia/Urumqi",
    }
    settings = Settings(**data)
    assert settings.kpi.service_level_seconds == 20.0
    assert settings.kpi.short_abandon_seconds == 5.0
    assert settings.kpi.counts_unanswered_exits is True
    assert settings.kpi.service_level_target == 0.9
    assert settings.timezone == "Asia/Urumqi"


@pytest.mark.parametrize(
    ("kpi", "loc"),
    [
        ({"service_level_seconds": -1}, ("kpi", "service_level_seconds")),
        ({"short_abandon_seconds": -0.5}, ("kpi", "short_abandon_seconds")),
        ({"variant": "asterisk"}, ("kpi", "variant")),
        ({"window_seconds": 0}, ("kpi", "window_seconds")),
        ({"service_level_target": 1}, ("kpi", "service_level_target")),
        ({"service_level_target": 0}, ("kpi", "service_level_target")),
        ({"servicelevel": 15}, ("kpi", "servicelevel")),
    ],
    ids=["negative-threshold", "negative-short-abandon", "unknown-variant", "zero-window",
         "target-one", "target-zero", "unknown-key"],
)
def test_bad_kpi_values_rejected(kpi: dict[str, object], loc: tuple[str, ...]) -> None:
    issues = validation_issues(minimal() | {"kpi": kpi})
    assert [i[0] for i in issues] == [loc], issues


def test_environment_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACD_KPI__SERVICE_LEVEL_SECONDS", "20")
    assert Settings(**minimal()).kpi.service_level_seconds == 20.0


@pytest.mark.parametrize("name", ["_all", "_x", "_"])
def test_queue_names_starting_with_underscore_are_reserved(name: str) -> None:
    data = minimal()
    data["queues"][0]["name"] = name
    issues = validation_issues(data)
    assert len(issues) == 1, issues
    loc, message = issues[0]
    assert loc == ("queues", 0, "name")
    assert "reserved" in message


def test_underscore_inside_a_name_is_fine() -> None:
    data = minimal()
    data["queues"][1]["name"] = "english_2"
    assert validation_issues(data) == []
