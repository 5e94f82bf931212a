"""Bearer tokens from the configuration (``http.tokens``): role ``read`` or ``admin``.

Reads need any valid token; actions need an ``admin`` token. With no tokens configured
the API is open (the configuration only allows that on a loopback listen address).
``/healthz``, ``/readyz`` and ``/metrics`` never ask for a token. A token is known to
the rest of the API (audit trail, agent state history) by its configured ``name`` only.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from config import ApiToken, Role

from .problems import FORBIDDEN, UNAUTHORIZED, ProblemError

__all__ = ["Caller", "TokenAuth", "bearer"]

#: The OpenAPI security scheme; ``auto_error=False``: we answer 401 ourselves (problem).
bearer = HTTPBearer(auto_error=False, description="a token from http.tokens in the config")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="acd"'}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the token's name (``None`` when the API is open) and role."""

    name: str | None
    role: Role


class TokenAuth:
    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._tokens = [(t.token.get_secret_value().encode(), Caller(t.name, t.role))
                        for t in tokens]

    @property
    def open(self) -> bool:
        return not self._tokens

    def identify(self, presented: str) -> Caller | None:
        """The caller a presented token stands for; every entry is compared (constant
        time)."""
        found: Caller | None = None
        given = presented.encode()
        for secret, caller in self._tokens:
            if hmac.compare_digest(secret, given) and found is None:
                found = caller
        return found

    def role_of(self, presented: str) -> Role | None:
        caller = self.identify(presented)
        return None if caller is None else caller.role

    def caller(self, authorization: str | None) -> Caller | None:
        """From an ``Authorization`` header value, as the auth dependency reads it:
        ``None`` when the request will be refused 401 (no or unknown bearer token)."""
        if self.open:
            return Caller(None, Role.ADMIN)
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "bearer" or not credentials:
            return None
        return self.identify(credentials)

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
