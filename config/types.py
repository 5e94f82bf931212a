"""Typed values parsed from configuration strings.

Each type parses itself from the string form used in YAML and environment variables
and renders back to the same form with ``str()``, so a loaded configuration can be
dumped and re-read unchanged.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler, StringConstraints
from pydantic_core import core_schema

__all__ = [
    "Code",
    "HostPort",
    "IPNetwork",
    "ListenAddress",
    "Name",
    "Number",
    "Transport",
]


class Transport(enum.StrEnum):
    UDP = "udp"
    TCP = "tcp"


def _to_str(value: Any) -> Any:
    # YAML turns unquoted 1001 or 12345 into ints; identifiers and numbers are strings.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


#: Agent ids, queue names, skill names: also SIP user parts, so a conservative set.
Name = Annotated[
    str,
    BeforeValidator(_to_str),
    StringConstraints(pattern=r"^[A-Za-z0-9._-]+$", min_length=1, max_length=64),
]
#: A dialled number (Request-URI user part) such as 12345 or 123451.
Number = Annotated[
    str,
    BeforeValidator(_to_str),
    StringConstraints(pattern=r"^[A-Za-z0-9*#+._-]+$", min_length=1, max_length=32),
]
#: Pause reasons and similar machine codes.
Code = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9_-]+$", min_length=1, max_length=32)
]
Level = Annotated[int, Field(ge=1, le=10)]


def _parse_host(text: str, *, ip_only: bool) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"unbalanced brackets in {text!r}")
        inner = text[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise ValueError(f"{inner!r} is not an IPv6 address") from None
        return inner
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        if ip_only:
            raise ValueError(f"{text!r} is not an IP address") from None
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", text):
            raise ValueError(f"{text!r} is not an IP address or host name") from None
        return text.lower()
    if addr.version == 6:
        raise ValueError(f"IPv6 address must be in brackets: [{text}]")
    return text


def _parse_port(text: str, *, allow_zero: bool) -> int:
    if not text.isdigit():
        raise ValueError(f"port {text!r} is not a number")
    port = int(text)
    if port > 65535 or (port == 0 and not allow_zero):
        raise ValueError(f"port {port} is out of range")
    return port


def _split_host_port(text: str) -> tuple[str, str | None]:
    """'h', 'h:p', '[v6]', '[v6]:p' -> (host part, port part or None)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"unbalanced brackets in {text!r}")
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after IPv6 address")
        return text[: end + 1], (rest[1:] if rest else None)
    if text.count(":") > 1:
        raise ValueError(f"IPv6 address must be in brackets: {text!r}")
    host, sep, port = text.partition(":")
    return host, (port if sep else None)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _StringValue:
    """Mixin: pydantic validates from str (or an instance), serialises with str()."""

    @classmethod
    def parse(cls, text: str) -> Any:  # pragma: no cover - overridden
        raise TypeError(f"{cls.__name__} must define parse()")

    @classmethod
    def _validate(cls, value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return cls.parse(value.strip())

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.to_string_ser_schema()
        )


@dataclass(frozen=True, slots=True)
class ListenAddress(_StringValue):
    """``udp:127.0.0.1:5060``, ``tcp:0.0.0.0:5060``, ``udp:[::1]:5060``.

    Port 0 asks the kernel for a free port (tests); the runtime then advertises the
    port it actually bound.
    """

    transport: Transport
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        scheme, sep, rest = text.partition(":")
        if not sep:
            raise ValueError(f"expected transport:host:port, e.g. udp:127.0.0.1:5060, not {text!r}")
        try:
            transport = Transport(scheme.lower())
        except ValueError:
            raise ValueError(
                f"unknown transport {scheme!r} (expected one of: udp, tcp)"
            ) from None
        host, port = _split_host_port(rest)
        if port is None:
            raise ValueError(f"missing port in {text!r}")
        return cls(transport, _parse_host(host, ip_only=True), _parse_port(port, allow_zero=True))

    @property
    def is_wildcard(self) -> bool:
        return ipaddress.ip_address(self.host).is_unspecified

    def __str__(self) -> str:
        return f"{self.transport.value}:{_format_host(self.host)}:{self.port}"


@dataclass(frozen=True, slots=True)
class HostPort(_StringValue):
    """``host[:port]``: a host name or IP literal (IPv6 in brackets), optional port."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostPort:
        host, port = _split_host_port(text)
        if not host:
            raise ValueError("empty host")
        return cls(
            _parse_host(host, ip_only=False),
            # Port 0 (a free port, for tests) is allowed here; where a real port is
            # needed (the advertised address) the section says so.
            None if port is None else _parse_port(port, allow_zero=True),
        )

    def __str__(self) -> str:
        host = _format_host(self.host)
        return host if self.port is None else f"{host}:{self.port}"


def _parse_network(value: Any) -> Any:
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or CIDR, got {type(value).__name__}")
    text = value.strip()
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or CIDR network") from None
    raise ValueError(f"{text!r} has host bits set; did you mean {loose}?")


IPNetwork = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network, BeforeValidator(_parse_network)
]
