"""Infrastructure sections: sip, trunks, feature_codes, http, database, logging."""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

from config.types import HostPort, IPNetwork, ListenAddress, Name

__all__ = [
    "ApiToken",
    "AuthFailureLimit",
    "DatabaseSettings",
    "FeatureCodes",
    "HttpSettings",
    "LogFormat",
    "LoggingSettings",
    "MediaSettings",
    "Role",
    "SipSettings",
    "TrunkSettings",
]


class Section(BaseModel):
    """Base of every configuration model: immutable, unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _split_list(value: Any) -> Any:
    """Environment form of a list: JSON (``["a","b"]``) or comma-separated (``a,b``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"invalid JSON list: {exc.msg}") from None
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


DigestAlgorithm = Literal["SHA-256", "MD5"]


class AuthFailureLimit(Section):
    """Digest failures tolerated per source address within a sliding window."""

    failures: int = Field(default=10, ge=1)
    window: float = Field(default=60.0, gt=0)


class SipSettings(Section):
    listen: Annotated[tuple[ListenAddress, ...], NoDecode] = Field(
        default=(
            ListenAddress.parse("udp:127.0.0.1:5060"),
            ListenAddress.parse("tcp:127.0.0.1:5060"),
        ),
        min_length=1,
    )
    #: host[:port] written into Via and Contact; default: the first listen address.
    advertised_address: Annotated[HostPort | None, NoDecode] = None
    #: SIP domain agents register in; default: the advertised host.
    domain: Annotated[str, StringConstraints(min_length=1, max_length=253)] | None = None
    #: Digest realm; default: the domain. Agents' HA1 values depend on it.
    realm: Annotated[str, StringConstraints(min_length=1, max_length=253)] | None = None
    t1: float = Field(default=0.5, gt=0, le=10)
    t2: float = Field(default=4.0, gt=0, le=64)
    t4: float = Field(default=5.0, gt=0, le=64)
    min_expires: int = Field(default=60, ge=1)
    max_expires: int = Field(default=3600, ge=1)
    default_expires: int = Field(default=3600, ge=1)
    nonce_ttl: float = Field(default=300.0, gt=0)
    #: OPTIONS ping to each registered contact every N seconds; 0 = off.
    qualify_interval: float = Field(default=30.0, ge=0)
    auth_failure_limit: AuthFailureLimit = AuthFailureLimit()
    #: Digest challenges offered, in order (RFC 8760: a UA answers the first it supports).
    #: Some UAs (sipp, old pjsip builds) only read the first challenge and only know MD5:
    #: list MD5 alone or first for them.
    digest_algorithms: Annotated[tuple[DigestAlgorithm, ...], NoDecode] = Field(
        default=("SHA-256", "MD5"), min_length=1
    )

    _split = field_validator("listen", "digest_algorithms", mode="before")(_split_list)

    @field_validator("advertised_address")
    @classmethod
    def _real_port(cls, value: HostPort | None) -> HostPort | None:
        if value is not None and value.port == 0:
            raise ValueError("port 0 is out of range for an advertised address (1-65535)")
        return value

    @field_validator("listen")
    @classmethod
    def _unique_listen(cls, value: tuple[ListenAddress, ...]) -> tuple[ListenAddress, ...]:
        seen = set()
        for address in value:
            if address in seen:
                raise ValueError(f"{address} is listed twice")
            seen.add(address)
        return value

    @model_validator(mode="after")
    def _derive(self) -> Self:
        if not self.t1 < self.t2:
            raise ValueError(f"t1 ({self.t1}) must be less than t2 ({self.t2})")
        if not self.min_expires <= self.default_expires <= self.max_expires:
            raise ValueError(
                "expires must satisfy min_expires <= default_expires <= max_expires "
                f"(got {self.min_expires} <= {self.default_expires} <= {self.max_expires})"
            )
        advertised = self.advertised_address
        if advertised is None:
            first = self.listen[0]
            if first.is_wildcard:
                raise ValueError(
                    f"advertised_address is required when the first listen address "
                    f"({first}) binds all interfaces"
                )
            advertised = HostPort(first.host, first.port or None)
            object.__setattr__(self, "advertised_address", advertised)
        if self.domain is None:
            object.__setattr__(self, "domain", advertised.host)
        if self.realm is None:
            object.__setattr__(self, "realm", self.domain)
        return self


