"""Every validation rule: one valid baseline, one failing mutation per rule."""

from __future__ import annotations

import copy
import hashlib
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from config import (
    AgentSettings,
    HostPort,
    ListenAddress,
    Settings,
    Strategy,
    Transport,
    compute_ha1,
    load_settings,
)
from tests.config.helpers import minimal, validation_issues

Data = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Data], None]:
    """Mutation that sets a dotted path (``agents.0.skills.mandarin``)."""

    def mutate(data: Data) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _append(path: str, value: Any) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        node: Any = data
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        node.append(value)

    return mutate


def _both(*fns: Callable[[Data], None]) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        for fn in fns:
            fn(data)

    return mutate


def _relax(*steps: Data, **queue: Any) -> Callable[[Data], None]:
    return _both(_set("queues.0.relax", list(steps)),
                 *(_set(f"queues.0.{k}", v) for k, v in queue.items()))


AGENT3 = {"id": "1003", "password": "x", "skills": {}}
OVERFLOW = {"overflow": "english", "max_wait": 300}

# (case id, mutation, expected location, expected message fragment)
CASES: list[tuple[str, Callable[[Data], None], tuple[str | int, ...], str]] = [
    # sip
    ("listen-transport", _set("sip.listen", ["sctp:127.0.0.1:5060"]), ("sip", "listen", 0),
     "unknown transport 'sctp'"),
    ("listen-no-port", _set("sip.listen", ["udp:127.0.0.1"]), ("sip", "listen", 0),
     "missing port"),
    ("listen-no-transport", _set("sip.listen", ["127.0.0.1"]), ("sip", "listen", 0),
     "expected transport:host:port"),
    ("listen-v6-brackets", _set("sip.listen", ["udp:::1:5060"]), ("sip", "listen", 0),
     "brackets"),
    ("listen-port-range", _set("sip.listen", ["udp:127.0.0.1:70000"]), ("sip", "listen", 0),
     "out of range"),
    ("listen-hostname", _set("sip.listen", ["udp:localhost:5060"]), ("sip", "listen", 0),
     "not an IP address"),
    ("listen-twice", _set("sip.listen", ["udp:127.0.0.1:5060", "udp:127.0.0.1:5060"]),
     ("sip", "listen"), "listed twice"),
    ("listen-empty", _set("sip.listen", []), ("sip", "listen"), "at least 1"),
    ("wildcard-needs-advertised", _set("sip.listen", ["udp:0.0.0.0:5060"]), ("sip",),
     "advertised_address is required"),
    ("advertised-port", _set("sip.advertised_address", "10.0.0.1:0"),
     ("sip", "advertised_address"), "out of range"),
    ("advertised-host", _set("sip.advertised_address", "bad host!"),
     ("sip", "advertised_address"), "not an IP address or host name"),
    ("t1-lt-t2", _set("sip.t1", 5.0), ("sip",), "t1 (5.0) must be less than t2"),
    ("t1-positive", _set("sip.t1", 0), ("sip", "t1"), "greater than 0"),
    ("expires-order", _set("sip.default_expires", 30), ("sip",), "min_expires <="),
    ("qualify-negative", _set("sip.qualify_interval", -1), ("sip", "qualify_interval"),
     "greater than or equal to 0"),
    ("auth-limit", _set("sip.auth_failure_limit", {"failures": 0}),
     ("sip", "auth_failure_limit", "failures"), "greater than or equal to 1"),
    ("sip-unknown-field", _set("sip.nonce_tl", 3), ("sip", "nonce_tl"), "Extra inputs"),
    # trunks
    ("trunk-host-bits", _set("trunks.0.sources", ["10.0.0.1/24"]), ("trunks", 0, "sources", 0),
     "did you mean 10.0.0.0/24"),
    ("trunk-not-ip", _set("trunks.0.sources", ["pbx.local"]), ("trunks", 0, "sources", 0),
     "not an IP address or CIDR"),
    ("trunk-no-sources", _set("trunks.0.sources", []), ("trunks", 0, "sources"), "at least 1"),
    ("trunk-name-dup", _append("trunks", {"name": "pbx", "sources": ["10.1.0.0/16"]}),
     ("trunks", 1, "name"), "already used at trunks[0].name"),
    ("trunk-overlap", _append("trunks", {"name": "sbc", "sources": ["127.0.0.0/8"]}),
     ("trunks", 1, "sources", 0), "overlaps 127.0.0.1/32 of trunk 'pbx'"),
    # agents
    ("agent-id-chars", _set("agents.0.id", "10 01"), ("agents", 0, "id"), "pattern"),
    ("agent-id-dup", _set("agents.1.id", "1001"), ("agents", 1, "id"),
     "agent id '1001' is already used at agents[0].id"),
    ("agent-both-secrets", _set("agents.0.ha1", "0" * 32), ("agents", 0), "not both"),
    ("agent-no-secret", _set("agents.0.password", None), ("agents", 0),
     "password or ha1 is required"),
    ("agent-empty-password", _set("agents.0.password", ""), ("agents", 0), "must not be empty"),
    ("agent-ha1-length", _both(_set("agents.0.password", None), _set("agents.0.ha1", "abc")),
     ("agents", 0, "ha1"), "pattern"),
    ("agent-sha256-alone", _both(_set("agents.0.password", None),
                                 _set("agents.0.ha1_sha256", "a" * 64)),
     ("agents", 0), "needs ha1"),
    ("agent-skill-high", _set("agents.0.skills.mandarin", 11), ("agents", 0, "skills", "mandarin"),
     "less than or equal to 10"),
    ("agent-skill-low", _set("agents.0.skills.mandarin", 0), ("agents", 0, "skills", "mandarin"),
     "greater than or equal to 1"),
    ("agent-skill-name", _set("agents.0.skills", {"bad skill": 3}),
     ("agents", 0, "skills", "bad skill", "[key]"), "pattern"),
    ("agent-tier-queue", _set("agents.0.queues", {"nope": {}}), ("agents", 0, "queues", "nope"),
     "unknown queue 'nope'"),
    ("agent-tier-position", _set("agents.0.queues", {"general": {"position": 0}}),
     ("agents", 0, "queues", "general", "position"), "greater than or equal to 1"),
    ("agent-wrapup", _set("agents.0.wrapup_seconds", -1), ("agents", 0, "wrapup_seconds"),
     "greater than or equal to 0"),
    # queues
    ("queue-name-dup", _append("queues", {"name": "general"}), ("queues", 2, "name"),
     "queue name 'general' is already used at queues[0].name"),
    ("number-dup-across", _set("queues.1.numbers", ["12345"]), ("queues", 1, "numbers", 0),
     "number '12345' is already used at queues[0].numbers[0]"),
    ("number-dup-within", _set("queues.0.numbers", ["1", "1"]), ("queues", 0, "numbers"),
     "listed twice"),
    ("number-feature-code", _set("queues.0.numbers", ["*21"]), ("queues", 0, "numbers", 0),
     "feature_codes.available"),
    ("number-agent-id", _set("queues.0.numbers", ["1001"]), ("queues", 0, "numbers", 0),
     "also an agent id"),
    ("number-chars", _set("queues.0.numbers", ["12 345"]), ("queues", 0, "numbers", 0),
     "pattern"),
    ("strategy", _set("queues.0.strategy", "fastest"), ("queues", 0, "strategy"),
     "'longest-idle'"),
    ("queue-skill-level", _set("queues.0.skills.mandarin", 11),
     ("queues", 0, "skills", "mandarin"), "less than or equal to 10"),
    ("overflow-unknown", _set("queues.1.overflow", "nope"), ("queues", 1, "overflow"),
     "unknown queue 'nope'"),
    ("overflow-self", _set("queues.1.overflow", "english"), ("queues", 1), "itself"),
    ("overflow-loop", _set("queues.0.overflow", "english"), ("queues", 0, "overflow"),
     "overflow loop: general -> english -> general"),
    ("overflow-uri", _set("queues.1.overflow", "sip:"), ("queues", 1, "overflow"),
     "not a valid SIP URI"),
    ("overflow-garbage", _set("queues.1.overflow", "voice mail"), ("queues", 1, "overflow"),
     "neither a queue name nor a sip: URI"),
    ("no-agents-needs-target", _set("queues.0.when_no_agents", "overflow"), ("queues", 0),
     "needs an overflow target"),
    ("max-wait-needs-target", _set("queues.0.max_wait", 60), ("queues", 0),
     "max_wait needs an overflow target"),
    ("when-no-agents", _set("queues.0.when_no_agents", "hangup"), ("queues", 0, "when_no_agents"),
     "'wait' or 'overflow'"),
    ("ring-timeout", _set("queues.0.ring_timeout", 0), ("queues", 0, "ring_timeout"),
     "greater than 0"),
    ("max-no-answers", _set("queues.0.max_no_answers", -1), ("queues", 0, "max_no_answers"),
     "greater than or equal to 0"),
    ("media", _set("queues.0.media", "silence"), ("queues", 0, "media"), "'announce'"),
    ("prompt-missing", _set("queues.0.prompts", {"greeting": "/nonexistent/hello.wav"}),
     ("queues", 0, "prompts", "greeting"), "file not found"),
    ("relax-increasing", _relax({"after": 30, "set_level": {"mandarin": 5}},
                                {"after": 30, "set_level": {"mandarin": 4}}),
     ("queues", 0, "relax"), "increasing"),
    ("relax-empty-step", _relax({"after": 30}), ("queues", 0, "relax", 0), "needs set_level"),
    ("relax-after-positive", _relax({"after": 0, "drop": ["mandarin"]}),
     ("queues", 0, "relax", 0, "after"), "greater than 0"),
    ("relax-set-unknown", _relax({"after": 10, "set_level": {"english": 4}}),
     ("queues", 0, "relax", 0, "set_level", "english"), "does not require skill 'english'"),
    ("relax-drop-unknown", _relax({"after": 10, "drop": ["cantonese"]}),
     ("queues", 0, "relax", 0, "drop", 0), "does not require skill 'cantonese'"),
    ("relax-after-drop", _relax({"after": 10, "drop": ["mandarin"]},
                                {"after": 20, "set_level": {"mandarin": 2}}),
     ("queues", 0, "relax", 1, "set_level", "mandarin"), "already dropped"),
    ("relax-set-and-drop", _relax({"after": 10, "drop": ["mandarin"],
                                   "set_level": {"mandarin": 2}}),
     ("queues", 0, "relax", 0), "both set and dropped"),
    ("relax-level", _relax({"after": 10, "set_level": {"mandarin": 0}}),
     ("queues", 0, "relax", 0, "set_level", "mandarin"), "greater than or equal to 1"),
    ("relax-add-unknown", _relax({"after": 10, "add_queues": ["nope"]}),
     ("queues", 0, "relax", 0, "add_queues", 0), "unknown queue 'nope'"),
    ("relax-add-self", _relax({"after": 10, "add_queues": ["general"]}),
     ("queues", 0, "relax", 0, "add_queues", 0), "cannot add itself"),
    ("relax-after-max-wait", _relax({"after": 400, "add_queues": ["english"]}, **OVERFLOW),
     ("queues", 0, "relax", 0, "after"), "never applies: max_wait is 300 s"),
    # pause reasons, feature codes
    ("pause-dup", _set("pause_reasons", ["lunch", "lunch"]), ("pause_reasons",), "twice"),
    ("pause-code", _set("pause_reasons", ["Lunch Break"]), ("pause_reasons", 0), "pattern"),
    ("feature-dup", _set("feature_codes", {"pause": "*21"}), ("feature_codes",),
     "pause and available both use *21"),
    ("feature-chars", _set("feature_codes", {"pause": "pause"}), ("feature_codes", "pause"),
     "pattern"),
    # http
    ("http-hostname", _set("http.listen", "localhost:8080"), ("http", "listen"),
     "not an IP address"),
    ("http-port", _set("http.listen", "127.0.0.1"), ("http", "listen"), "missing port"),
    ("http-open", _set("http.listen", "0.0.0.0:8080"), ("http",), "tokens are required"),
    ("http-short-token", _set("http.tokens", [{"token": "short", "role": "admin"}]),
     ("http", "tokens", 0, "token"), "at least 16"),
    ("http-role", _set("http.tokens", [{"token": "x" * 20, "role": "root"}]),
     ("http", "tokens", 0, "role"), "'read' or 'admin'"),
    ("http-token-dup", _set("http.tokens", [{"token": "x" * 20}, {"token": "x" * 20}]),
     ("http", "tokens"), "twice"),
    # database, logging, timezone, top level
    ("db-scheme", _set("database.url", "mysql://x@y/z"), ("database", "url"), "postgresql://"),
    ("log-level", _set("logging.level", "verbose"), ("logging", "level"), "unknown level"),
    ("log-format", _set("logging.format", "xml"), ("logging", "format"), "'auto'"),
    ("timezone", _set("timezone", "Mars/Olympus"), ("timezone",), "unknown time zone"),
    ("unknown-section", _set("queue", []), ("queue",), "Extra inputs"),
]


