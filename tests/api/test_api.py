"""The supervisor API over HTTP against the running ACD (real app, real PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest

from acd.api import PROBLEM_JSON
from queueing import AgentState
from tests.api.server import RunningAcd

pytestmark = pytest.mark.pg


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["instance"] == response.request.url.path
    assert body["type"].endswith(code.replace("_", "-"))
    assert body["title"] and body["detail"]
    return body


# --- open endpoints -------------------------------------------------------------------


def test_health_ready_metrics_need_no_token(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["sip"]["ok"] and body["checks"]["store"]["ok"]
    metrics = anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")


def test_openapi_describes_the_api(anonymous: httpx.Client) -> None:
    spec = anonymous.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/queues", "/api/v1/queues/{queue}/calls", "/api/v1/agents",
                 "/api/v1/agents/{agent_id}/pause", "/api/v1/kpi", "/healthz", "/readyz"):
        assert path in paths
    pause = paths["/api/v1/agents/{agent_id}/pause"]["post"]
    assert pause["security"] == [{"HTTPBearer": []}]
    assert set(pause["responses"]["409"]["content"]) == {PROBLEM_JSON}
    assert set(pause["responses"]["422"]["content"]) == {PROBLEM_JSON}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


# --- auth -----------------------------------------------------------------------------


def test_api_needs_a_token(anonymous: httpx.Client) -> None:
    response = anonymous.get("/api/v1/agents")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = anonymous.get("/api/v1/agents", headers={"Authorization": "Bearer nope-nope-nope"})
    assert_problem(wrong, 401, "unauthorized")
    basic = anonymous.get("/api/v1/agents", headers={"Authorization": "Basic YTpi"})
    assert_problem(basic, 401, "unauthorized")


def test_read_token_reads_but_cannot_act(reader: httpx.Client) -> None:
    assert reader.get("/api/v1/agents").status_code == 200
    assert_problem(reader.post("/api/v1/agents/1001/login"), 403, "forbidden")
    assert reader.get("/api/v1/agents/1001").json()["status"] == "logged-out"


# --- reads ----------------------------------------------------------------------------


def test_agents_list_and_one(reader: httpx.Client) -> None:
    agents = reader.get("/api/v1/agents").json()
    assert [a["id"] for a in agents] == [str(1001 + i) for i in range(6)]
    first = agents[0]
    assert first["name"] == "Agent 1001"
    assert first["state"] == "unreachable"  # no phone registered
    assert first["queues"] == ["complaints", "general"]
    assert first["calls_answered"] == 0 and first["talk_seconds"] == 0
    assert reader.get("/api/v1/agents/1002").json()["id"] == "1002"
    filtered = reader.get("/api/v1/agents", params={"status": "paused"}).json()
    assert all(a["status"] == "paused" for a in filtered)
    assert_problem(reader.get("/api/v1/agents", params={"status": "asleep"}), 422,
                   "invalid_request")


def test_unknown_things_are_404(reader: httpx.Client, admin: httpx.Client) -> None:
    assert_problem(reader.get("/api/v1/agents/9999"), 404, "unknown_agent")
    assert_problem(reader.get("/api/v1/queues/nope"), 404, "unknown_queue")
    assert_problem(reader.get("/api/v1/queues/nope/calls"), 404, "unknown_queue")
    assert_problem(admin.post("/api/v1/agents/9999/login"), 404, "unknown_agent")
    assert_problem(admin.post("/api/v1/agents/9999/pause", json={"reason": "lunch"}), 404,
                   "unknown_agent")
    assert_problem(reader.get("/api/v1/nothing-here"), 404, "not_found")
    assert_problem(reader.delete("/api/v1/agents"), 405, "method_not_allowed")


def test_queues_show_waiting_calls_and_agents_by_state(
    acd: RunningAcd, reader: httpx.Client
) -> None:
    acd.step(lambda router, now: router.call_arrived("q-call-1", "complaints", now - 5.0))
    acd.step(lambda router, now: router.call_arrived("q-call-2", "complaints", now))
    try:
        queues = {q["name"]: q for q in reader.get("/api/v1/queues").json()}
        assert set(queues) == {"general", "complaints"}
        complaints = queues["complaints"]
        assert complaints["waiting"] == 2 and complaints["ringing"] == 0
        assert complaints["longest_wait_seconds"] >= 0
        assert set(complaints["agents"]["by_state"]) >= {"idle", "on-call", "wrap-up"}
        assert sum(complaints["agents"]["by_status"].values()) == 6
        one = reader.get("/api/v1/queues/complaints").json()
        assert one["waiting"] == 2
        calls = reader.get("/api/v1/queues/complaints/calls").json()
        assert [c["call_id"] for c in calls] == ["q-call-1", "q-call-2"]
        assert [c["position"] for c in calls] == [1, 2]
        assert calls[0]["state"] == "waiting" and calls[0]["requirements"] == {"mandarin": 1}
        assert reader.get("/api/v1/queues/general/calls").json() == []
    finally:
        for call_id in ("q-call-1", "q-call-2"):
            acd.step(lambda router, now, c=call_id: router.caller_left(c, now))
    assert reader.get("/api/v1/queues/complaints").json()["waiting"] == 0


# --- actions --------------------------------------------------------------------------


def test_login_pause_available_logout(admin: httpx.Client) -> None:
    agent = admin.post("/api/v1/agents/1002/login").json()
    assert agent["status"] == "available"
    assert_problem(admin.post("/api/v1/agents/1002/login"), 409, "invalid_transition")
    paused = admin.post("/api/v1/agents/1002/pause", json={"reason": "lunch"}).json()
    assert (paused["status"], paused["pause_reason"]) == ("paused", "lunch")
    again = admin.post("/api/v1/agents/1002/available").json()
    assert (again["status"], again["pause_reason"]) == ("available", None)
    out = admin.post("/api/v1/agents/1002/logout").json()
    assert out["status"] == "logged-out"
    assert_problem(admin.post("/api/v1/agents/1002/logout"), 409, "invalid_transition")
    assert_problem(admin.post("/api/v1/agents/1002/available"), 409, "invalid_transition")
    assert_problem(admin.post("/api/v1/agents/1002/pause", json={"reason": "lunch"}), 409,
                   "invalid_transition")


def test_pause_reason_must_be_configured(admin: httpx.Client) -> None:
    admin.post("/api/v1/agents/1003/login")
    body = assert_problem(
        admin.post("/api/v1/agents/1003/pause", json={"reason": "nap"}), 422,
        "unknown_pause_reason",
    )
    assert "nap" in str(body["detail"])
    missing = assert_problem(admin.post("/api/v1/agents/1003/pause", json={}), 422,
                             "invalid_request")
    assert missing["errors"]
    assert_problem(admin.post("/api/v1/agents/1003/pause", content=b"{not json",
                              headers={"content-type": "application/json"}),
                   422, "invalid_request")
    assert admin.get("/api/v1/agents/1003").json()["status"] == "available"
    assert admin.get("/api/v1/pause-reasons").json() == ["break", "lunch", "training", "no-answer"]


def test_end_wrapup(acd: RunningAcd, admin: httpx.Client) -> None:
    assert_problem(admin.post("/api/v1/agents/1004/end-wrapup"), 409, "invalid_transition")

    def talk_and_hang_up(router, now):  # type: ignore[no-untyped-def]
        router.agent_reachable("1004", True, now)
        router.agent_login("1004", now)
        router.call_arrived("w-call", "general", now)
        router.offer_answered("w-call", "1004", now)
        router.call_completed("w-call", now + 1.0)

    acd.step(talk_and_hang_up)
    agent = admin.get("/api/v1/agents/1004").json()
    assert agent["state"] == AgentState.WRAP_UP.value  # queue wrap-up is 300 s
    assert agent["calls_answered"] == 1
    done = admin.post("/api/v1/agents/1004/end-wrapup").json()
    assert done["state"] == "idle"
    assert_problem(admin.post("/api/v1/agents/1004/end-wrapup"), 409, "invalid_transition")


def test_kpi_figures(reader: httpx.Client) -> None:
    response = reader.get("/api/v1/kpi", params={"window": "rolling"})
    if response.status_code == 503:  # a build without the KPI engine wired
        assert_problem(response, 503, "kpi_unavailable")
        return
    assert response.status_code == 200, response.text
    scopes = {(s["queue"], s["window"]) for s in response.json()["scopes"]}
    assert (None, "rolling") in scopes
    assert all(window == "rolling" for _, window in scopes)
