"""``/api/v1/audit``: the audit trail of state-changing API requests (admin only)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
from fastapi import APIRouter, Depends, Query

from config import Role

from ..auth import TokenAuth
from ..context import ApiContext
from ..problems import INVALID_REQUEST, STORE_UNAVAILABLE, ProblemError, problem_responses
from ..schemas import AuditEntry

__all__ = ["audit_router"]

_COLUMNS: Final = (
    "id, audit_id, ts, actor, role, action, target, params, result, status, code, detail"
)
READ_TIMEOUT: Final = 5.0


def _utc(value: datetime) -> datetime:
    """A naive time is UTC; one whose UTC equivalent is outside datetime's range is 422."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ProblemError(422, INVALID_REQUEST, "since: out of range") from None


def _entry(row: Any) -> AuditEntry:
    params = row["params"]
    if isinstance(params, str):  # a pool without the jsonb codec
        params = json.loads(params)
    return AuditEntry(
        id=row["id"], audit_id=row["audit_id"], ts=row["ts"], actor=row["actor"],
        role=row["role"], action=row["action"], target=row["target"], params=params,
        result=row["result"], status=row["status"], code=row["code"], detail=row["detail"],
    )


def audit_router(ctx: ApiContext, auth: TokenAuth) -> APIRouter:
    admin = [Depends(auth.require(Role.ADMIN))]
    api = APIRouter(prefix="/api/v1", tags=["audit"])

    @api.get(
        "/audit",
        response_model=list[AuditEntry],
        dependencies=admin,
        summary="the audit trail: every state-changing request (accepted, refused, failed), "
        "oldest first",
        description="Reads the database: entries still in the journal's spool (database "
        "away) appear once it is replayed. 503 `store_unavailable` when the database does "
        "not answer.",
        responses=problem_responses(401, 403, 422, 503),
    )
    async def audit(
        since: datetime | None = Query(  # noqa: B008
            None, description="only entries at or after this time (ISO-8601; naive = UTC)"
        ),
        after: int | None = Query(None, ge=0, le=2**63 - 1,
                                  description="only entries with a larger id (paging)"),
        limit: int = Query(100, ge=1, le=1000, description="at most this many"),
        actor: str | None = Query(None, max_length=256, description="only this token name"),
        target: str | None = Query(None, max_length=256, description="only this target"),
    ) -> list[AuditEntry]:
        where: list[str] = []
        args: list[Any] = []
        for clause, value in (("ts >= ${}", None if since is None else _utc(since)),
                              ("id > ${}", after), ("actor = ${}", actor),
                              ("target = ${}", target)):
            if value is None:
                continue
            if isinstance(value, str) and "\x00" in value:
                return []  # stored text never holds NUL (and PostgreSQL refuses it)
            args.append(value)
            where.append(clause.format(len(args)))
        args.append(limit)
        sql = (f"SELECT {_COLUMNS} FROM api_audit"
               f"{' WHERE ' + ' AND '.join(where) if where else ''}"
               f" ORDER BY id LIMIT ${len(args)}")
        pool = ctx.pool()
        try:
            async with asyncio.timeout(READ_TIMEOUT), pool.acquire() as conn:
                rows = await conn.fetch(sql, *args)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ProblemError(503, STORE_UNAVAILABLE,
                               f"the audit trail cannot be read now ({type(exc).__name__})"
                               ) from exc
        return [_entry(row) for row in rows]

    return api
