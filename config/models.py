"""The root model, its environment sources and the checks that span sections.

Environment overrides (highest priority first):

1. ``ACD_<SECTION>__<FIELD>`` (pydantic-settings, nested delimiter ``__``),
2. ``ACD_<SECTION>_<FIELD>``, the short form (``ACD_DATABASE_URL``),
3. the YAML file (passed to ``Settings(**data)``),
4. defaults.
"""

from __future__ import annotations

import json
import os
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from config.kpi import KpiSettings
from config.routing import (
    DEFAULT_PAUSE_REASONS,
    AgentSettings,
    PauseReasons,
    QueueSettings,
    _pause_reasons,
)
from config.sections import (
    DatabaseSettings,
    FeatureCodes,
    HttpSettings,
    LoggingSettings,
    MediaSettings,
    SipSettings,
    TrunkSettings,
)

__all__ = ["ENV_PREFIX", "REFERENCE_ERROR", "Issue", "Settings", "env_overrides", "is_known"]

ENV_PREFIX = "ACD_"
REFERENCE_ERROR = "config_reference"
Loc = tuple[str | int, ...]
Issue = tuple[Loc, str]


class Settings(BaseSettings):
    """The whole configuration. Immutable; agents' passwords are already hashed."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    sip: SipSettings = SipSettings()
    trunks: tuple[TrunkSettings, ...] = ()
    agents: tuple[AgentSettings, ...] = ()
    queues: tuple[QueueSettings, ...] = ()
    pause_reasons: PauseReasons = DEFAULT_PAUSE_REASONS
    feature_codes: FeatureCodes = FeatureCodes()
    media: MediaSettings = MediaSettings()
    http: HttpSettings = HttpSettings()
    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()
    kpi: KpiSettings = KpiSettings()
    timezone: str = Field(default="Asia/Shanghai")

    _pause = field_validator("pause_reasons")(_pause_reasons)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; no .env files, no secrets directory.
        return env_settings, ShortEnvSource(settings_cls), init_settings

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        issues = list(cross_check(self))
        if issues:
            raise PydanticCustomError(
                REFERENCE_ERROR,
                "{summary}",
                {"summary": "; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in issues),
                 "issues": issues},
            )
        realm = self.sip.realm
        assert realm is not None  # SipSettings derives it
        object.__setattr__(self, "agents", tuple(a.hashed(realm) for a in self.agents))
        return self

    # Convenience lookups for the composition root.
    def agent(self, agent_id: str) -> AgentSettings | None:
        return next((a for a in self.agents if a.id == agent_id), None)

    def queue(self, name: str) -> QueueSettings | None:
        return next((q for q in self.queues if q.name == name), None)

    def queue_for_number(self, number: str) -> QueueSettings | None:
        return next((q for q in self.queues if number in q.numbers), None)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def summary(self) -> str:
        counts = (len(self.agents), len(self.queues), len(self.trunks))
        return ", ".join(
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in zip(counts, ("agent", "queue", "trunk"), strict=True)
        )


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _duplicates(
    items: Iterator[tuple[Loc, str]], what: str
) -> Iterator[Issue]:
    first: dict[str, Loc] = {}
    for loc, value in items:
        if value in first:
            yield loc, f"{what} {value!r} is already used at {_dotted(first[value])}"
        else:
            first[value] = loc


def cross_check(s: Settings) -> Iterator[Issue]:
    """Every rule that needs more than one model; each issue has a precise location."""
    queue_names = {q.name for q in s.queues}
    yield from _duplicates(((("agents", i, "id"), a.id) for i, a in enumerate(s.agents)),
                           "agent id")
    yield from _duplicates(((("queues", i, "name"), q.name) for i, q in enumerate(s.queues)),
                           "queue name")
    yield from _duplicates(((("trunks", i, "name"), t.name) for i, t in enumerate(s.trunks)),
                           "trunk name")
    yield from _duplicates(
        ((("queues", i, "numbers", j), n) for i, q in enumerate(s.queues)
         for j, n in enumerate(q.numbers)),
        "number",
    )
    reserved = {c: f"feature_codes.{k}" for k, c in s.feature_codes.model_dump().items()}
    agent_ids = {a.id for a in s.agents}
    for i, q in enumerate(s.queues):
        for j, n in enumerate(q.numbers):
            if n in reserved:
                yield ("queues", i, "numbers", j), f"{n!r} is {reserved[n]}"
            elif n in agent_ids:
                yield ("queues", i, "numbers", j), f"{n!r} is also an agent id"
    for i, a in enumerate(s.agents):
        for name in a.queues:
            if name not in queue_names:
                yield ("agents", i, "queues", name), f"unknown queue {name!r}"
    for i, q in enumerate(s.queues):
        yield from _check_queue(i, q, queue_names)
    yield from _overflow_cycles(s.queues)
    yield from _trunk_overlaps(s.trunks)


def _check_queue(i: int, q: QueueSettings, queue_names: set[str]) -> Iterator[Issue]:
    if q.overflow_queue is not None and q.overflow_queue not in queue_names:
        yield ("queues", i, "overflow"), f"unknown queue {q.overflow_queue!r}"
    active = dict(q.skills)
    for k, step in enumerate(q.relax):
        here: Loc = ("queues", i, "relax", k)
        if q.max_wait is not None and step.after >= q.max_wait:
            yield (*here, "after"), (
                f"step at {step.after:g} s never applies: max_wait is {q.max_wait:g} s"
            )
        for skill in step.set_level:
            if skill not in active:
                yield (*here, "set_level", skill), _not_required(skill, q.name, q.skills)
        for j, skill in enumerate(step.drop):
            if skill not in active:
                yield (*here, "drop", j), _not_required(skill, q.name, q.skills)
        for j, name in enumerate(step.add_queues):
            if name == q.name:
                yield (*here, "add_queues", j), "a queue cannot add itself"
            elif name not in queue_names:
                yield (*here, "add_queues", j), f"unknown queue {name!r}"
        active.update({k2: v for k2, v in step.set_level.items() if k2 in active})
        for skill in step.drop:
            active.pop(skill, None)


def _not_required(skill: str, queue: str, skills: Mapping[str, int]) -> str:
    if skill in skills:
        return f"skill {skill!r} was already dropped by an earlier step"
    return f"queue {queue!r} does not require skill {skill!r}"


def _overflow_cycles(queues: tuple[QueueSettings, ...]) -> Iterator[Issue]:
    target = {q.name: q.overflow_queue for q in queues}
    index = {q.name: i for i, q in enumerate(queues)}
    reported: set[str] = set()
    for q in queues:
        path = [q.name]
        nxt = target.get(q.name)
        while nxt is not None and nxt in target and nxt not in path:
            path.append(nxt)
            nxt = target.get(nxt)
        if nxt is not None and nxt == q.name and q.name not in reported:
            reported.update(path)
            yield ("queues", index[q.name], "overflow"), (
                "overflow loop: " + " -> ".join([*path, q.name])
            )


def _trunk_overlaps(trunks: tuple[TrunkSettings, ...]) -> Iterator[Issue]:
    seen: list[tuple[Loc, Any, str]] = []
    for i, t in enumerate(trunks):
        for j, net in enumerate(t.sources):
            for loc, other, name in seen:
                if net.version == other.version and net.overlaps(other):
                    yield ("trunks", i, "sources", j), (
                        f"{net} overlaps {other} of trunk {name!r} at {_dotted(loc)}"
                    )
            seen.append((("trunks", i, "sources", j), net, t.name))


# --- environment ------------------------------------------------------------------


def _sections() -> dict[str, type[BaseModel]]:
    out: dict[str, type[BaseModel]] = {}
    for name, field in Settings.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out[name] = ann
    return out


def _short_form(name: str) -> tuple[str, str] | None:
    """``database_url`` -> (database, url) when that section has that field."""
    for section, model in _sections().items():
        prefix = section + "_"
        if name.startswith(prefix) and name[len(prefix):] in model.model_fields:
            return section, name[len(prefix):]
    return None


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Loc]:
    """ACD_* variables -> the setting path each one overrides.

    Unrelated ``ACD_*`` names (no known section or top-level field) are left out; names
    under a known section but with an unknown field (``ACD_SIP__DOMIAN``) are kept so
    the loader can report them (see :func:`is_known`).
    """
    environ = os.environ if environ is None else environ
    out: dict[str, Loc] = {}
    for key in environ:
        if not key.upper().startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):].lower()
        if "__" in name:
            parts = tuple(name.split("__"))
            if parts[0] in Settings.model_fields:
                out[key] = parts
        elif name in Settings.model_fields:
            out[key] = (name,)
        elif (short := _short_form(name)) is not None:
            out[key] = short
    return out


def is_known(path: Loc) -> bool:
    """Whether an override path names a field: a section's field or a top-level field."""
    if not path or path[0] not in Settings.model_fields:
        return False
    if len(path) == 1:
        return True
    model = _sections().get(str(path[0]))
    return model is not None and path[1] in model.model_fields


class ShortEnvSource(PydanticBaseSettingsSource):
    """``ACD_DATABASE_URL`` (single underscore) as a synonym of ``ACD_DATABASE__URL``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in os.environ.items():
            if not key.upper().startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX):].lower()
            if "__" in name or (short := _short_form(name)) is None:
                continue
            section, field = short
            data.setdefault(section, {})[field] = _maybe_json(value)
        return data


def _maybe_json(value: str) -> Any:
    if value.lstrip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
