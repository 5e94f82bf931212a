"""Digest authentication on the wire (RFC 7616, RFC 8760, RFC 3261 §22) against the running
ACD with its default algorithms: SHA-256 first, then MD5.

sipp knows only MD5 and only reads the first challenge, so the client here is a raw UDP
socket (`tests.sipp.wire`); the digest hash comes from `sip.digest`, every assertion is on
the bytes the ACD sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests import pg
from tests.sipp.harness import (
    DOMAIN,
    RunningAcd,
    agent_password,
    fresh_database,
    make_config,
    running_acd,
    sip_section,
    wait_for_event,
)
from tests.sipp.wire import Dialogish, RawMessage, UdpPeer, auth_params, authorization

pytestmark = pytest.mark.sipp

NONCE_TTL = 1.5
FAILURES = 3


@pytest.fixture(scope="module")
def digest_acd(
    pg_server: pg.PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningAcd]:
    tmp = tmp_path_factory.mktemp("digest")
    section = sip_section(
        nonce_ttl=NONCE_TTL, auth_failure_limit={"failures": FAILURES, "window": 60}
    )
    del section["digest_algorithms"]  # the product default (SHA-256, MD5), not the harness's
    with fresh_database(pg_server) as url:
        config = make_config(tmp, url, agents=8, extra={"sip": section})
        with running_acd(config, tmp) as acd:
            yield acd


class Phone:
    """One softphone's REGISTER dialog-ish state over one UDP socket."""

    def __init__(self, peer: UdpPeer, acd: RunningAcd, user: str) -> None:
        self.peer, self.dest, self.user = peer, acd.sip("udp"), user
        self.ids = Dialogish()
        self.aor = f"sip:{user}@{DOMAIN}"

    def register(self, authorization_value: str | None = None, expires: int = 300) -> RawMessage:
        from tests.sipp.wire import build_request

        extra = [
            ("Contact", f"<sip:{self.user}@{self.peer.sent_by}>"),
            ("Expires", str(expires)),
        ]
        if authorization_value is not None:
            extra.append(("Authorization", authorization_value))
        self.peer.send(
            build_request(
                "REGISTER",
                f"sip:{DOMAIN}",
                via=self.peer.via(),
                from_uri=self.aor,
                to_uri=self.aor,
                ids=self.ids,
                extra=extra,
            ),
            self.dest,
        )
        return self.peer.response()

    def answer(
        self, challenge: str, *, password: str | None = None, nc: int = 1, cnonce: str = ""
    ) -> str:
        return authorization(
            challenge,
            user=self.user,
            password=agent_password(self.user) if password is None else password,
            method="REGISTER",
            uri=f"sip:{DOMAIN}",
            nc=nc,
            cnonce=cnonce or None,
        )


def sha256_challenge(response: RawMessage) -> str:
    assert response.status == 401, response.text()
    challenges = response.all("WWW-Authenticate")
    assert auth_params(challenges[0])["algorithm"] == "SHA-256"
    return challenges[0]


def test_two_challenges_sha256_first(digest_acd: RunningAcd) -> None:
    with UdpPeer() as peer:
        response = Phone(peer, digest_acd, "1001").register()
    assert response.status == 401
    names = [n.lower() for n in response.names]
    assert names.count("www-authenticate") == 2
    first, second = (auth_params(v) for v in response.all("WWW-Authenticate"))
    assert (first["algorithm"], second["algorithm"]) == ("SHA-256", "MD5")
    for params in (first, second):
        assert params["realm"] == DOMAIN
        assert params["qop"] == "auth"
        assert "stale" not in params
    assert first["nonce"] == second["nonce"]  # one nonce, whichever the client picks


