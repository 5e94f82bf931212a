"""load_settings: YAML files, line numbers in errors, unreadable input."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings, read_example


def _errors(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> list[str]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    prefix = str(tmp_path) + "/"
    return [line.removeprefix(prefix) for line in info.value.lines]


BROKEN_AGENTS = """\
sip:
  realm: test
queues:
  - name: general
    numbers: ["12345"]
    skills: {mandarin: 6}
agents:
  - id: "1001"
    password: a
    skills: {mandarin: 8}
  - id: "1002"
    password: b
    skills:
      mandarin: 11
      english: 0
  - id: "1001"
    password: c
    queues: {nope: {}}
"""


def test_every_error_with_its_line(tmp_path: Path) -> None:
    assert _errors(tmp_path, BROKEN_AGENTS) == [
        "config.yaml:14: agents[1].skills.mandarin: Input should be less than or equal to 10",
        "config.yaml:15: agents[1].skills.english: Input should be greater than or equal to 1",
    ]


def test_reference_errors_after_field_errors_are_fixed(tmp_path: Path) -> None:
    text = BROKEN_AGENTS.replace("mandarin: 11", "mandarin: 9").replace("english: 0", "english: 3")
    assert _errors(tmp_path, text) == [
        "config.yaml:16: agents[2].id: agent id '1001' is already used at agents[0].id",
        "config.yaml:18: agents[2].queues.nope: unknown queue 'nope'",
    ]


QUEUES = """\
queues:
  - name: general
    numbers: ["12345"]
    skills: {mandarin: 6}
    relax:
      - after: 30
        set_level: {mandarin: 4}
      - after: 20
        drop: [mandarin]
  - name: english
    numbers: [12345, "123452"]
    strategy: fastest
    overflow: nowhere
    max_wait: 60
"""


def test_queue_errors(tmp_path: Path) -> None:
    assert _errors(tmp_path, QUEUES) == [
        "config.yaml:5: queues[0].relax: relax steps must have increasing 'after' "
        "(20.0 follows 30.0)",
        "config.yaml:12: queues[1].strategy: Input should be 'longest-idle', 'fewest-calls', "
        "'least-talk-time', 'round-robin', 'linear', 'random' or 'ring-all'",
    ]
    fixed = QUEUES.replace("after: 20", "after: 40").replace("    strategy: fastest\n", "")
    assert _errors(tmp_path, fixed) == [
        "config.yaml:11: queues[1].numbers[0]: number '12345' is already used at "
        "queues[0].numbers[0]",
        "config.yaml:12: queues[1].overflow: unknown queue 'nowhere'",
    ]


def test_unknown_keys_suggest_a_field(tmp_path: Path) -> None:
    text = "sip:\n  listen: [udp:127.0.0.1:5060]\n  nonce_tl: 30\nhtpp:\n  listen: x\n"
    assert _errors(tmp_path, text) == [
        "config.yaml:3: sip.nonce_tl: unknown field; did you mean 'nonce_ttl'?",
        "config.yaml:4: htpp: unknown field; did you mean 'http'?",
    ]


def test_section_level_rule_points_at_section(tmp_path: Path) -> None:
    text = "# comment\nsip:\n  t1: 5\n  t2: 4\n"
    assert _errors(tmp_path, text) == [
        "config.yaml:2: sip: t1 (5.0) must be less than t2 (4.0)"
    ]


def test_list_item_line(tmp_path: Path) -> None:
    text = "trunks:\n  - name: pbx\n    sources:\n      - 10.0.0.0/8\n      - 10.0.0.1/24\n"
    assert _errors(tmp_path, text) == [
        "config.yaml:5: trunks[0].sources[1]: '10.0.0.1/24' has host bits set; "
        "did you mean 10.0.0.0/24?",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("sip:\n  listen: [udp:127.0.0.1:5060\n",
     "config.yaml:3: YAML syntax error: expected ',' or ']', but got '<stream end>'"),
    ("feature_codes:\n  pause: *22\n",
     "config.yaml:2: YAML syntax error: found undefined alias '22' "
     '(quote values that start with "*", e.g. "*21")'),
    ("sip: {}\nsip: {}\n", 'config.yaml:2: YAML syntax error: found duplicate key "sip" '
     'with value "{}" (original value: "{}")'),
    ("- a\n- b\n", "config.yaml:1: the top level must be a mapping of sections"),
    ("_env_prefix: X\n", "config.yaml:1: _env_prefix: unknown section"),
    ("\tsip: 1\n", "config.yaml:1: YAML syntax error: found character '\\t' that cannot "
     "start any token"),
])
def test_yaml_problems_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert _errors(tmp_path, text) == [expected]


def test_not_utf8(tmp_path: Path) -> None:
    assert _errors(tmp_path, b"timezone: \xff\n") == ["config.yaml: not UTF-8 text (byte 10)"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.yaml")
    assert info.value.lines == [f"{tmp_path}/nope.yaml: no such file"]
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert info.value.lines == [f"{tmp_path}: is a directory, not a YAML file"]


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    assert load_settings(path).summary() == "0 agents, 0 queues, 0 trunks"


def test_prompt_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "hello.wav").write_bytes(b"RIFF")
    path = tmp_path / "acd.yaml"
    path.write_text("queues:\n  - name: q\n    prompts: {greeting: prompts/hello.wav}\n")
    assert load_settings(path).queues[0].prompts.greeting == tmp_path / "prompts" / "hello.wav"
    path.write_text("queues:\n  - name: q\n    prompts: {hold_music: prompts/moh.wav}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.lines == [
        f"{path}:3: queues[0].prompts.hold_music: file not found: {tmp_path}/prompts/moh.wav"
    ]


def test_packaged_example_is_the_default_and_matches_the_file() -> None:
    repo_copy = Path(__file__).parents[2] / "config" / "example.yaml"
    assert read_example() == repo_copy.read_text(encoding="utf-8")
    assert load_settings(None) == load_settings(repo_copy)
