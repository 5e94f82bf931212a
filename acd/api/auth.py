"""Bearer tokens from the configuration (``http.tokens``): role ``read`` or ``admin``.

Reads need any valid token; actions need an ``admin`` token. With no tokens configured
the API is open (the configuration only allows that on a loopback listen address).
``/healthz``, ``/readyz`` and ``/metrics`` never ask for a token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from config import ApiToken, Role

from .problems import FORBIDDEN, UNAUTHORIZED, ProblemError

__all__ = ["TokenAuth", "bearer"]

#: The OpenAPI security scheme; ``auto_error=False``: we answer 401 ourselves (problem).
bearer = HTTPBearer(auto_error=False, description="a token from http.tokens in the config")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="acd"'}


class TokenAuth:
    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = [(t.token.get_secret_value().encode(), t.role) for t in tokens]

    @property
    def open(self) -> bool:
        return not self._tokens

    def role_of(self, presented: str) -> Role | None:
        """The role of a presented token; every entry is compared (constant time)."""
        found: Role | None = None
        given = presented.encode()
        for secret, role in self._tokens:
            if hmac.compare_digest(secret, given) and found is None:
                found = role
        return found

    def require(self, role: Role) -> Callable[..., Awaitable[Role]]:
        """A FastAPI dependency (async: runs on the loop, never in a thread)."""

        async def dependency(
            credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
        ) -> Role:
            if self.open:
                return Role.ADMIN
            if credentials is None or credentials.scheme.lower() != "bearer":
                raise ProblemError(401, UNAUTHORIZED, "a bearer token is required",
                                   headers=_CHALLENGE)
            found = self.role_of(credentials.credentials)
            if found is None:
                raise ProblemError(401, UNAUTHORIZED, "unknown token",
                                   headers={"WWW-Authenticate":
                                            'Bearer realm="acd", error="invalid_token"'})
            if role is Role.ADMIN and found is not Role.ADMIN:
                raise ProblemError(403, FORBIDDEN, "this action needs an admin token")
            return found

        return dependency
