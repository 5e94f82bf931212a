"""Registrar (RFC 3261 §10.3): every rule with literal `now` values."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.digest import Credentials, DigestAuthenticator, digest_response, ha1
from sip.digest_params import parse_challenge
from sip.message import Request, Response, parse_message
from sip.ratelimit import FailureLimiter
from sip.registrar import (
    Address,
    AuthFailed,
    Binding,
    BindingAdded,
    BindingRefreshed,
    BindingRemoved,
    RegisterResult,
    Registrar,
    RemovalReason,
)

DOMAIN = "12345.hotline.gov.cn"
USERS = {
    "1001": Credentials.from_password("1001", DOMAIN, "s3cret"),
    "1002": Credentials.from_password("1002", DOMAIN, "other"),
}
SRC = Address(transport="UDP", host="203.0.113.7", port=40512)
CONTACT = "sip:1001@192.168.1.20:5060"


def counter_random() -> Callable[[int], bytes]:
    """Deterministic "random" bytes: two registrars built alike issue the same nonces."""
    counter = itertools.count()
    return lambda n: next(counter).to_bytes(n, "big")


def make_registrar(**kwargs: object) -> Registrar:
    auth = DigestAuthenticator(
        DOMAIN,
        b"0123456789abcdef-secret",
        USERS.get,
        nonce_ttl=3600.0,
        random_bytes=counter_random(),
    )
    limiter = FailureLimiter(3, 60.0)
    return Registrar(DOMAIN, auth, limiter, aliases=["10.0.0.1"], **kwargs)  # type: ignore[arg-type]


@dataclass
class Phone:
    """A softphone that REGISTERs and answers challenges like Linphone does."""

    user: str = "1001"
    password: str = "s3cret"
    call_id: str = "reg-1@192.168.1.20"
    cseq: int = 0
    nonce: str | None = None
    nc: int = 0
    ruri: str = f"sip:{DOMAIN}"
    to_user: str | None = None

    def register(
        self, contacts: list[str] | None = None, expires: int | None = None, extra: str = ""
    ) -> Request:
        self.cseq += 1
        to = self.to_user or self.user
        lines = [
            f"REGISTER {self.ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP 192.168.1.20:5060;rport;branch=z9hG4bK-{self.cseq}",
            "Max-Forwards: 70",
            f"From: <sip:{to}@{DOMAIN}>;tag=ft1",
            f"To: <sip:{to}@{DOMAIN}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            "User-Agent: Linphone/5.2.0",
        ]
        for c in [f"<{CONTACT}>"] if contacts is None else contacts:
            lines.append(f"Contact: {c}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if self.nonce is not None:
            self.nc += 1
            nc = f"{self.nc:08x}"
            resp = digest_response(
                algorithm="SHA-256",
                ha1_hex=ha1(self.user, DOMAIN, self.password, "SHA-256"),
                nonce=self.nonce,
                method="REGISTER",
                uri=self.ruri,
                nc=nc,
                cnonce="c0ffee",
            )
            lines.append(
                f'Authorization: Digest username="{self.user}", realm="{DOMAIN}", '
                f'nonce="{self.nonce}", uri="{self.ruri}", response="{resp}", '
                f'algorithm=SHA-256, qop=auth, nc={nc}, cnonce="c0ffee"'
            )
        if extra:
            lines.append(extra)
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
        msg = parse_message(raw)
        assert isinstance(msg, Request)
        return msg

    def learn(self, response: Response) -> None:
        challenges = response.headers.get_lines("WWW-Authenticate")
        self.nonce = parse_challenge(challenges[0])[1]["nonce"]
        self.nc = 0


def login(reg: Registrar, phone: Phone, now: float, **kw: object) -> RegisterResult:
    """REGISTER, take the 401, REGISTER again with credentials."""
    if phone.nonce is None:
        first = reg.handle_register(phone.register(**kw), SRC, now)  # type: ignore[arg-type]
        assert first.response.status == 401
        phone.learn(first.response)
    return reg.handle_register(phone.register(**kw), SRC, now)  # type: ignore[arg-type]


def contacts_of(resp: Response) -> list[str]:
    return resp.headers.get_all("Contact")


# -- authentication ------------------------------------------------------------------


def test_first_register_is_challenged_with_sha256_then_md5() -> None:
    reg = make_registrar()
    result = reg.handle_register(Phone().register(), SRC, 0.0)
    assert result.response.status == 401
    values = result.response.headers.get_lines("WWW-Authenticate")
    algos = [parse_challenge(v)[1]["algorithm"] for v in values]
    assert algos == ["SHA-256", "MD5"]
    assert all("stale" not in parse_challenge(v)[1] for v in values)
    assert result.events == []  # a missing credential is not a failure
    assert reg.bindings(reg.aor_of("1001")) == []


def test_good_credentials_bind_the_contact() -> None:
    reg = make_registrar()
    result = login(reg, Phone(), 0.0)
    assert result.response.status == 200
    assert contacts_of(result.response) == [f"<{CONTACT}>;expires=3600"]
    assert result.response.headers.get("Date") == "Thu, 01 Jan 1970 00:00:00 GMT"
    (event,) = result.events
    assert isinstance(event, BindingAdded)
    b = event.binding
    assert b.aor == f"sip:1001@{DOMAIN}"
    assert (b.contact, b.source, b.user_agent) == (CONTACT, SRC, "Linphone/5.2.0")
    assert (b.call_id, b.cseq, b.expires_at, b.q) == ("reg-1@192.168.1.20", 2, 3600.0, 1.0)
    assert b.behind_nat
    assert reg.lookup_user("1001") == [b]


def test_expired_nonce_with_good_response_gets_stale_true() -> None:
    reg = make_registrar()
    phone = Phone()
    login(reg, phone, 0.0)
    result = reg.handle_register(phone.register(), SRC, 4000.0)  # nonce_ttl is 3600
    assert result.response.status == 401
    params = parse_challenge(result.response.headers.get_lines("WWW-Authenticate")[0])[1]
    assert params["stale"] == "true"
    assert result.events == []
    phone.learn(result.response)
    assert reg.handle_register(phone.register(), SRC, 4001.0).response.status == 200


def test_unknown_user_and_wrong_password_are_indistinguishable() -> None:
    wrong = make_registrar()
    p1 = Phone(password="nope")
    p1.learn(wrong.handle_register(p1.register(), SRC, 0.0).response)
    r1 = wrong.handle_register(p1.register(), SRC, 1.0)

    unknown = make_registrar()
    p2 = Phone(user="7777", password="nope")
    p2.learn(unknown.handle_register(p2.register(), SRC, 0.0).response)
    r2 = unknown.handle_register(p2.register(), SRC, 1.0)

    assert r1.response.status == r2.response.status == 401
    # Same nonce source, same request apart from the user: byte-identical answers.
    assert bytes(r1.response) == bytes(r2.response).replace(b"7777", b"1001")
    assert [type(e) for e in r1.events] == [type(e) for e in r2.events] == [AuthFailed]
    assert r1.events[0].reason == r2.events[0].reason == "bad-credentials"  # type: ignore[union-attr]


def test_authenticated_user_must_own_the_to_aor() -> None:
    reg = make_registrar()
    phone = Phone(to_user="1002")  # 1001's credentials, registering 1002
    result = login(reg, phone, 0.0)
    assert result.response.status == 403
    assert result.events == [AuthFailed(source=SRC, username="1001", reason="user-mismatch")]
    assert reg.snapshot() == []


def test_repeated_failures_block_the_source_user_pair() -> None:
    reg = make_registrar()
    phone = Phone(password="guess")
    phone.learn(reg.handle_register(phone.register(), SRC, 0.0).response)
    for t in (1.0, 2.0, 3.0):
        assert reg.handle_register(phone.register(), SRC, t).response.status == 401
    blocked = reg.handle_register(phone.register(), SRC, 4.0)
    assert blocked.response.status == 403
    assert blocked.response.headers.get("Retry-After") == "57"  # first failure at 1.0, window 60
    assert "WWW-Authenticate" not in blocked.response.headers
    assert blocked.events == [AuthFailed(source=SRC, username="1001", reason="blocked")]
    # Even the right password is refused while blocked ...
    good = Phone(call_id="other", nonce=phone.nonce)
    assert reg.handle_register(good.register(), SRC, 5.0).response.status == 403
    # ... another agent behind the same NAT address is not affected ...
    other = Phone(user="1002", password="other")
    assert login(reg, other, 5.0).response.status == 200
    # ... and the block lifts when the window has passed.
    assert reg.handle_register(good.register(), SRC, 61.5).response.status == 200


def test_varying_the_to_user_does_not_dodge_the_limit() -> None:
    """Guessing 1001's password while naming a different To user each time still counts
    against 1001: the key includes the username the credentials claim."""
    reg = make_registrar()
    phone = Phone(password="guess")
    phone.learn(reg.handle_register(phone.register(), SRC, 0.0).response)
    for t, to_user in ((1.0, "2001"), (2.0, "2002"), (3.0, "2003")):
        phone.to_user = to_user
        assert reg.handle_register(phone.register(), SRC, t).response.status == 401
    phone.to_user = "2004"
    blocked = reg.handle_register(phone.register(), SRC, 4.0)
    assert blocked.response.status == 403
    assert "WWW-Authenticate" not in blocked.response.headers
    # The right password for 1001 is refused too while 1001 is under attack from here.
    good = Phone(call_id="other", nonce=phone.nonce)
    assert reg.handle_register(good.register(), SRC, 5.0).response.status == 403


def test_foreign_request_uri_is_403_and_foreign_to_domain_404() -> None:
    reg = make_registrar()
    result = reg.handle_register(Phone(ruri="sip:evil.example").register(), SRC, 0.0)
    assert result.response.status == 403
    # An alias (the ACD's IP address) is accepted as the Request-URI.
    assert (
        reg.handle_register(Phone(ruri="sip:10.0.0.1").register(), SRC, 0.0).response.status == 401
    )


def test_require_gets_420_with_unsupported() -> None:
    reg = make_registrar()
    result = reg.handle_register(Phone().register(extra="Require: path"), SRC, 0.0)
    assert result.response.status == 420
    assert result.response.headers.get("Unsupported") == "path"


# -- expirations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "expires_header", "granted"),
    [
        (f"<{CONTACT}>;expires=120", 600, 120),  # the parameter wins
        (f"<{CONTACT}>", 600, 600),  # else the header
        (f"<{CONTACT}>", None, 3600),  # else the default
        (f"<{CONTACT}>;expires=86400", None, 3600),  # capped at max
        (f"<{CONTACT}>", 60, 60),  # exactly the minimum is fine
    ],
)
def test_expiration_sources(contact: str, expires_header: int | None, granted: int) -> None:
    reg = make_registrar()
    result = login(reg, Phone(), 10.0, contacts=[contact], expires=expires_header)
    assert result.response.status == 200
    assert contacts_of(result.response) == [f"<{CONTACT}>;expires={granted}"]
    assert reg.next_deadline() == 10.0 + granted


def test_too_brief_is_423_with_min_expires() -> None:
    reg = make_registrar()
    result = login(reg, Phone(), 0.0, expires=30)
    assert result.response.status == 423
    assert result.response.headers.get("Min-Expires") == "60"
    assert reg.snapshot() == []


@pytest.mark.parametrize("bad", ["<sip:1001@h>;expires=soon", "<sip:1001@h>;q=2", "<tel:+861>"])
def test_bad_contact_is_400(bad: str) -> None:
    reg = make_registrar()
    assert login(reg, Phone(), 0.0, contacts=[bad]).response.status == 400


def test_binding_expires_by_timer() -> None:
    reg = make_registrar()
    login(reg, Phone(), 0.0, expires=120)
    assert reg.next_deadline() == 120.0
    assert reg.handle_timer(119.9) == []
    (event,) = reg.handle_timer(120.0)
    assert isinstance(event, BindingRemoved) and event.reason is RemovalReason.EXPIRED
    assert reg.lookup_user("1001") == []
    assert reg.next_deadline() is None


def test_refresh_then_unregister_with_expires_zero() -> None:
    reg = make_registrar()
    phone = Phone()
    login(reg, phone, 0.0, expires=600)
    refreshed = reg.handle_register(phone.register(expires=600), SRC, 300.0)
    assert refreshed.response.status == 200
    assert contacts_of(refreshed.response) == [f"<{CONTACT}>;expires=600"]
    (event,) = refreshed.events
    assert isinstance(event, BindingRefreshed)
    assert (event.previous.expires_at, event.binding.expires_at) == (600.0, 900.0)
    gone = reg.handle_register(phone.register(expires=0), SRC, 310.0)
    assert gone.response.status == 200
    assert contacts_of(gone.response) == []
    (removed,) = gone.events
    assert isinstance(removed, BindingRemoved)
    assert removed.reason is RemovalReason.UNREGISTERED


# -- wildcard, query, multiple contacts ---------------------------------------------------


def test_star_removes_all_bindings() -> None:
    reg = make_registrar()
    phone = Phone()
    login(reg, phone, 0.0, contacts=["<sip:1001@192.168.1.20:5060>", "<sip:1001@10.8.0.2:5062>"])
    assert len(reg.lookup_user("1001")) == 2
    result = reg.handle_register(phone.register(contacts=["*"], expires=0), SRC, 5.0)
    assert result.response.status == 200
    assert contacts_of(result.response) == []
    assert [e.reason for e in result.events] == [RemovalReason.UNREGISTERED] * 2  # type: ignore[union-attr]
    assert reg.snapshot() == []


@pytest.mark.parametrize(
    ("contacts", "expires"),
    [(["*"], None), (["*"], 60), (["*", f"<{CONTACT}>"], 0)],
)
def test_star_misuse_is_400(contacts: list[str], expires: int | None) -> None:
    reg = make_registrar()
    assert login(reg, Phone(), 0.0, contacts=contacts, expires=expires).response.status == 400


def test_register_without_contact_is_a_query() -> None:
    reg = make_registrar()
    phone = Phone()
    login(
        reg,
        phone,
        0.0,
        contacts=["<sip:1001@192.168.1.20:5060>;q=0.5", "<sip:1001@10.8.0.2:5062>;expires=120"],
    )
    result = reg.handle_register(phone.register(contacts=[]), SRC, 20.0)
    assert result.response.status == 200
    assert result.events == []
    assert sorted(contacts_of(result.response)) == [
        "<sip:1001@10.8.0.2:5062>;expires=100",
        "<sip:1001@192.168.1.20:5060>;expires=3580;q=0.5",
    ]


def test_lookup_sorts_by_q_then_most_recent() -> None:
    reg = make_registrar(replace_same_call_id=False)
    phone = Phone()
    login(reg, phone, 0.0, contacts=["<sip:1001@a.example>;q=0.5"])
    reg.handle_register(phone.register(contacts=["<sip:1001@b.example>;q=0.5"]), SRC, 10.0)
    reg.handle_register(phone.register(contacts=["<sip:1001@c.example>;q=0.9"]), SRC, 20.0)
    order = [b.contact for b in reg.lookup_user("1001")]
    assert order == ["sip:1001@c.example", "sip:1001@b.example", "sip:1001@a.example"]


def test_same_call_id_new_contact_replaces_old_one() -> None:
    reg = make_registrar()
    phone = Phone()
    login(reg, phone, 0.0)
    moved = reg.handle_register(
        phone.register(contacts=["<sip:1001@192.168.1.20:6000>"]), SRC, 30.0
    )
    assert [type(e) for e in moved.events] == [BindingRemoved, BindingAdded]
    assert moved.events[0].reason is RemovalReason.REPLACED  # type: ignore[union-attr]
    assert [b.contact for b in reg.lookup_user("1001")] == ["sip:1001@192.168.1.20:6000"]


def test_same_instance_replaces_across_call_ids() -> None:
    reg = make_registrar()
    inst = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'
    login(reg, Phone(), 0.0, contacts=[f"<sip:1001@192.168.1.20:5060>;{inst}"])
    rebooted = Phone(call_id="reg-2")
    result = login(reg, rebooted, 50.0, contacts=[f"<sip:1001@192.168.1.21:5060>;{inst}"])
    assert [type(e) for e in result.events] == [BindingRemoved, BindingAdded]
    assert [b.contact for b in reg.lookup_user("1001")] == ["sip:1001@192.168.1.21:5060"]


def test_contact_cap_is_403_and_changes_nothing() -> None:
    reg = make_registrar(max_contacts=2, replace_same_call_id=False)
    phone = Phone()
    login(reg, phone, 0.0, contacts=["<sip:1001@a.example>", "<sip:1001@b.example>"])
    result = reg.handle_register(phone.register(contacts=["<sip:1001@c.example>"]), SRC, 1.0)
    assert result.response.status == 403
    assert result.events == []
    assert len(reg.lookup_user("1001")) == 2


# -- CSeq ordering (step 7) ---------------------------------------------------------------


def test_lower_or_equal_cseq_same_call_id_is_not_applied() -> None:
    reg = make_registrar()
    phone = Phone()
    login(reg, phone, 0.0, expires=600)  # binding has CSeq 2
    reg.handle_register(phone.register(expires=900), SRC, 10.0)  # CSeq 3
    phone.cseq = 1
    late = phone.register(expires=0)  # CSeq 2 again (fresh nc, so digest accepts it)
    result = reg.handle_register(late, SRC, 11.0)
    assert result.response.status == 200  # Kamailio R_OOO: 200, binding unchanged
    assert result.events == []
    assert contacts_of(result.response) == [f"<{CONTACT}>;expires=899"]
    # A different Call-ID (a rebooted phone) may always update the binding.
    rebooted = Phone(call_id="reg-2", cseq=0)
    assert login(reg, rebooted, 12.0, expires=0).response.status == 200
    assert reg.lookup_user("1001") == []


def test_out_of_order_star_is_not_applied() -> None:
    reg = make_registrar()
    phone = Phone()
    login(reg, phone, 0.0)
    phone.cseq = 1  # next REGISTER reuses CSeq 2, equal to the binding's
    result = reg.handle_register(phone.register(contacts=["*"], expires=0), SRC, 1.0)
    assert result.response.status == 200
    assert len(reg.lookup_user("1001")) == 1


# -- persistence ------------------------------------------------------------------------


def test_restore_rebuilds_from_the_store_and_drops_expired() -> None:
    reg = make_registrar()
    login(reg, Phone(), 0.0, contacts=["<sip:1001@a.example>;expires=100"])
    login(
        reg,
        Phone(user="1002", password="other", call_id="x"),
        0.0,
        contacts=["<sip:1002@b.example>;expires=1000"],
    )
    stored = reg.snapshot()
    assert [b.aor for b in stored] == [f"sip:1001@{DOMAIN}", f"sip:1002@{DOMAIN}"]

    standby = make_registrar()
    events = standby.restore(stored, 500.0)
    assert [(type(e), e.binding.aor) for e in events] == [  # type: ignore[union-attr]
        (BindingRemoved, f"sip:1001@{DOMAIN}")
    ]
    assert standby.snapshot() == stored[1:]
    assert standby.next_deadline() == 1000.0
    # The restored binding keeps CSeq ordering: an old REGISTER is still not applied.
    assert standby.lookup_user("1002")[0].cseq == 2


def test_binding_is_plain_data() -> None:
    b = Binding(
        aor="sip:1@d",
        contact="sip:1@192.0.2.1:5060",
        source=Address(transport="UDP", host="192.0.2.1", port=5060),
        user_agent="",
        call_id="c",
        cseq=1,
        expires_at=1.0,
    )
    assert not b.behind_nat
    assert b.key == ("sip:1@d", "sip:1@192.0.2.1:5060;")


# -- invariants under random traffic -------------------------------------------------------

_CONTACTS = ["<sip:1001@192.168.1.20:5060>", "<sip:1001@10.8.0.2:5062>", "<sip:1001@h.example>"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            # at most 12 x 290 s in all: the nonce (ttl 3600 s) must not go stale here
            st.floats(min_value=0.0, max_value=290.0),
            st.lists(st.sampled_from(_CONTACTS), max_size=3),
            st.sampled_from([None, 0, 30, 60, 120, 600]),
            st.booleans(),  # new Call-ID (a rebooted phone)?
        ),
        max_size=12,
    )
)
def test_response_always_lists_exactly_the_live_bindings(
    steps: list[tuple[float, list[str], int | None, bool]],
) -> None:
    reg = make_registrar()
    phone = Phone()
    now = 0.0
    login(reg, phone, now)
    for n, (dt, contacts, expires, reboot) in enumerate(steps):
        now += dt
        if reboot:
            phone = Phone(call_id=f"boot-{n}", nonce=phone.nonce, nc=phone.nc)
        result = reg.handle_register(phone.register(contacts=contacts, expires=expires), SRC, now)
        assert result.response.status in (200, 423)
        live = reg.bindings(reg.aor_of("1001"))
        assert all(b.expires_at > now for b in live)
        if result.response.status == 200:
            listed = sorted(c.split(";expires=")[0] for c in contacts_of(result.response))
            assert listed == sorted(f"<{b.contact}>" for b in live)
        assert len(live) <= reg.max_contacts
        deadline = reg.next_deadline()
        assert deadline == (min(b.expires_at for b in live) if live else None)


def test_any_transport_address_shape_is_accepted_as_source() -> None:
    class Peer(NamedTuple):  # the shape of the transaction layer's Address
        transport: str
        host: str
        port: int

    reg = make_registrar()
    phone = Phone()
    phone.learn(
        reg.handle_register(phone.register(), Peer("udp", "203.0.113.9", 5060), 0.0).response
    )
    result = reg.handle_register(phone.register(), Peer("udp", "203.0.113.9", 5060), 1.0)
    assert reg.lookup_user("1001")[0].source == Address(
        transport="udp", host="203.0.113.9", port=5060
    )
    assert result.response.status == 200
