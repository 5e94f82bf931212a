"""Digest authentication for the registrar and INVITE auth (RFC 7616, RFC 3261 §22).

Sans-IO: no clock reads (every time-dependent call takes ``now``), no I/O, no logging.

Design decisions (the registrar relies on these):

* **Stateless nonces.**  ``nonce = base64(ts || rand || HMAC-SHA256(secret, ts||rand||realm)[:16])``
  with ``ts`` = ``now`` in milliseconds.  The server checks authenticity and age
  without storing issued nonces.  ``now`` must come from the same clock at issue and
  check time; use wall-clock time if an active/standby pair shares the secret.
* **Stale.**  An authentic nonce older than ``nonce_ttl`` with a *correct* response
  yields ``STALE`` (the caller re-challenges with ``stale=true`` so the softphone
  retries silently).  A wrong response with an old nonce is plain ``FAILED``.
* **Replay.**  ``nc`` must strictly increase per nonce.  The highest ``nc`` is stored
  only after a correct response, so a forger cannot poison the map.  The map is
  bounded (``max_tracked_nonces``): entries older than the TTL are pruned (they would
  be stale anyway) and, when full, the oldest is evicted and every nonce issued no
  later than it is answered ``STALE`` from then on, so eviction never reopens a replay.
* **qop.**  We always offer ``qop="auth"``.  RFC 2069 responses (no ``qop``) are
  rejected unless ``allow_rfc2069=True``; then each such nonce is single-use, which
  gives the same replay protection without ``nc``.  ``auth-int`` and ``-sess``
  algorithms and ``userhash`` are not supported (``FAILED``).
* **No user enumeration.**  Unknown users are checked against a dummy HA1, so the
  work done, the outcome (``FAILED``) and the reason (``bad-credentials``) are the same
  as for a wrong password; the caller sends the same challenge for both.  (The
  ``lookup`` callable itself should also take about the same time either way.)
* **Malformed headers** (:class:`DigestParseError` from :mod:`sip.digest_params`) are
  ``FAILED`` with reason ``malformed``; a non-Digest scheme is ``MISSING``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sip.digest_params import DigestParseError, format_params, parse_challenge

__all__ = [
    "ALGORITHMS",
    "AuthOutcome",
    "AuthResult",
    "Credentials",
    "DigestAuthenticator",
    "DigestParseError",
    "claimed_username",
    "digest_response",
    "ha1",
    "pick_authorization",
]

_HASHES: dict[str, str] = {"MD5": "md5", "SHA-256": "sha256"}  # wire name -> hashlib name
ALGORITHMS: tuple[str, ...] = ("SHA-256", "MD5")
"""Supported algorithm names, strongest first (RFC 7616 §3.7: offer SHA-256 first)."""

_NC_RE = re.compile(r"[0-9a-fA-F]{8}")
_TS_LEN, _RAND_LEN, _MAC_LEN = 8, 12, 16
_NONCE_LEN = _TS_LEN + _RAND_LEN + _MAC_LEN
_MAX_FUTURE_SKEW = 5.0  # seconds a nonce's timestamp may be ahead of `now`


def _canon_algorithm(name: str) -> str | None:
    for known in _HASHES:
        if name.upper() == known:
            return known
    return None


def _h(algorithm: str, text: str) -> str:
    return hashlib.new(_HASHES[algorithm], text.encode("utf-8")).hexdigest()


def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """``H(username ":" realm ":" password)`` as lower-case hex (RFC 7616 §3.4.2)."""
    algo = _canon_algorithm(algorithm)
    if algo is None:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return _h(algo, f"{username}:{realm}:{password}")


def digest_response(
    *,
    algorithm: str,
    ha1_hex: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = "auth",
    nc: str = "",
    cnonce: str = "",
) -> str:
    """The ``response`` value; ``qop=None`` is the RFC 2069 form ``H(HA1:nonce:HA2)``."""
    algo = _canon_algorithm(algorithm)
    if algo is None:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    ha2 = _h(algo, f"{method}:{uri}")
    if qop is None:
        return _h(algo, f"{ha1_hex}:{nonce}:{ha2}")
    return _h(algo, f"{ha1_hex}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """Stored secrets of one user: HA1 per algorithm name (passwords are never kept)."""

    ha1: Mapping[str, str]

    @classmethod
    def from_password(
        cls, username: str, realm: str, password: str, algorithms: Iterable[str] = ALGORITHMS
    ) -> Credentials:
        """Provisioning helper: precompute every HA1 (the password is then discarded)."""
        return cls(ha1={a: ha1(username, realm, password, a) for a in algorithms})


class AuthOutcome(enum.Enum):
    OK = "ok"
    STALE = "stale"  # re-challenge with stale=true
    FAILED = "failed"  # re-challenge (or 403 when FailureLimiter says blocked)
    MISSING = "missing"  # no Digest credentials: challenge; not a failure


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthResult:
    """Outcome of :meth:`DigestAuthenticator.verify`; ``reason`` is a stable code."""

    outcome: AuthOutcome
    username: str | None = None
    reason: str = ""
    algorithm: str | None = None


@dataclass(slots=True)
class _Seen:
    issued: float
    nc: int


@dataclass(slots=True)
class _NonceTracker:
    """Bounded map nonce -> highest accepted nc (-1 for a used RFC 2069 nonce)."""

    ttl: float
    capacity: int
    seen: OrderedDict[str, _Seen] = field(default_factory=OrderedDict)
    evicted_upto: float = float("-inf")  # nonces issued <= this lost their history

    def prune(self, now: float) -> None:
        while self.seen:
            nonce, entry = next(iter(self.seen.items()))
            if entry.issued + self.ttl >= now:
                break
            del self.seen[nonce]

    def forgotten(self, issued: float) -> bool:
        return issued <= self.evicted_upto

    def last_nc(self, nonce: str) -> int | None:
        entry = self.seen.get(nonce)
        return None if entry is None else entry.nc

    def accept(self, nonce: str, issued: float, nc: int) -> None:
        if nonce not in self.seen and len(self.seen) >= self.capacity:
            _, oldest = self.seen.popitem(last=False)
            self.evicted_upto = max(self.evicted_upto, oldest.issued)
        self.seen[nonce] = _Seen(issued=issued, nc=nc)


def claimed_username(value: str | None) -> str | None:
    """The ``username`` an Authorization value claims (unverified), for keying failure
    limits on the account under attack whatever the From/To headers say."""
    if value is None:
        return None
    try:
        scheme, params = parse_challenge(value)
    except DigestParseError:
        return None
    user = params.get("username") if scheme == "digest" else None
    return user or None


def pick_authorization(values: Iterable[str], realm: str) -> str | None:
    """Of several Authorization header values, the first Digest one for *realm*."""
    for value in values:
        try:
            scheme, params = parse_challenge(value)
        except DigestParseError:
            continue
        if scheme == "digest" and params.get("realm") == realm:
            return value
    return None


class DigestAuthenticator:
    """Issues challenges and verifies credentials for one realm."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        lookup: Callable[[str], Credentials | None],
        *,
        nonce_ttl: float = 300.0,
        algorithms: Iterable[str] = ALGORITHMS,
        opaque: str | None = None,
        allow_rfc2069: bool = False,
        max_tracked_nonces: int = 10_000,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        algos: list[str] = []
        for name in algorithms:
            algo = _canon_algorithm(name)
            if algo is None:
                raise ValueError(f"unsupported digest algorithm {name!r}")
            algos.append(algo)
        if not algos:
            raise ValueError("at least one algorithm is required")
        if len(secret) < 16:
            raise ValueError("secret must be at least 16 bytes")
        if nonce_ttl <= 0 or max_tracked_nonces <= 0:
            raise ValueError("nonce_ttl and max_tracked_nonces must be positive")
        self.realm = realm
        self.algorithms: tuple[str, ...] = tuple(algos)
        self.nonce_ttl = nonce_ttl
        self.opaque = opaque
        self.allow_rfc2069 = allow_rfc2069
        self._secret = secret
        self._lookup = lookup
        self._random = random_bytes
        self._tracker = _NonceTracker(ttl=nonce_ttl, capacity=max_tracked_nonces)
        dummy_password = random_bytes(16).hex()
        self._dummy = Credentials.from_password("\x00dummy", realm, dummy_password, algos)

    # -- nonces ------------------------------------------------------------------

    def _mac(self, body: bytes) -> bytes:
        msg = body + self.realm.encode("utf-8")
        return hmac.new(self._secret, msg, hashlib.sha256).digest()[:_MAC_LEN]

    def make_nonce(self, now: float) -> str:
        """A fresh authentic nonce stamped with *now*."""
        millis = max(0, int(now * 1000))
        body = millis.to_bytes(_TS_LEN, "big") + self._random(_RAND_LEN)
        return base64.b64encode(body + self._mac(body)).decode("ascii")

    def _nonce_issued(self, nonce: str) -> float | None:
        """Issue time of an authentic nonce, or None if forged/garbled."""
        try:
            raw = base64.b64decode(nonce.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return None
        if len(raw) != _NONCE_LEN:
            return None
        body, mac = raw[: _TS_LEN + _RAND_LEN], raw[_TS_LEN + _RAND_LEN :]
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        return int.from_bytes(body[:_TS_LEN], "big") / 1000.0

    # -- challenge -----------------------------------------------------------------

    def challenge(self, now: float, stale: bool = False) -> list[str]:
        """``WWW-Authenticate`` values, one per algorithm in preference order.

        All share one nonce (as in RFC 7616 §3.9.1) so whichever the client picks is
        checked the same way.
        """
        nonce = self.make_nonce(now)
        values: list[str] = []
        for algo in self.algorithms:
            params = {"realm": self.realm, "qop": "auth", "algorithm": algo, "nonce": nonce}
            if self.opaque is not None:
                params["opaque"] = self.opaque
            if stale:
                params["stale"] = "true"
            values.append(
                format_params("Digest", params, unquoted=frozenset({"algorithm", "stale"}))
            )
        return values

    # -- verification ----------------------------------------------------------------

    def verify(
        self,
        method: str,
        authorization_value: str | None,
        now: float,
        expected_realm: str | None = None,
    ) -> AuthResult:
        """Check one ``Authorization`` value for a request with *method*.

        ``expected_realm`` defaults to this authenticator's realm.  The ``uri``
        parameter must be present (it is covered by the digest); comparing it with the
        Request-URI is left to the caller.
        """
        self._tracker.prune(now)
        if authorization_value is None or not authorization_value.strip():
            return AuthResult(outcome=AuthOutcome.MISSING, reason="no-credentials")
        if authorization_value.split(None, 1)[0].lower() != "digest":
            return AuthResult(outcome=AuthOutcome.MISSING, reason="unsupported-scheme")
        try:
            _, p = parse_challenge(authorization_value)
        except DigestParseError:
            return _failed("malformed")
        username = p.get("username")
        for name in ("username", "realm", "nonce", "uri", "response"):
            if not p.get(name):
                return _failed("missing-" + name, username)
        assert username is not None
        if p["realm"] != (expected_realm if expected_realm is not None else self.realm):
            return _failed("realm-mismatch", username)
        algo = _canon_algorithm(p.get("algorithm", "MD5"))
        if algo is None or algo not in self.algorithms:
            return _failed("unsupported-algorithm", username)
        if p.get("userhash", "false").lower() != "false":
            return _failed("userhash-unsupported", username)
        if self.opaque is not None and p.get("opaque") != self.opaque:
            return _failed("opaque-mismatch", username)
        qop = p.get("qop")
        nc_value = -1
        if qop is None:
            if not self.allow_rfc2069:
                return _failed("qop-required", username)
        elif qop.lower() != "auth":
            return _failed("unsupported-qop", username)
        else:
            nc_text, cnonce = p.get("nc", ""), p.get("cnonce", "")
            if not _NC_RE.fullmatch(nc_text) or not cnonce:
                return _failed("bad-nc-or-cnonce", username)
            nc_value = int(nc_text, 16)
        issued = self._nonce_issued(p["nonce"])
        if issued is None or issued > now + _MAX_FUTURE_SKEW:
            return _failed("bad-nonce", username)

        # Same work whether or not the user exists: compute against a dummy HA1.
        creds = self._lookup(username)
        known = creds is not None and algo in creds.ha1
        secret_ha1 = creds.ha1[algo] if creds is not None and known else self._dummy.ha1[algo]
        expected = digest_response(
            algorithm=algo,
            ha1_hex=secret_ha1,
            nonce=p["nonce"],
            method=method,
            uri=p["uri"],
            qop=None if qop is None else "auth",
            nc=p.get("nc", ""),
            cnonce=p.get("cnonce", ""),
        )
        supplied = p["response"].lower().encode("utf-8")
        matched = hmac.compare_digest(expected.encode("ascii"), supplied)
        if not (matched and known):
            return _failed("bad-credentials", username)

        if now - issued > self.nonce_ttl or self._tracker.forgotten(issued):
            return AuthResult(
                outcome=AuthOutcome.STALE, username=username, reason="stale-nonce", algorithm=algo
            )
        last = self._tracker.last_nc(p["nonce"])
        if last is not None and (qop is None or nc_value <= last):
            return _failed("replay", username)
        self._tracker.accept(p["nonce"], issued, nc_value)
        return AuthResult(outcome=AuthOutcome.OK, username=username, reason="", algorithm=algo)


def _failed(reason: str, username: str | None = None) -> AuthResult:
    return AuthResult(outcome=AuthOutcome.FAILED, username=username, reason=reason)
