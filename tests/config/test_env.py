"""ACD_* environment overrides on top of the YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Settings, env_overrides, load_settings
from config.models import is_known

YAML = """\
sip:
  listen: [udp:127.0.0.1:5060]
  domain: from-file.example
  realm: r
http:
  listen: 127.0.0.1:8080
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "acd.yaml"
    path.write_text(YAML)
    return path


def test_short_form_database_url(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    monkeypatch.setenv("ACD_DATABASE_URL", "postgresql://acd:pw@10.0.0.9:5432/acd")
    s = load_settings(config_file)
    assert s.database.url is not None
    assert s.database.url.get_secret_value() == "postgresql://acd:pw@10.0.0.9:5432/acd"
    assert "pw@" not in repr(s)


def test_nested_form_wins_over_short_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACD_DATABASE_URL", "postgresql://short/db")
    monkeypatch.setenv("ACD_DATABASE__URL", "postgresql://nested/db")
    url = Settings().database.url
    assert url is not None and url.get_secret_value() == "postgresql://nested/db"


def test_env_beats_file_and_merges_with_it(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    monkeypatch.setenv("ACD_SIP__DOMAIN", "from-env.example")
    monkeypatch.setenv("ACD_HTTP__LISTEN", "127.0.0.1:9090")
    s = load_settings(config_file)
    assert s.sip.domain == "from-env.example"
    assert [str(a) for a in s.sip.listen] == ["udp:127.0.0.1:5060"]  # from the file
    assert s.sip.realm == "r"
    assert s.http.listen.port == 9090


@pytest.mark.parametrize("value", [
    "udp:127.0.0.1:5070,tcp:127.0.0.1:5070",
    '["udp:127.0.0.1:5070", "tcp:127.0.0.1:5070"]',
])
def test_list_from_env(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ACD_SIP__LISTEN", value)
    assert [str(a) for a in Settings().sip.listen] == [
        "udp:127.0.0.1:5070", "tcp:127.0.0.1:5070"]


def test_scalars_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACD_LOGGING__LEVEL", "debug")
    monkeypatch.setenv("ACD_LOGGING_FORMAT", "json")
    monkeypatch.setenv("ACD_TIMEZONE", "UTC")
    monkeypatch.setenv("ACD_SIP__T1", "0.25")
    s = Settings()
    assert (s.logging.level, s.logging.format.value, s.timezone, s.sip.t1) == (
        "DEBUG", "json", "UTC", 0.25)


def test_tokens_from_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACD_HTTP__TOKENS", '[{"token": "0123456789abcdef", "role": "admin"}]')
    assert Settings().http.tokens[0].role.value == "admin"


def test_bad_env_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    monkeypatch.setenv("ACD_SIP__T1", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file)
    assert info.value.lines == [
        "ACD_SIP__T1: sip.t1: Input should be a valid number, unable to parse string as a number"
    ]


def test_bad_short_form_value_names_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                 config_file: Path) -> None:
    monkeypatch.setenv("ACD_DATABASE_URL", "mysql://x/y")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file)
    assert info.value.lines == [
        "ACD_DATABASE_URL: database.url: url must start with postgresql:// or postgres://"
    ]


def test_misspelt_override_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                       config_file: Path) -> None:
    monkeypatch.setenv("ACD_SIP__DOMIAN", "x")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file)
    assert info.value.lines == ["ACD_SIP__DOMIAN: unknown setting"]


def test_unrelated_acd_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACD_SOMETHING_ELSE", "1")
    monkeypatch.setenv("ACD_FOO__BAR", "1")
    assert env_overrides() == {}
    Settings()


def test_env_overrides_map() -> None:
    assert not is_known(("sip", "nope"))
    assert is_known(("sip", "domain")) and is_known(("timezone",))
    assert env_overrides({
        "ACD_DATABASE_URL": "", "ACD_HTTP__LISTEN": "", "ACD_SIP__DOMAIN": "",
        "ACD_TIMEZONE": "", "ACD_SIP__NOPE": "", "PATH": "",
    }) == {
        "ACD_DATABASE_URL": ("database", "url"), "ACD_HTTP__LISTEN": ("http", "listen"),
        "ACD_SIP__DOMAIN": ("sip", "domain"), "ACD_TIMEZONE": ("timezone",),
        "ACD_SIP__NOPE": ("sip", "nope"),
    }


def test_undecodable_json_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                      config_file: Path) -> None:
    monkeypatch.setenv("ACD_HTTP__TOKENS", "[not json")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file)
    assert len(info.value.lines) == 1
    assert info.value.lines[0].startswith("environment: error parsing value for field \"http\"")


def test_section_rule_broken_by_env_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    monkeypatch.setenv("ACD_HTTP__LISTEN", "0.0.0.0:8080")
    with pytest.raises(ConfigError) as info:
        load_settings(config_file)
    assert info.value.lines == [
        f"{config_file}:5: http: tokens are required when the HTTP API listens on 0.0.0.0 "
        "(only loopback may run without tokens) (with ACD_HTTP__LISTEN set)"
    ]