class MediaSettings(Section):
    """RTP for announcements/music on hold, and dead-call detection of answered calls."""

    #: Address the RTP sockets bind (one even UDP port per announced call).
    bind_host: str = "0.0.0.0"
    #: Address written into our SDP (c=); default: the SIP advertised host.
    advertised_host: str | None = None
    port_min: int = Field(default=16384, ge=1024, le=65535)
    port_max: int = Field(default=32767, ge=1024, le=65535)
    #: RFC 4028 Session-Expires we ask for (seconds, >= Min-SE 90).
    session_expires: int = Field(default=1800, ge=90)
    #: In-dialog OPTIONS to a peer without session timers every N seconds; 0 = off.
    keepalive_interval: float = Field(default=30.0, ge=0)

    @field_validator("bind_host", "advertised_host")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value.strip("[]"))
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.port_max - self.port_min < 1:
            raise ValueError(
                f"port_min ({self.port_min}) must be below port_max ({self.port_max})"
            )
        return self


class TrunkSettings(Section):
    """A PBX (or SBC) allowed to send calls; recognised by its source address."""

    name: Name
    sources: Annotated[tuple[IPNetwork, ...], NoDecode] = Field(min_length=1)

    _split = field_validator("sources", mode="before")(_split_list)

    def allows(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self.sources)


FeatureCode = Annotated[str, StringConstraints(pattern=r"^[*#0-9]{2,16}$")]


class FeatureCodes(Section):
    """Numbers an agent's softphone dials to change status."""

    available: FeatureCode = "*21"
    pause: FeatureCode = "*22"
    logout: FeatureCode = "*23"
    end_wrapup: FeatureCode = "*24"

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        codes = self.model_dump()
        by_code: dict[str, str] = {}
        for action, code in codes.items():
            if code in by_code:
                raise ValueError(f"{action} and {by_code[code]} both use {code}")
            by_code[code] = action
        return self


class Role(enum.StrEnum):
    READ = "read"
    ADMIN = "admin"


class ApiToken(Section):
    """A bearer token. ``name`` is what the audit trail and agent state history record
    (never the secret); without one it is ``token-`` + the first 8 hex digits of the
    token's SHA-256 (stable, but name your tokens)."""

    name: Name
    token: SecretStr = Field(min_length=16)
    role: Role = Role.READ

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("name") is None:
            secret = data.get("token")
            if isinstance(secret, SecretStr):
                secret = secret.get_secret_value()
            digest = (hashlib.sha256(secret.encode()).hexdigest()[:8]
                      if isinstance(secret, str) else "")
            # No token: the missing token is the error to report, not the name.
            data = {**data, "name": f"token-{digest}" if digest else "token"}
        return data


class HttpSettings(Section):
    listen: Annotated[HostPort, NoDecode] = HostPort("127.0.0.1", 8080)
    tokens: tuple[ApiToken, ...] = ()

    @field_validator("listen")
    @classmethod
    def _ip_and_port(cls, value: HostPort) -> HostPort:
        try:
            ipaddress.ip_address(value.host)
        except ValueError:
            raise ValueError(f"{value.host!r} is not an IP address") from None
        if value.port is None:
            raise ValueError(f"missing port in {value}")
        return value

    @field_validator("tokens")
    @classmethod
    def _unique_tokens(cls, value: tuple[ApiToken, ...]) -> tuple[ApiToken, ...]:
        secrets = [t.token.get_secret_value() for t in value]
        if len(set(secrets)) != len(secrets):
            raise ValueError("the same token is listed twice")
        names = [t.name for t in value]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two tokens are named {name!r} (names must be unique)")
        return value

    @model_validator(mode="after")
    def _no_open_api_on_network(self) -> Self:
        if not self.tokens and not ipaddress.ip_address(self.listen.host).is_loopback:
            raise ValueError(
                f"tokens are required when the HTTP API listens on {self.listen.host} "
                "(only loopback may run without tokens)"
            )
        return self


class DatabaseSettings(Section):
    #: postgresql://user:pass@host:port/db; empty = embedded pgserver in data_dir.
    url: SecretStr | None = None
    data_dir: Path = Path("./var/pg")
    #: Where records wait when the database is unreachable (never lose data).
    spool_dir: Path = Path("./var/spool")

    @field_validator("url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            scheme = value.get_secret_value().partition("://")[0]
            if scheme not in ("postgresql", "postgres"):
                raise ValueError("url must start with postgresql:// or postgres://")
        return value


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class LoggingSettings(Section):
    #: auto: JSON lines unless stderr is a terminal.
    format: LogFormat = LogFormat.AUTO
    level: str = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.strip().upper()
            levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
            if upper not in levels:
                raise ValueError(f"unknown level {value!r} (expected one of: {', '.join(levels)})")
            return upper
        return value
