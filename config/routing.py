"""Routing sections: agents, queues, relaxation steps, pause reasons."""

from __future__ import annotations

import enum
import hashlib
import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from config.sections import Section
from config.types import Code, Level, Name, Number

__all__ = [
    "DEFAULT_PAUSE_REASONS",
    "AgentSettings",
    "Language",
    "Media",
    "Prompts",
    "QueueSettings",
    "QueueTier",
    "RelaxStep",
    "Strategy",
    "WhenNoAgents",
    "compute_ha1",
]

DEFAULT_PAUSE_REASONS = ("break", "lunch", "training", "meeting", "no-answer")
Seconds = Annotated[float, Field(ge=0)]


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """RFC 7616 HA1 = H(username ":" realm ":" password), lower-case hex."""
    data = f"{username}:{realm}:{password}".encode()
    if algorithm.upper() == "MD5":
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    if algorithm.upper() == "SHA-256":
        return hashlib.sha256(data).hexdigest()
    raise ValueError(f"unsupported digest algorithm {algorithm!r}")


class QueueTier(Section):
    """Explicit membership of an agent in a queue (mod_callcenter tiers)."""

    level: int = Field(default=1, ge=1, le=9)
    position: int = Field(default=1, ge=1, le=99)


class AgentSettings(Section):
    #: SIP username the softphone registers with.
    id: Name
    name: str = ""
    #: Clear-text password: only accepted on input; replaced by ha1/ha1_sha256 on load.
    password: SecretStr | None = None
    ha1: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    ha1_sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    skills: dict[Name, Level] = Field(default_factory=dict)
    queues: dict[Name, QueueTier] = Field(default_factory=dict)
    wrapup_seconds: Seconds | None = None
    auto_available: bool = False

    @field_validator("password", mode="before")
    @classmethod
    def _password_str(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("ha1", "ha1_sha256")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return None if value is None else value.lower()

    @field_validator("queues", mode="before")
    @classmethod
    def _tier_defaults(cls, value: Any) -> Any:
        # `queues: [general, complaints]` is shorthand for default tiers.
        if isinstance(value, list):
            return {name: {} for name in value}
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if self.password is not None and (self.ha1 is not None or self.ha1_sha256 is not None):
            raise ValueError("give either password or ha1/ha1_sha256, not both")
        if self.password is None and self.ha1 is None:
            if self.ha1_sha256 is not None:
                raise ValueError("ha1_sha256 needs ha1 (MD5) as well: every softphone can do MD5")
            raise ValueError("password or ha1 is required")
        if self.password is not None and not self.password.get_secret_value():
            raise ValueError("password must not be empty")
        return self

    def hashed(self, realm: str) -> AgentSettings:
        """Copy with HA1s computed for ``realm`` and the clear-text password dropped."""
        if self.password is None:
            return self
        clear = self.password.get_secret_value()
        return self.model_copy(
            update={
                "password": None,
                "ha1": compute_ha1(self.id, realm, clear, "MD5"),
                "ha1_sha256": compute_ha1(self.id, realm, clear, "SHA-256"),
            }
        )


class Strategy(enum.StrEnum):
    LONGEST_IDLE = "longest-idle"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    ROUND_ROBIN = "round-robin"
    LINEAR = "linear"
    RANDOM = "random"
    RING_ALL = "ring-all"


class WhenNoAgents(enum.StrEnum):
    #: Queue the call even when no agent is logged in.
    WAIT = "wait"
    #: Send the call to `overflow` at once when no agent is logged in.
    OVERFLOW = "overflow"


class Media(enum.StrEnum):
    ANNOUNCE = "announce"
    RINGBACK = "ringback"


class Language(enum.StrEnum):
    ZH = "zh"
    EN = "en"


class RelaxStep(Section):
    """After `after` seconds of waiting, loosen the call's requirements."""

    after: float = Field(gt=0)
    set_level: dict[Name, Level] = Field(default_factory=dict)
    drop: tuple[Name, ...] = ()
    add_queues: tuple[Name, ...] = ()

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        if not (self.set_level or self.drop or self.add_queues):
            raise ValueError("a relax step needs set_level, drop or add_queues")
        both = sorted(set(self.set_level) & set(self.drop))
        if both:
            raise ValueError(f"skill {both[0]!r} is both set and dropped in one step")
        return self


class Prompts(Section):
    """Audio files (relative paths: relative to the configuration file)."""

    greeting: Path | None = None
    hold_music: Path | None = None
    position: Path | None = None

    @field_validator("greeting", "hold_music", "position")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value


_SIP_URI = re.compile(r"^sips?:[^\s@]+@[^\s]+$|^sips?:[^\s@]+$")


class QueueSettings(Section):
    name: Name
    numbers: tuple[Number, ...] = ()
    #: Minimum level an agent needs in each skill.
    skills: dict[Name, Level] = Field(default_factory=dict)
    strategy: Strategy = Strategy.LONGEST_IDLE
    weight: int = Field(default=0, ge=0)
    priority: int = Field(default=0, ge=0)
    ring_timeout: float = Field(default=15.0, gt=0, le=300)
    wrapup_seconds: Seconds = 10.0
    max_wait: float | None = Field(default=None, gt=0)
    when_no_agents: WhenNoAgents = WhenNoAgents.WAIT
    #: Another queue's name or a sip:/sips: URI.
    overflow: str | None = None
    relax: tuple[RelaxStep, ...] = ()
    no_answer_delay: Seconds = 5.0
    #: Pause an agent (reason no-answer) after this many unanswered offers; 0 = never.
    max_no_answers: int = Field(default=3, ge=0)
    media: Media = Media.ANNOUNCE
    prompts: Prompts = Prompts()
    #: Language of the shipped prompts and spoken announcements (announce mode).
    language: Language = Language.ZH
    #: Seconds between position / estimated-wait announcements; 0 = never announce.
    announce_interval: Seconds = 30.0

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("_"):
            raise ValueError(
                f"{value!r}: queue names starting with '_' are reserved (metrics use '_all')"
            )
        return value

    @field_validator("numbers", mode="before")
    @classmethod
    def _one_number(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value

    @field_validator("numbers")
    @classmethod
    def _unique_numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a number is listed twice")
        return value

    @field_validator("overflow")
    @classmethod
    def _overflow_form(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("sip:", "sips:")):
            if value is not None and not _SIP_URI.match(value):
                raise ValueError(f"{value!r} is not a valid SIP URI")
            return value
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ValueError(f"{value!r} is neither a queue name nor a sip: URI")
        return value

    @field_validator("relax")
    @classmethod
    def _increasing(cls, value: tuple[RelaxStep, ...]) -> tuple[RelaxStep, ...]:
        for prev, step in itertools.pairwise(value):
            if not step.after > prev.after:
                raise ValueError(
                    f"relax steps must have increasing 'after' ({step.after} follows {prev.after})"
                )
        return value

    @model_validator(mode="after")
    def _overflow_needed(self) -> Self:
        if self.overflow == self.name:
            raise ValueError("a queue cannot overflow to itself")
        if self.when_no_agents is WhenNoAgents.OVERFLOW and self.overflow is None:
            raise ValueError("when_no_agents: overflow needs an overflow target")
        if self.max_wait is not None and self.overflow is None:
            raise ValueError("max_wait needs an overflow target (calls are never dropped)")
        return self

    @property
    def overflow_queue(self) -> str | None:
        """The overflow target if it names a queue (not a SIP URI)."""
        if self.overflow is None or self.overflow.startswith(("sip:", "sips:")):
            return None
        return self.overflow


def _pause_reasons(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise ValueError("a pause reason is listed twice")
    return value if "no-answer" in value else (*value, "no-answer")


PauseReasons = tuple[Code, ...]
