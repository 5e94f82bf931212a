"""The audit trail of the supervisor API: every state-changing request, who made it, what
came of it.

`AuditMiddleware` (pure ASGI, inside the app's error handling, so it sees the response
the client gets) audits every request under ``/api/v1`` whose method is not ``GET``,
``HEAD`` or ``OPTIONS`` -- today the agent actions -- made with a known token (or any
request while the API is open): accepted (2xx), refused (4xx: ``forbidden``,
``unknown_agent``, ``invalid_transition``, ``invalid_request`` ...) or failed (5xx). A
request without a known token is answered 401 and not audited: there is nobody to
attribute it to, and auditing it would let anyone fill the table.

The `AuditEntry` goes through the journal after the action's own records (so the state
change is in the store first), and the response is held until the entry is
acknowledged (committed, or fsync'd in the spool while the database is away), bounded
by ``durable_timeout``. Without a journal an action is refused (503
``audit_unavailable``) rather than done unaudited.

What the client sent is recorded sanitised: strings capped and without NUL characters
(PostgreSQL text cannot hold them), at most ``MAX_BODY`` bytes of body, non-finite
numbers as strings. Bearer tokens never reach the entry: the actor is the token's
configured name.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acd.logging import get_logger
from acd.store.records import AuditEntry as AuditRecord
from acd.store.records import AuditResult

from .auth import Caller, TokenAuth
from .context import CALLER, ApiContext
from .problems import AUDIT_UNAVAILABLE, INTERNAL_ERROR, PROBLEM_JSON, problem_response

__all__ = ["PREFIX", "SAFE_METHODS", "AuditMiddleware", "sanitise"]

log = get_logger("acd.api")

PREFIX: Final = "/api/v1/"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
#: Bytes of request body kept in ``params`` (the actions' bodies are a few dozen).
MAX_BODY: Final = 4096
_MAX_TEXT: Final = 256
_MAX_ITEMS: Final = 20
_MAX_DEPTH: Final = 4


def _text(value: str, limit: int = _MAX_TEXT) -> str:
    """Storable text: no NUL, no lone surrogate (from JSON ``\\ud800`` escapes), capped."""
    clean = value[: limit * 2].encode("utf-8", "replace").decode("utf-8")
    return clean.replace("\x00", "\ufffd")[:limit]


def sanitise(value: Any, depth: int = 0) -> Any:
    """A JSON value made safe for a jsonb column and bounded in size."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else _text(str(value), 64)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value)
    if depth >= _MAX_DEPTH:
        return "..."
    if isinstance(value, Mapping):
        items = list(value.items())[:_MAX_ITEMS]
        return {_text(str(k), 64): sanitise(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [sanitise(v, depth + 1) for v in value[:_MAX_ITEMS]]
    return _text(repr(value))


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _params(body: bytes, size: int, query: bytes) -> dict[str, Any]:
    """What the client sent: the JSON object body's fields, else the body as text."""
    params: dict[str, Any] = {}
    if size > len(body):
        params = {"body": _text(body.decode("utf-8", "replace"), 512), "body_bytes": size}
    elif body:
        try:
            parsed = json.loads(body, parse_constant=_no_constants)
        except ValueError:  # not JSON (UnicodeDecodeError and JSONDecodeError included)
            params = {"body": _text(body.decode("utf-8", "replace"), 512)}
        else:
            params = sanitise(parsed) if isinstance(parsed, dict) else {"body": sanitise(parsed)}
    if query:
        params["query"] = _text(query.decode("latin-1"))
    return params


def _outcome(status: int, body: bytes, content_type: str) -> tuple[AuditResult, str | None,
                                                                   str | None]:
    """(result, code, detail) from the response the client gets."""
    if status < 400:
        return AuditResult.ACCEPTED, None, None
    code: str | None = None
    detail: str | None = None
    if content_type.startswith(PROBLEM_JSON) or content_type.startswith("application/json"):
        try:
            problem = json.loads(body)
        except ValueError:
            problem = None
        if isinstance(problem, dict):
            code = problem.get("code") if isinstance(problem.get("code"), str) else None
            detail = problem.get("detail") if isinstance(problem.get("detail"), str) else None
    result = AuditResult.FAILED if status >= 500 else AuditResult.REFUSED
    return result, _text(code or f"http_{status}", 64), None if detail is None else _text(
        detail, 512)


class AuditMiddleware:
    """Pure ASGI middleware; add it with ``app.add_middleware(AuditMiddleware, ...)``."""

    def __init__(
        self, app: ASGIApp, ctx: ApiContext, auth: TokenAuth, durable_timeout: float = 5.0
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.auth = auth
        self.durable_timeout = durable_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or not scope["path"].startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        caller = self.auth.caller(Headers(scope=scope).get("authorization"))
        if caller is None:  # 401 follows: nobody to attribute it to
            await self.app(scope, receive, send)
            return
        journal = self.ctx.journal
        if journal is None:
            refusal = problem_response(Request(scope), 503, AUDIT_UNAVAILABLE,
                                       "no audit trail: actions are refused")
            await refusal(scope, receive, send)
            return
        await self._audited(scope, receive, send, caller, journal)

    async def _audited(
        self, scope: Scope, receive: Receive, send: Send, caller: Caller, journal: Any
    ) -> None:
        started = self.ctx.clock()
        body = bytearray()
        size = 0

        async def capture(_receive: Receive = receive) -> Message:
            nonlocal size
            message = await _receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                body.extend(chunk[: max(0, MAX_BODY - len(body))])
            return message

        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        token = CALLER.set(caller)
        try:
            await self.app(scope, capture, hold)
        except Exception:
            # The server's error handler answers 500; the attempt is audited first.
            await self._record(scope, caller, started, bytes(body), size,
                               AuditResult.FAILED, 500, INTERNAL_ERROR, None, journal)
            raise
        finally:
            CALLER.reset(token)
        status = 500
        content_type = ""
        answer = bytearray()
        for message in held:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            elif message["type"] == "http.response.body" and len(answer) < 16384:
                answer.extend(message.get("body", b""))
        result, code, detail = _outcome(status, bytes(answer), content_type)
        await self._record(scope, caller, started, bytes(body), size, result, status, code,
                           detail, journal)
        for message in held:
            await send(message)

    async def _record(
        self,
        scope: Scope,
        caller: Caller,
        started: float,
        body: bytes,
        size: int,
        result: AuditResult,
        status: int,
        code: str | None,
        detail: str | None,
        journal: Any,
    ) -> None:
        method = str(scope["method"])
        route = scope.get("route")
        template = getattr(route, "path", None)
        action = f"{method} {template}" if isinstance(template, str) else _text(
            f"{method} {scope['path']}")
        path_params = scope.get("path_params") or {}
        target = "/".join(str(v) for v in path_params.values()) if path_params else None
        entry = AuditRecord(
            ts=datetime.fromtimestamp(started, UTC),
            actor=caller.name,
            role=caller.role.value,
            action=action,
            target=None if target is None else _text(target),
            params=_params(body, size, scope.get("query_string", b"")),
            result=result,
            status=status,
            code=code,
            detail=detail,
        )
        try:
            seq = journal.submit(entry)
            await asyncio.wait_for(journal.wait_durable(seq), self.durable_timeout)
        except TimeoutError:
            # The entry stays queued (the journal drops nothing); say so loudly.
            log.error("api_audit_not_durable", audit_id=entry.audit_id, action=action,
                      actor=caller.name, timeout=self.durable_timeout)
        except Exception as exc:  # journal closed (shutdown) or a bug: never silent
            log.error("api_audit_lost", audit_id=entry.audit_id, action=action,
                      actor=caller.name, target=entry.target, result=result.value,
                      status=status, error=repr(exc))
