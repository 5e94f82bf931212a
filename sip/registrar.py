"""Registrar for agent softphones (RFC 3261 §10.3), sans-IO.

`Registrar.handle_register(request, source, now)` returns the response to send and the
events that happened; the transaction layer delivers the REGISTER and sends the response.
``now`` must be POSIX time (``time.time()``): bindings are persisted with absolute
``expires_at`` for a standby to `restore`, and the 200 carries a ``Date`` built from it.

Order of processing and the statuses we chose (§10.3 steps in brackets):

1. [1] Request-URI host not our domain (or an alias) → **403**: we are no proxy and never
   forward; 403 tells the softphone its configuration is wrong (Kamailio configs answer
   403 "not relaying"; 404 would claim the *user* does not exist).
2. [2] ``Require`` with any option tag → **420** with ``Unsupported`` (we support none).
3. Repeated failures: the key is ``source host | To user`` — not the host alone, because
   60 agents behind one NAT address would all be locked out by one softphone with a stale
   password. While blocked → **403 + Retry-After** without a challenge and without looking
   at the credentials (the digest colleague's suggestion: 403 makes softphones stop; 503
   would make them fail over or hammer). The key holds what the client typed, so a block
   reveals nothing about which users exist.
4. [3] Digest: no/foreign credentials → **401** with one challenge per algorithm; only the
   nonce expired → **401 stale=true**; bad credentials → **401** with a fresh challenge.
   Unknown users and wrong passwords take the same code path (the authenticator hashes
   against a dummy HA1) and produce the same response; the To tag is derived from the
   request, not random, so even that is identical.
5. [4] Authenticated username ≠ To user → **403** (counted as a failure).
6. [5] To host not ours → **404**.
7. [6] ``Contact: *`` not alone or without ``Expires: 0`` → **400**; bad expires/q → 400;
   0 < expiration < min → **423** with ``Min-Expires``; above max → capped.
8. [7] A contact whose binding has the same Call-ID and a CSeq ≥ the request's is out of
   order or a retransmission: the whole request is left unapplied and answered **200** with
   the current bindings — Kamailio's R_OOO/R_RETRANS behaviour, so a softphone whose
   REGISTERs were reordered is not shown an error for a binding that is in fact fresh.
9. More than ``max_contacts`` bindings would result → **403** (Asterisk's answer for
   max_contacts; a cap is policy, not overload, so not 503).
10. Otherwise **200** listing every current binding with ``;expires=`` and a ``Date``.

Replacement (reason ``replaced``): a new contact replaces a binding of the same AOR that has
the same ``+sip.instance`` (RFC 5626) or — unless disabled — the same Call-ID with a lower
CSeq (the same UA after a NAT rebinding or IP change; otherwise the old contact lingers
until it expires and is offered calls it cannot answer).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from enum import Enum

from .digest import AuthOutcome, DigestAuthenticator, claimed_username, pick_authorization
from .errors import LocalProtocolError, RemoteProtocolError
from .headers import NameAddress, SipUri
from .message import Request, Response, make_response
from .ratelimit import FailureLimiter, limit_keys
from .transaction_events import Address

__all__ = [
    "Address",
    "AuthFailed",
    "Binding",
    "BindingAdded",
    "BindingRefreshed",
    "BindingRemoved",
    "RegisterResult",
    "Registrar",
    "RegistrarEvent",
    "RemovalReason",
    "SourceLike",
]


#: The transaction layer's address type; the registrar keeps it as the binding's source.
SourceLike = Address


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """One contact of an address-of-record; every field is plain data for the store."""

    aor: str  # canonical "sip:user@domain"
    contact: str  # the Contact URI as the UA sent it
    source: Address  # where the REGISTER came from: send requests here (NAT)
    user_agent: str
    call_id: str
    cseq: int
    expires_at: float  # absolute POSIX time
    q: float = 1.0
    registered_at: float = 0.0  # time of the last REGISTER that set or refreshed it
    instance: str | None = None  # +sip.instance (RFC 5626), if any

    @property
    def key(self) -> tuple[str, str]:
        return self.aor, _contact_key(self.contact)

    @property
    def behind_nat(self) -> bool:
        """True when the Contact does not name the address the REGISTER came from."""
        try:
            uri = SipUri.parse(self.contact)
        except RemoteProtocolError:
            return True
        return (uri.host, uri.port or 5060) != (self.source.host, self.source.port)


class RemovalReason(Enum):
    UNREGISTERED = "unregistered"
    EXPIRED = "expired"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingAdded:
    binding: Binding


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingRefreshed:
    binding: Binding
    previous: Binding


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingRemoved:
    binding: Binding
    reason: RemovalReason


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthFailed:
    """A REGISTER was refused for credentials; ``reason`` is a stable code (the digest
    reason such as ``bad-credentials``, or ``user-mismatch``, ``blocked``)."""

    source: Address
    username: str | None
    reason: str


RegistrarEvent = BindingAdded | BindingRefreshed | BindingRemoved | AuthFailed


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterResult:
    response: Response
    events: list[RegistrarEvent]


@dataclass(frozen=True, slots=True)
class _Wanted:
    contact: str
    key: str
    expires: int
    q: float
    instance: str | None


class _Reject(Exception):
    def __init__(self, status: int, extra: list[tuple[str, str]] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.extra = extra or []


def _contact_key(contact: str) -> str:
    """Comparison key of a Contact URI (§19.1.4, simplified): scheme, user, host, port,
    transport; other parameters do not distinguish bindings."""
    try:
        uri = SipUri.parse(contact)
    except RemoteProtocolError:
        return contact
    transport = (uri.params.get("transport") or "").lower()
    return f"{uri.scheme}:{uri.user or ''}@{uri.host}:{uri.port or ''};{transport}"


def _delta_seconds(text: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise _Reject(400)
    return min(int(text), 2**32 - 1)


def _q_value(text: str | None) -> float:
    if text is None:
        return 1.0
    try:
        q = float(text)
    except ValueError:
        raise _Reject(400) from None
    if not 0.0 <= q <= 1.0:
        raise _Reject(400)
    return q


class Registrar:
    """Bindings of every agent AOR in one domain."""

    def __init__(
        self,
        domain: str,
        authenticator: DigestAuthenticator,
        limiter: FailureLimiter,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        *,
        aliases: Iterable[str] = (),
        max_contacts: int = 10,
        replace_same_call_id: bool = True,
    ) -> None:
        if not 0 < min_expires <= default_expires <= max_expires:
            raise ValueError("need 0 < min_expires <= default_expires <= max_expires")
        if max_contacts <= 0:
            raise ValueError("max_contacts must be positive")
        self.domain = domain.lower()
        self._domains = {self.domain, *(a.lower() for a in aliases)}
        self._auth = authenticator
        self._limiter = limiter
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.max_contacts = max_contacts
        self.replace_same_call_id = replace_same_call_id
        self._aors: dict[str, dict[str, Binding]] = {}
        # The earliest expiry, recomputed only after a change (the runtime asks after
        # every SIP message; bindings change a few times an hour per phone).
        self._deadline: float | None = None
        self._deadline_known = True

    # -- queries -------------------------------------------------------------------

    def aor_of(self, username: str) -> str:
        return f"sip:{username}@{self.domain}"

    def bindings(self, aor: str) -> list[Binding]:
        """Current bindings of ``aor`` (including ones past expiry not yet timed out)."""
        return list(self._aors.get(aor, {}).values())

    def lookup_user(self, username: str) -> list[Binding]:
        """Bindings of an agent, best first: highest q, then most recently registered."""
        found = self.bindings(self.aor_of(username))
        return sorted(found, key=lambda b: (-b.q, -b.registered_at))

    def snapshot(self) -> list[Binding]:
        """Every binding, for the store or a standby (ordered by AOR, then contact)."""
        return [b for aor in sorted(self._aors) for _, b in sorted(self._aors[aor].items())]

    def next_deadline(self) -> float | None:
        """When the earliest binding expires (O(n) after a change, else cached)."""
        if not self._deadline_known:
            times = [b.expires_at for m in self._aors.values() for b in m.values()]
            self._deadline = min(times) if times else None
            self._deadline_known = True
        return self._deadline

    # -- time and persistence --------------------------------------------------------

    def handle_timer(self, now: float) -> list[RegistrarEvent]:
        self._deadline_known = False
        events: list[RegistrarEvent] = []
        for aor in list(self._aors):
            self._expire(aor, now, events)
        return events

    def restore(self, bindings: Iterable[Binding], now: float) -> list[RegistrarEvent]:
        """Replace all state by ``bindings`` (from the store after a restart or failover).

        Bindings already expired are dropped and reported as removed (reason ``expired``) so
        the runtime deletes them from the store.
        """
        self._aors = {}
        self._deadline_known = False
        events: list[RegistrarEvent] = []
        for b in bindings:
            if b.expires_at <= now:
                events.append(BindingRemoved(binding=b, reason=RemovalReason.EXPIRED))
            else:
                self._aors.setdefault(b.aor, {})[b.key[1]] = b
        return events

    def _expire(self, aor: str, now: float, events: list[RegistrarEvent]) -> None:
        current = self._aors.get(aor)
        if current is None:
            return
        for key, b in list(current.items()):
            if b.expires_at <= now:
                del current[key]
                events.append(BindingRemoved(binding=b, reason=RemovalReason.EXPIRED))
        if not current:
            del self._aors[aor]

    # -- REGISTER --------------------------------------------------------------------

    def handle_register(self, request: Request, source: SourceLike, now: float) -> RegisterResult:
        """Process one REGISTER from ``source`` (the packet's real origin) at ``now``."""
        if request.method != "REGISTER":
            raise LocalProtocolError(f"handle_register given a {request.method}")
        self._deadline_known = False
        events: list[RegistrarEvent] = []
        try:
            return self._register(request, source, now, events)
        except _Reject as rej:
            return RegisterResult(
                response=self._respond(request, rej.status, rej.extra), events=events
            )

    def _register(
        self, request: Request, source: Address, now: float, events: list[RegistrarEvent]
    ) -> RegisterResult:
        try:
            ruri = request.request_uri
            to_uri = request.to.sip_uri()
        except RemoteProtocolError as exc:
            raise _Reject(exc.status_hint) from exc
        if ruri.scheme == "tel" or ruri.host not in self._domains:
            raise _Reject(403)
        if not to_uri.user or to_uri.scheme == "tel":
            raise _Reject(400)
        required = request.headers.get_all("Require")
        if required:
            raise _Reject(420, [("Unsupported", ", ".join(required))])

        credentials = pick_authorization(
            request.headers.get_lines("Authorization"), self._auth.realm
        )
        # Failures count against the To user AND the username the credentials claim, so
        # varying the To header cannot dodge the limit while guessing one account.
        limit = limit_keys(source.host, to_uri.user, claimed_username(credentials))
        wait_for = self._limiter.blocked_for(limit, now)
        if wait_for is not None:
            wait = max(1, math.ceil(wait_for))
            events.append(AuthFailed(source=source, username=to_uri.user, reason="blocked"))
            raise _Reject(403, [("Retry-After", str(wait))])
        result = self._auth.verify("REGISTER", credentials, now)
        if result.outcome is AuthOutcome.FAILED:
            self._limiter.record_failures(limit, now)
            events.append(AuthFailed(source=source, username=result.username, reason=result.reason))
        if result.outcome is not AuthOutcome.OK:
            stale = result.outcome is AuthOutcome.STALE
            challenge = self._auth.challenge(now, stale=stale)
            raise _Reject(401, [("WWW-Authenticate", value) for value in challenge])
        if result.username != to_uri.user:
            self._limiter.record_failures(limit, now)
            events.append(
                AuthFailed(source=source, username=result.username, reason="user-mismatch")
            )
            raise _Reject(403)
        self._limiter.record_successes(limit)
        if to_uri.host not in self._domains:
            raise _Reject(404)

        aor = self.aor_of(to_uri.user)
        self._expire(aor, now, events)
        try:
            contacts = request.contacts
        except RemoteProtocolError as exc:
            raise _Reject(400) from exc
        expires_header = request.headers.get("Expires")
        header_expires = None if expires_header is None else _delta_seconds(expires_header)
        if contacts:
            if any(c.uri == "*" for c in contacts):
                self._unregister_all(request, aor, header_expires, events)
            else:
                self._update(request, aor, contacts, header_expires, source, now, events)
        return RegisterResult(response=self._ok(request, aor, now), events=events)

    def _unregister_all(
        self,
        request: Request,
        aor: str,
        header_expires: int | None,
        events: list[RegistrarEvent],
    ) -> None:
        if len(request.contacts) != 1 or header_expires != 0:
            raise _Reject(400)
        current = self._aors.get(aor, {})
        cseq = request.cseq.seq
        if any(b.call_id == request.call_id and cseq <= b.cseq for b in current.values()):
            return  # out of order: leave everything as it is (step 7)
        for b in current.values():
            events.append(BindingRemoved(binding=b, reason=RemovalReason.UNREGISTERED))
        self._aors.pop(aor, None)

    def _wanted(self, contacts: list[NameAddress], header_expires: int | None) -> list[_Wanted]:
        wanted: dict[str, _Wanted] = {}
        for c in contacts:
            try:
                uri = SipUri.parse(c.uri)
            except RemoteProtocolError as exc:
                raise _Reject(400) from exc
            if uri.scheme == "tel" or not uri.host:
                raise _Reject(400)
            param = c.params.get("expires")
            if param is not None:
                expires = _delta_seconds(param)
            elif header_expires is not None:
                expires = header_expires
            else:
                expires = self.default_expires
            if 0 < expires < self.min_expires:
                raise _Reject(423, [("Min-Expires", str(self.min_expires))])
            expires = min(expires, self.max_expires)
            instance = c.params.get("+sip.instance")
            key = _contact_key(c.uri)
            wanted[key] = _Wanted(c.uri, key, expires, _q_value(c.params.get("q")), instance)
        return list(wanted.values())

    def _update(
        self,
        request: Request,
        aor: str,
        contacts: list[NameAddress],
        header_expires: int | None,
        source: Address,
        now: float,
        events: list[RegistrarEvent],
    ) -> None:
        wanted = self._wanted(contacts, header_expires)
        current = dict(self._aors.get(aor, {}))
        call_id, cseq = request.call_id, request.cseq.seq
        for w in wanted:
            old = current.get(w.key)
            if old is not None and old.call_id == call_id and cseq <= old.cseq:
                return  # out of order or retransmitted: abort without change (step 7)
        wanted_keys = {w.key for w in wanted}
        pending: list[RegistrarEvent] = []
        for w in wanted:
            if w.expires == 0:
                continue
            for key, b in list(current.items()):
                if key in wanted_keys:
                    continue
                same_instance = w.instance is not None and b.instance == w.instance
                same_ua = self.replace_same_call_id and b.call_id == call_id and b.cseq < cseq
                if same_instance or same_ua:
                    del current[key]
                    pending.append(BindingRemoved(binding=b, reason=RemovalReason.REPLACED))
        user_agent = request.headers.get("User-Agent") or ""
        for w in wanted:
            old = current.get(w.key)
            if w.expires == 0:
                if old is not None:
                    del current[w.key]
                    pending.append(BindingRemoved(binding=old, reason=RemovalReason.UNREGISTERED))
                continue
            new = Binding(
                aor=aor,
                contact=w.contact,
                source=source,
                user_agent=user_agent,
                call_id=call_id,
                cseq=cseq,
                expires_at=now + w.expires,
                q=w.q,
                registered_at=now,
                instance=w.instance,
            )
            current[w.key] = new
            if old is None:
                pending.append(BindingAdded(binding=new))
            else:
                pending.append(BindingRefreshed(binding=new, previous=old))
        if len(current) > self.max_contacts:
            raise _Reject(403)
        if current:
            self._aors[aor] = current
        else:
            self._aors.pop(aor, None)
        events.extend(pending)

    # -- responses -------------------------------------------------------------------

    def _respond(
        self, request: Request, status: int, extra: list[tuple[str, str]] | None = None
    ) -> Response:
        return make_response(request, status, to_tag=_to_tag(request), extra=extra)

    def _ok(self, request: Request, aor: str, now: float) -> Response:
        extra: list[tuple[str, str]] = []
        for b in self.snapshot_of(aor):
            remaining = max(0, round(b.expires_at - now))
            q = "" if b.q == 1.0 else f";q={b.q:g}"
            extra.append(("Contact", f"<{b.contact}>;expires={remaining}{q}"))
        extra.append(("Date", formatdate(now, usegmt=True)))
        return self._respond(request, 200, extra)

    def snapshot_of(self, aor: str) -> list[Binding]:
        return [b for _, b in sorted(self._aors.get(aor, {}).items())]


def _to_tag(request: Request) -> str:
    """A To tag derived from the request (Call-ID, From tag, CSeq): unique per request as
    §19.3 wants, identical for retransmissions, and carrying no randomness that could
    tell an unknown user from a wrong password."""
    seed = f"{request.call_id}\x00{request.from_.tag or ''}\x00{request.headers.get('CSeq')}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:16]
