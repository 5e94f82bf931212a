"""Shared test data for configuration tests."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from config import Settings
from config.models import REFERENCE_ERROR


def minimal() -> dict[str, Any]:
    """A small valid configuration, as YAML would give it (plain dicts and lists)."""
    return {
        "sip": {"listen": ["udp:127.0.0.1:5060"], "realm": "test"},
        "trunks": [{"name": "pbx", "sources": ["127.0.0.1"]}],
        "agents": [
            {"id": "1001", "password": "secret-1001", "skills": {"mandarin": 8}},
            {"id": "1002", "password": "secret-1002", "skills": {"mandarin": 6, "english": 7}},
        ],
        "queues": [
            {"name": "general", "numbers": ["12345"], "skills": {"mandarin": 6}},
            {"name": "english", "numbers": ["123452"], "skills": {"english": 6},
             "overflow": "general", "max_wait": 90},
        ],
    }


def validation_issues(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """(loc, message) of every error ``Settings(**data)`` raises; [] if valid."""
    try:
        Settings(**data)
    except ValidationError as exc:
        out: list[tuple[tuple[str | int, ...], str]] = []
        for error in exc.errors():
            if error["type"] == REFERENCE_ERROR:
                out.extend(error["ctx"]["issues"])
            else:
                out.append((tuple(error["loc"]), error["msg"]))
        return out
    return []