def test_sha256_registers_and_replayed_nc_is_refused(digest_acd: RunningAcd) -> None:
    with UdpPeer() as peer:
        phone = Phone(peer, digest_acd, "1002")
        challenge = sha256_challenge(phone.register())
        credentials = phone.answer(challenge, nc=1, cnonce="0a4f113b")
        assert "algorithm=SHA-256" in credentials
        ok = phone.register(credentials)
        assert ok.status == 200, ok.text()
        contact = ok.header("Contact")
        assert contact.startswith(f"<sip:1002@{peer.sent_by}>") and ";expires=300" in contact

        replay = phone.register(credentials)  # same nonce, same nc, new CSeq and branch
        assert replay.status == 401, replay.text()
        assert len(replay.all("WWW-Authenticate")) == 2

        onward = phone.register(phone.answer(challenge, nc=2, cnonce="0a4f113c"))
        assert onward.status == 200, onward.text()  # the nonce itself is still good
    failed = wait_for_event(digest_acd, "sip_auth_failed", 5, username="1002")
    assert failed["reason"] == "replay"


def test_expired_nonce_gets_stale_true(digest_acd: RunningAcd) -> None:
    with UdpPeer() as peer:
        phone = Phone(peer, digest_acd, "1005")
        first = phone.register()
        issued = time.time()
        challenge = sha256_challenge(first)
        # The nonce carries its issue time: wait until it is past its TTL (the ACD's clock
        # is this machine's wall clock), bounded.
        deadline = issued + NONCE_TTL + 0.3
        while time.time() < deadline:
            time.sleep(deadline - time.time())  # waiting for the clock itself, not an event
        stale = phone.register(phone.answer(challenge))
        assert stale.status == 401, stale.text()
        fresh = [auth_params(v) for v in stale.all("WWW-Authenticate")]
        assert [p["algorithm"] for p in fresh] == ["SHA-256", "MD5"]
        assert all(p.get("stale") == "true" for p in fresh), stale.text()
        assert fresh[0]["nonce"] != auth_params(challenge)["nonce"]
        retry = phone.register(phone.answer(stale.all("WWW-Authenticate")[0]))
        assert retry.status == 200, retry.text()
    stale_failures = [
        e for e in digest_acd.events("sip_auth_failed") if e.get("username") == "1005"
    ]
    assert not stale_failures  # a stale nonce is not a failed attempt


_VARYING = [
    (re.compile(r'nonce="[^"]*"'), 'nonce="N"'),
    (re.compile(r"tag=[0-9A-Za-z.-]+"), "tag=T"),
    (re.compile(r"branch=[0-9A-Za-z.-]+"), "branch=B"),
    (re.compile(r"rport=\d+"), "rport=P"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:P"),
    (re.compile(r"Call-ID: \S+"), "Call-ID: C"),
    (re.compile(r"sip:(?:1003|9999)@"), "sip:U@"),
]


def _normalise(response: RawMessage) -> str:
    text = response.text()
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def test_unknown_user_and_wrong_password_look_the_same(digest_acd: RunningAcd) -> None:
    answers = {}
    for user in ("1003", "9999"):
        with UdpPeer() as peer:
            phone = Phone(peer, digest_acd, user)
            challenge = sha256_challenge(phone.register())
            answers[user] = phone.register(phone.answer(challenge, password="not-the-password"))
    wrong, unknown = answers["1003"], answers["9999"]
    assert wrong.status == unknown.status == 401
    assert wrong.names == unknown.names
    sets = [
        [
            sorted((k, v) for k, v in auth_params(c).items() if k != "nonce")
            for c in r.all("WWW-Authenticate")
        ]
        for r in (wrong, unknown)
    ]
    assert sets[0] == sets[1]
    assert _normalise(wrong) == _normalise(unknown)
    assert len(wrong.raw) == len(unknown.raw)


def test_repeated_failures_get_403_with_retry_after(digest_acd: RunningAcd) -> None:
    with UdpPeer() as peer:
        phone = Phone(peer, digest_acd, "1004")
        challenge = sha256_challenge(phone.register())
        for _ in range(FAILURES):
            refused = phone.register(phone.answer(challenge, password="guess"))
            assert refused.status == 401, refused.text()
            challenge = refused.all("WWW-Authenticate")[0]
        blocked = phone.register(phone.answer(challenge))  # even the right password now
        assert blocked.status == 403, blocked.text()
        retry_after = blocked.header("Retry-After")
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
        assert not blocked.all("WWW-Authenticate")
    wait_for_event(digest_acd, "sip_auth_failed", 5, username="1004", reason="blocked")
