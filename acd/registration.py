"""Agents' softphones: REGISTER handling, OPTIONS qualify pings, and who is reachable.

Glue only: the rules live in `sip.registrar.Registrar` and `sip.qualify.Qualifier`. This
service feeds them requests and time, sends the registrar's responses, persists bindings
(so a restarted or standby ACD rebuilds registrations from the store alone), pings contacts,
and tells its listeners when an agent becomes reachable or unreachable.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Protocol

from acd.logging import get_logger
from acd.sipservice import ClientOutcome, SipService
from config import Settings
from sip.digest import Credentials, DigestAuthenticator
from sip.errors import RemoteProtocolError
from sip.headers import NameAddress, SipUri
from sip.qualify import ContactReachable, ContactUnreachable, Qualifier, Reachability
from sip.ratelimit import FailureLimiter
from sip.registrar import (
    AuthFailed,
    Binding,
    BindingAdded,
    BindingRefreshed,
    BindingRemoved,
    Registrar,
    RegistrarEvent,
)
from sip.requests import build_options, new_call_id
from sip.transaction_events import Address, RequestReceived

__all__ = [
    "BindingStore",
    "RegistrationService",
    "binding_destination",
    "credentials_from_settings",
]

log = get_logger("acd.registration")

ReachabilityListener = Callable[[str, bool, float], None]


class BindingStore(Protocol):
    def save_binding(self, binding: Binding) -> None: ...

    def remove_binding(self, binding: Binding) -> None: ...


def credentials_from_settings(settings: Settings) -> dict[str, Credentials]:
    out: dict[str, Credentials] = {}
    for agent in settings.agents:
        ha1 = {"MD5": agent.ha1} if agent.ha1 else {}
        if agent.ha1_sha256:
            ha1["SHA-256"] = agent.ha1_sha256
        out[agent.id] = Credentials(ha1=ha1)
    return out


def binding_destination(binding: Binding) -> Address:
    """Where requests to a registered contact go (qualify pings, INVITEs).

    Kamailio's NAT rule: over UDP, the Contact itself when its IP is the IP the REGISTER
    came from (a phone whose Contact differs from its source only by port listens on the
    Contact port), else the source address (NAT: only the binding the REGISTER opened is
    reachable). Over TCP always the source: the connection the phone opened (RFC 5626).
    """
    src = binding.source
    transport = src.transport.lower()
    if transport == "udp":
        try:
            uri = SipUri.parse(binding.contact)
        except RemoteProtocolError:
            uri = None
        if (
            uri is not None
            and uri.scheme == "sip"
            and str(uri.params.get("transport") or "udp").lower() == "udp"
            and uri.host.strip("[]").lower() == src.host.strip("[]").lower()
        ):
            return Address("udp", src.host, uri.port or 5060)
    return Address(transport, src.host, src.port)



class RegistrationService:
    def __init__(
        self,
        sip: SipService,
        settings: Settings,
        store: BindingStore | None = None,
        *,
        secret: bytes | None = None,
        aliases: Iterable[str] = (),
    ) -> None:
        sipcfg = settings.sip
        self.sip = sip
        self.store = store
        self.domain = sipcfg.domain or "localhost"
        credentials = credentials_from_settings(settings)
        #: The agents' digest authenticator (realm, HA1s, nonces, nc replay map) and the
        #: failure limiter, shared with every other digest check on agents (feature codes).
        self.authenticator = DigestAuthenticator(
            sipcfg.realm or self.domain,
            secret or secrets.token_bytes(32),
            credentials.get,
            nonce_ttl=sipcfg.nonce_ttl,
            algorithms=sipcfg.digest_algorithms,
        )
        self.limiter = FailureLimiter(
            sipcfg.auth_failure_limit.failures, sipcfg.auth_failure_limit.window
        )
        self.registrar = Registrar(
            self.domain,
            self.authenticator,
            self.limiter,
            min_expires=sipcfg.min_expires,
            max_expires=sipcfg.max_expires,
            default_expires=sipcfg.default_expires,
            aliases=aliases,
        )
        interval = sipcfg.qualify_interval
        self.qualifier: Qualifier[tuple[str, str]] | None = (
            Qualifier(interval=interval, timeout=max(40.0, interval)) if interval > 0 else None
        )
        self.listeners: list[ReachabilityListener] = []
        self._reachable: dict[str, bool] = {}
        sip.handlers["REGISTER"] = self.on_register
        sip.runtime.add_timed(self)

    # -- queries ---------------------------------------------------------------------------
    def contacts(self, agent_id: str) -> list[Binding]:
        """Where to ring an agent, best first (reachable ones only when qualifying)."""
        found = self.registrar.lookup_user(agent_id)
        if self.qualifier is None:
            return found
        return [b for b in found if self.qualifier.state(b.key) is not Reachability.UNREACHABLE]

    def is_reachable(self, agent_id: str) -> bool:
        return self._reachable.get(agent_id, False)

    # -- inputs ----------------------------------------------------------------------------
    def on_register(self, event: RequestReceived, now: float) -> None:
        result = self.registrar.handle_register(event.request, event.source, now)
        self.sip.respond(event.key, result.response, now)
        self._apply(result.events, now)

    def restore(self, bindings: Iterable[Binding], now: float) -> None:
        """Rebuild registrations from the store after a restart or failover."""
        events = self.registrar.restore(bindings, now)
        self._apply(events, now)
        for binding in self.registrar.snapshot():
            self._apply([BindingAdded(binding=binding)], now, persist=False)
        log.info("registrations_restored", bindings=len(self.registrar.snapshot()))

    def next_deadline(self) -> float | None:
        deadlines = [self.registrar.next_deadline()]
        if self.qualifier is not None:
            deadlines.append(self.qualifier.next_deadline())
        known = [d for d in deadlines if d is not None]
        return min(known) if known else None

    def handle_timer(self, now: float) -> None:
        self._apply(self.registrar.handle_timer(now), now)
        if self.qualifier is None:
            return
        self._qualified(self.qualifier.handle_timer(now), now)
        for key in self.qualifier.due(now):
            self._ping(key, now)

    # -- internals -------------------------------------------------------------------------
    def _apply(self, events: list[RegistrarEvent], now: float, *, persist: bool = True) -> None:
        for event in events:
            if isinstance(event, BindingAdded | BindingRefreshed):
                binding = event.binding
                if persist and self.store is not None:
                    self.store.save_binding(binding)
                if isinstance(event, BindingAdded):
                    log.info(
                        "agent_registered",
                        agent_id=self._user(binding),
                        contact=binding.contact,
                        expires_at=round(binding.expires_at),
                        user_agent=binding.user_agent,
                    )
                    if self.qualifier is not None and binding.key not in self.qualifier:
                        self.qualifier.add(binding.key, now)
                self._update_reachability(self._user(binding), now)
            elif isinstance(event, BindingRemoved):
                binding = event.binding
                if persist and self.store is not None:
                    self.store.remove_binding(binding)
                if self.qualifier is not None:
                    self.qualifier.remove(binding.key)
                log.info(
                    "agent_unregistered",
                    agent_id=self._user(binding),
                    contact=binding.contact,
                    reason=event.reason.value,
                )
                self._update_reachability(self._user(binding), now)
            elif isinstance(event, AuthFailed):
                log.warning(
                    "sip_auth_failed",
                    username=event.username,
                    reason=event.reason,
                    source=f"{event.source.host}:{event.source.port}",
                )

    def _user(self, binding: Binding) -> str:
        user = binding.aor.removeprefix("sip:").partition("@")[0]
        return user

    def _update_reachability(self, agent_id: str, now: float) -> None:
        reachable = bool(self.contacts(agent_id))
        if self._reachable.get(agent_id, False) == reachable:
            return
        self._reachable[agent_id] = reachable
        log.info("agent_reachability", agent_id=agent_id, reachable=reachable)
        for listener in self.listeners:
            listener(agent_id, reachable, now)

    def _ping(self, key: tuple[str, str], now: float) -> None:
        found = [b for b in self.registrar.bindings(key[0]) if b.key == key]
        if not found or self.qualifier is None:
            return
        binding = found[0]
        dest = binding_destination(binding)
        host, port = self.sip.via_for(dest.transport)
        request = build_options(
            binding.contact,
            NameAddress(f"sip:acd@{self.domain}").with_tag(secrets.token_hex(4)),
            call_id=new_call_id(host),
            via_host=host,
            via_port=port,
            transport=dest.transport.upper(),
        )
        qualifier = self.qualifier

        def done(outcome: ClientOutcome, when: float) -> None:
            if outcome.final:
                # Any response means the phone is alive; only 408 (timeout) and 503
                # (transport failure) generated locally count as failures.
                alive = outcome.response is not None
                self._qualified(qualifier.result(key, alive, when), when)

        self.sip.request(request, dest, now, done)

    def _qualified(
        self,
        events: list[ContactReachable[tuple[str, str]] | ContactUnreachable[tuple[str, str]]],
        now: float,
    ) -> None:
        for event in events:
            aor = event.contact_key[0]
            agent_id = aor.removeprefix("sip:").partition("@")[0]
            if isinstance(event, ContactUnreachable):
                log.warning(
                    "contact_unreachable",
                    agent_id=agent_id,
                    contact=event.contact_key[1],
                    failures=event.failures,
                )
            else:
                log.info("contact_reachable", agent_id=agent_id, contact=event.contact_key[1])
            self._update_reachability(agent_id, now)
