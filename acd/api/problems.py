"""RFC 9457 problem documents: the only place that maps domain error codes to statuses.

Every error the API returns is ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail``, ``instance`` and a stable ``code`` (the ``RoutingError.code`` for
router refusals; API codes below otherwise). Clients branch on ``code``, never on text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from acd.logging import get_logger
from queueing import RoutingError
from queueing.errors import (
    DUPLICATE_CALL,
    INVALID_ARGUMENT,
    INVALID_TRANSITION,
    NO_SUCH_OFFER,
    UNKNOWN_AGENT,
    UNKNOWN_CALL,
    UNKNOWN_PAUSE_REASON,
    UNKNOWN_QUEUE,
)

__all__ = [
    "AUDIT_UNAVAILABLE",
    "FORBIDDEN",
    "INTERNAL_ERROR",
    "INVALID_REQUEST",
    "KPI_UNAVAILABLE",
    "METHOD_NOT_ALLOWED",
    "NOT_FOUND",
    "NOT_READY",
    "PROBLEM_JSON",
    "ROUTING_STATUS",
    "STORE_UNAVAILABLE",
    "UNAUTHORIZED",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
]

log = get_logger("acd.api")

PROBLEM_JSON: Final = "application/problem+json"
TYPE_BASE: Final = "https://12345-hotline.example/problems/"

# API codes (the router's own codes are in queueing.errors).
UNAUTHORIZED: Final = "unauthorized"
FORBIDDEN: Final = "forbidden"
NOT_FOUND: Final = "not_found"
METHOD_NOT_ALLOWED: Final = "method_not_allowed"
INVALID_REQUEST: Final = "invalid_request"
KPI_UNAVAILABLE: Final = "kpi_unavailable"
NOT_READY: Final = "not_ready"
INTERNAL_ERROR: Final = "internal_error"
#: No journal to record the action in: the action is refused, not done unaudited.
AUDIT_UNAVAILABLE: Final = "audit_unavailable"
#: The database did not answer a read of the audit trail (same code as acd.store's).
STORE_UNAVAILABLE: Final = "store_unavailable"

#: RoutingError.code -> HTTP status. Anything not listed is a bug: 500 internal_error.
ROUTING_STATUS: Final[Mapping[str, int]] = {
    UNKNOWN_AGENT: 404,
    UNKNOWN_QUEUE: 404,
    UNKNOWN_CALL: 404,
    UNKNOWN_PAUSE_REASON: 422,
    INVALID_ARGUMENT: 422,
    INVALID_TRANSITION: 409,
    NO_SUCH_OFFER: 409,
    DUPLICATE_CALL: 409,
}

_TITLES: Final[Mapping[int, str]] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(BaseModel):
    """RFC 9457 problem details, plus ``code`` (stable, machine-readable)."""

    type: str = Field(description="URI identifying the problem type")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong in this occurrence")
    instance: str = Field(description="the request path")
    code: str = Field(description="stable error code, e.g. unknown_agent, invalid_transition")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="validation errors (invalid_request only)"
    )


class ProblemError(Exception):
    """Raise anywhere in a handler to answer with a problem document."""

    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = Problem(
        type=TYPE_BASE + code.replace("_", "-"),
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path,
        code=code,
        errors=errors,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}),
                        media_type=PROBLEM_JSON)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Every error path of the app answers with a problem document."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(request, exc.status, exc.code, exc.detail, headers=exc.headers)

    async def on_routing(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RoutingError)
        status = ROUTING_STATUS.get(exc.code)
        if status is None:
            log.error("routing_error_unmapped", code=exc.code, detail=exc.message)
            return problem_response(request, 500, INTERNAL_ERROR, "internal error")
        return problem_response(request, status, exc.code, exc.message)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _jsonable_errors(exc.errors())
        detail = "invalid request"
        if errors:
            where = ".".join(errors[0]["loc"])
            msg = str(errors[0]["msg"])
            detail = f"{where}: {msg}" if where else msg
        return problem_response(request, 422, INVALID_REQUEST, detail, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(
            exc.status_code, INVALID_REQUEST if exc.status_code < 500 else INTERNAL_ERROR
        )
        detail = str(exc.detail) if isinstance(exc.detail, str) else code
        return problem_response(
            request, exc.status_code, code, detail, headers=getattr(exc, "headers", None)
        )

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api_handler_failed", path=request.url.path)
        return problem_response(request, 500, INTERNAL_ERROR, "internal error")

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RoutingError, on_routing)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem documents (route decorators)."""
    return {
        status: {"model": Problem, "description": _TITLES.get(status, "Error")}
        for status in statuses
    }


_PROBLEM_REFS: Final = (
    "#/components/schemas/Problem",
    "#/components/schemas/HTTPValidationError",
)


def use_problem_media_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the generated OpenAPI so every 4xx/5xx response is problem+json, and the
    default 422 (``HTTPValidationError``) is our Problem too."""
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] not in ("4", "5"):
                    continue
                refs = {
                    str(media.get("schema", {}).get("$ref", ""))
                    for media in response.get("content", {}).values()
                }
                if refs <= {"", *_PROBLEM_REFS}:
                    response["content"] = {PROBLEM_JSON: {"schema": problem_ref}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    return schema
