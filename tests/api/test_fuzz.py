"""Fuzz the running ACD's API from its own OpenAPI description with schemathesis.

Bounded: a fixed number of examples per operation (the whole module runs in seconds).
Every response must conform to the schema (status documented, body valid, content type
listed) and none may be a 5xx -- 503 from ``/readyz`` aside, none happen here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from tests.api.server import ADMIN_TOKEN, RunningAcd  # noqa: E402

pytestmark = pytest.mark.pg

MAX_EXAMPLES = 40
#: The conformance checks. Left out: the negative-data checks (they expect unknown query
#: parameters to be refused -- we ignore them, as HTTP APIs usually do -- and a missing
#: Authorization header while this test always sends one; tests/api/test_api.py covers
#: auth) and positive-data acceptance (an unknown agent id is schema-valid and still 404).
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


@pytest.fixture
def api_schema(acd: RunningAcd) -> Any:
    return schemathesis.openapi.from_url(f"{acd.base_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    response = case.call(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, response.text



#: Bodies PostgreSQL cannot store as they are (NUL, lone surrogates), or large ones.
HOSTILE_BODIES = [
    b'{"reason": "a\\u0000b"}',
    b'{"reason": "\\ud800"}',
    b'{"reason": NaN, "n": 1e999, "big": 123456789012345678901234567890}',
    b'{"a": {"b": {"c": {"d": {"e": [1, [2, [3]]]}}}}}',
    b"\xff\xfe\x00 not utf-8",
    b'{"reason": "' + b"x" * 10_000 + b'"}',
]


def test_hostile_and_fuzzed_actions_are_all_stored(acd: RunningAcd) -> None:
    """Whatever reaches paths and bodies -- here and in the fuzzing above (same ACD) --
    every audit entry is storable: none is diverted to ``rejected.jsonl``."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/json"}
    with httpx.Client(base_url=acd.base_url, timeout=10, headers=headers) as client:
        for body in HOSTILE_BODIES:
            response = client.post("/api/v1/agents/x%00y/pause", content=body)
            assert response.status_code in (400, 404, 422), response.text
        entries = client.get("/api/v1/audit", params={"target": "x\ufffdy"}).json()
    assert len(entries) == len(HOSTILE_BODIES)
    journal = acd.app.journal
    assert journal is not None
    health = acd.call(journal.health)
    assert health.rejected == 0, health.last_error
