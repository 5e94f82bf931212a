"""Read a YAML file, apply ACD_* overrides, validate, and explain every error.

Every error becomes one line naming where the bad value came from::

    config.yaml:41: agents[3].skills.mandarin: Input should be less than or equal to 10
    ACD_SIP__T1: sip.t1: Input should be greater than 0

The round-trip loader of ruamel.yaml keeps the line of every key and list item, so a
pydantic error location such as ``('agents', 3, 'skills', 'mandarin')`` is walked back
through the document to its line.
"""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from config import models, routing, sections
from config.models import REFERENCE_ERROR, Loc, Settings, env_overrides, is_known

__all__ = ["EXAMPLE_NAME", "ConfigError", "load_settings", "read_example"]

EXAMPLE_NAME = "example.yaml"


class ConfigError(Exception):
    """The configuration cannot be used; ``lines`` holds one message per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def read_example() -> str:
    """The packaged example configuration (used when no file is given)."""
    return importlib.resources.files("config").joinpath(EXAMPLE_NAME).read_text("utf-8")


def load_settings(path: str | Path | None = None) -> Settings:
    """Load ``path`` (or the packaged example when None), apply ACD_* overrides."""
    if path is None:
        source, text, base_dir = f"<packaged {EXAMPLE_NAME}>", read_example(), None
    else:
        source, base_dir = str(path), Path(path).resolve().parent
        text = _read(Path(path))
    doc = _parse(text, source)
    data = _plain(doc)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}:1: the top level must be a mapping of sections"])
    bad_keys = [k for k in data if not isinstance(k, str) or k.startswith("_")]
    env = env_overrides()
    lines = [
        f"{source}:{_line(doc, (k,)) or 1}: {k}: unknown section" for k in bad_keys
    ] + [f"{var}: unknown setting" for var, loc in sorted(env.items()) if not is_known(loc)]
    if bad_keys:
        raise ConfigError(lines)
    if base_dir is not None:
        _resolve_prompts(data, base_dir)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(lines + format_errors(exc, doc, source, env)) from None
    except SettingsError as exc:
        raise ConfigError([*lines, f"environment: {_cause(exc)}"]) from None
    if lines:
        raise ConfigError(lines)
    return settings


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a YAML file"]) from None
    except PermissionError:
        raise ConfigError([f"{path}: permission denied"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: {exc.strerror or exc}"]) from None


def _parse(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if "undefined alias" in problem:
            problem += ' (quote values that start with "*", e.g. "*21")'
        raise ConfigError([f"{source}{line}: YAML syntax error: {problem}"]) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise ConfigError([f"{source}: YAML error: {first}"]) from None


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes -> plain dict/list/str/int/float/bool."""
    if isinstance(node, CommentedMap):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq | list):
        return [_plain(v) for v in node]
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _resolve_prompts(data: dict[str, Any], base_dir: Path) -> None:
    """Prompt paths in the file are relative to the file, not the working directory."""
    queues = data.get("queues")
    if not isinstance(queues, list):
        return
    for queue in queues:
        prompts = queue.get("prompts") if isinstance(queue, dict) else None
        if isinstance(prompts, dict):
            for key, value in prompts.items():
                if isinstance(value, str) and value and not Path(value).is_absolute():
                    prompts[key] = str(base_dir / value)


def _cause(exc: BaseException) -> str:
    text = str(exc)
    if exc.__cause__ is not None:
        text += f" ({exc.__cause__})"
    return text.splitlines()[0]


# --- error formatting ------------------------------------------------------------


def format_errors(
    exc: ValidationError, doc: Any, source: str, env: Mapping[str, Loc]
) -> list[str]:
    """One line per error, environment first, then in file order."""
    located: list[tuple[int, str]] = []
    for error in exc.errors():
        if error["type"] == REFERENCE_ERROR:
            pairs = list(error.get("ctx", {}).get("issues", []))
        else:
            pairs = [(tuple(error["loc"]), _message(error))]
        for loc, msg in pairs:
            where = _locate(loc, msg, doc, source, env)
            if where is not None:
                located.append(where)
    return [text for _, text in sorted(located, key=lambda pair: pair[0])]


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if error["type"] == "extra_forbidden":
        key = str(error["loc"][-1]) if error["loc"] else ""
        close = difflib.get_close_matches(key, _field_names(), n=1)
        msg = "unknown field" + (f"; did you mean {close[0]!r}?" if close else "")
    return msg


def _locate(
    loc: Loc, msg: str, doc: Any, source: str, env: Mapping[str, Loc]
) -> tuple[int, str] | None:
    """(sort key, line): the environment variable or file line behind ``loc``.

    None for errors caused by an unknown ``ACD_*`` name, which is reported already.
    """
    loc = tuple(p for p in loc if p != "[key]")
    where = models._dotted(loc)
    prefix = where + ": " if where else ""
    for var, path in sorted(env.items()):
        if tuple(str(p) for p in loc[: len(path)]) == path:
            return (-1, f"{var}: {prefix}{msg}") if is_known(path) else None
    # A rule on a whole section (loc ('http',)) may be broken by an override inside it.
    related = [var for var, path in sorted(env.items()) if loc and path[: len(loc)] == loc]
    if related:
        msg += f" (with {', '.join(related)} set)"
    line = _line(doc, loc)
    if line is None:
        return 0, f"{source}: {prefix}{msg}"
    return line, f"{source}:{line}: {prefix}{msg}"


def _line(doc: Any, loc: Loc) -> int | None:
    """1-based line of the deepest node of ``loc`` present in the document."""
    node, line = doc, None
    for part in loc:
        if isinstance(node, CommentedMap):
            key = next((k for k in node if str(k) == str(part)), _MISSING)
            if key is _MISSING:
                break
            line = node.lc.key(key)[0]
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0]
            node = node[part]
        else:
            break
    return None if line is None else int(line) + 1


_MISSING = object()


def _field_names() -> list[str]:
    names: set[str] = set()
    for module in (models, routing, sections):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                names.update(value.model_fields)
    return sorted(names)