@pytest.mark.parametrize(("mutate", "loc", "fragment"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_rejects(mutate: Callable[[Data], None], loc: tuple[str | int, ...],
                      fragment: str) -> None:
    data = copy.deepcopy(minimal())
    mutate(data)
    issues = validation_issues(data)
    assert any(got_loc == loc and fragment in msg for got_loc, msg in issues), issues


def test_baseline_is_valid() -> None:
    assert validation_issues(minimal()) == []


def test_empty_configuration_is_valid() -> None:
    s = Settings()
    assert [str(a) for a in s.sip.listen] == ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]
    assert str(s.http.listen) == "127.0.0.1:8080"
    assert (s.agents, s.queues, s.trunks) == ((), (), ())
    assert s.timezone == "Asia/Shanghai"
    assert s.database.url is None


def test_example_is_valid() -> None:
    s = load_settings(None)
    assert s.summary() == "60 agents, 4 queues, 1 trunk"
    assert [a.id for a in s.agents] == [str(n) for n in range(1001, 1061)]
    assert s.queue_for_number("12345") is s.queue("general")
    assert s.trunks[0].allows("127.0.0.1") and s.trunks[0].allows("::1")
    assert not s.trunks[0].allows("10.0.0.1")


def test_password_becomes_ha1_and_is_dropped() -> None:
    s = Settings(**minimal())
    agent = s.agent("1001")
    assert agent is not None
    assert agent.password is None
    assert agent.ha1 == hashlib.md5(b"1001:test:secret-1001").hexdigest()
    assert agent.ha1_sha256 == hashlib.sha256(b"1001:test:secret-1001").hexdigest()
    assert "secret-1001" not in repr(s)
    assert "secret-1001" not in s.model_dump_json()


def test_realm_defaults_to_domain_and_domain_to_advertised_host() -> None:
    data = minimal()
    del data["sip"]["realm"]
    s = Settings(**data)
    assert (s.sip.advertised_address, s.sip.domain, s.sip.realm) == (
        HostPort("127.0.0.1", 5060), "127.0.0.1", "127.0.0.1")
    data["sip"]["domain"] = "hotline.example"
    s = Settings(**data)
    assert s.sip.realm == "hotline.example"
    assert s.agents[0].ha1 == compute_ha1("1001", "hotline.example", "secret-1001")


def test_precomputed_ha1_is_kept() -> None:
    data = minimal()
    data["agents"][0] = {"id": "1001", "ha1": "AB" * 16, "ha1_sha256": "cd" * 32}
    agent = Settings(**data).agents[0]
    assert (agent.ha1, agent.ha1_sha256, agent.password) == ("ab" * 16, "cd" * 32, None)


def test_agent_hashed_is_a_copy() -> None:
    agent = AgentSettings(id="7", password="pw")  # type: ignore[arg-type]
    hashed = agent.hashed("r")
    assert agent.password is not None and hashed.password is None
    assert hashed.ha1 == hashlib.md5(b"7:r:pw").hexdigest()


def test_unquoted_yaml_numbers_become_strings() -> None:
    data = minimal()
    data["agents"][0]["id"] = 1001
    data["agents"][0]["password"] = 1234
    data["queues"][0]["numbers"] = 12345
    s = Settings(**data)
    assert s.agents[0].id == "1001"
    assert s.queues[0].numbers == ("12345",)


@pytest.mark.parametrize(("text", "expected"), [
    ("udp:127.0.0.1:5060", (Transport.UDP, "127.0.0.1", 5060)),
    ("TCP:10.0.0.1:5080", (Transport.TCP, "10.0.0.1", 5080)),
    ("udp:[::1]:5060", (Transport.UDP, "::1", 5060)),
    ("udp:127.0.0.1:0", (Transport.UDP, "127.0.0.1", 0)),
])
def test_listen_address_parses_and_round_trips(text: str, expected: tuple[Any, ...]) -> None:
    address = ListenAddress.parse(text)
    assert (address.transport, address.host, address.port) == expected
    assert ListenAddress.parse(str(address)) == address


def test_ipv6_listen_derives_bracketed_advertised_address() -> None:
    s = Settings(sip={"listen": ["udp:[::1]:5070"]})  # type: ignore[arg-type]
    assert str(s.sip.advertised_address) == "[::1]:5070"


def test_listen_accepts_comma_separated_string() -> None:
    s = Settings(sip={"listen": "udp:127.0.0.1:5060, tcp:127.0.0.1:5061"})  # type: ignore[arg-type]
    assert [a.port for a in s.sip.listen] == [5060, 5061]


def test_agent_tier_shorthand_and_defaults() -> None:
    data = minimal()
    data["agents"][0]["queues"] = ["general"]
    data["agents"][1]["queues"] = {"english": None, "general": {"position": 3}}
    s = Settings(**data)
    assert s.agents[0].queues["general"].position == 1
    assert s.agents[1].queues["general"].position == 3


def test_defaults_of_a_queue() -> None:
    q = Settings(**minimal()).queues[0]
    assert (q.strategy, q.ring_timeout, q.wrapup_seconds, q.no_answer_delay,
            q.max_no_answers, q.max_wait, q.media.value) == (
        Strategy.LONGEST_IDLE, 15.0, 10.0, 5.0, 3, None, "announce")


def test_no_answer_is_always_a_pause_reason() -> None:
    s = Settings(pause_reasons=["lunch"])  # type: ignore[arg-type]
    assert s.pause_reasons == ("lunch", "no-answer")


def test_sip_uri_overflow_is_accepted() -> None:
    data = minimal()
    data["queues"][1]["overflow"] = "sip:voicemail@10.0.0.5:5070"
    assert Settings(**data).queues[1].overflow_queue is None


def test_ipv6_trunk_and_empty_database_url() -> None:
    data = minimal()
    data["trunks"][0]["sources"] = ["2001:db8::/32", "127.0.0.1"]
    data["database"] = {"url": ""}
    s = Settings(**data)
    assert s.trunks[0].sources[0] == ipaddress.ip_network("2001:db8::/32")
    assert s.database.url is None


def test_prompt_file_that_exists(tmp_path: Path) -> None:
    wav = tmp_path / "hello.wav"
    wav.write_bytes(b"RIFF")
    data = minimal()
    data["queues"][0]["prompts"] = {"greeting": str(wav)}
    assert Settings(**data).queues[0].prompts.greeting == wav


def test_settings_are_immutable() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.timezone = "UTC"


def test_call_control_fields_default_and_validate() -> None:
    s = Settings(**minimal())
    q = s.queues[0]
    assert (q.language.value, q.announce_interval) == ("zh", 30.0)
    assert (s.media.port_min, s.media.port_max, s.media.keepalive_interval,
            s.media.session_expires, s.media.advertised_host) == (16384, 32767, 30.0, 1800, None)
    data = minimal()
    data["queues"][0].update(language="en", announce_interval=0)
    data["media"] = {"port_min": 20000, "port_max": 20100, "advertised_host": "10.1.2.3"}
    s = Settings(**data)
    assert s.queues[0].language.value == "en" and s.media.advertised_host == "10.1.2.3"
    for bad in ({"port_min": 30000, "port_max": 20000}, {"session_expires": 60},
                {"bind_host": "not-an-ip"}, {"keepalive_interval": -1}):
        data = minimal()
        data["media"] = bad
        assert validation_issues(data), bad
    data = minimal()
    data["queues"][0]["language"] = "fr"
    assert validation_issues(data)
