"""Digest authentication: RFC 7616 vectors, nonces, replay, enumeration, parser."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sip.digest import (
    AuthOutcome,
    Credentials,
    DigestAuthenticator,
    DigestParseError,
    digest_response,
    ha1,
    pick_authorization,
)
from sip.digest_params import format_params, parse_challenge

REALM = "12345.hotline.gov.cn"
SECRET = b"0123456789abcdef-test-secret"


def _counter_random() -> Callable[[int], bytes]:
    counter = itertools.count()

    def random_bytes(n: int) -> bytes:
        return next(counter).to_bytes(n, "big")

    return random_bytes


USERS = {"1001": Credentials.from_password("1001", REALM, "s3cret")}


def make_auth(**kwargs: object) -> DigestAuthenticator:
    return DigestAuthenticator(
        REALM, SECRET, USERS.get, random_bytes=_counter_random(), **kwargs  # type: ignore[arg-type]
    )


def nonce_of(challenge: str) -> str:
    return parse_challenge(challenge)[1]["nonce"]


def authorization(
    nonce: str,
    *,
    username: str = "1001",
    password: str = "s3cret",
    algorithm: str = "SHA-256",
    method: str = "REGISTER",
    uri: str = "sip:12345.hotline.gov.cn",
    nc: str = "00000001",
    cnonce: str = "a1b2c3d4",
    qop: str | None = "auth",
    realm: str = REALM,
) -> str:
    """What a softphone puts in Authorization (param order as Linphone/pjsip send it)."""
    response = digest_response(
        algorithm=algorithm,
        ha1_hex=ha1(username, realm, password, algorithm),
        nonce=nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc,
        cnonce=cnonce,
    )
    value = (
        f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm={algorithm}'
    )
    if qop is not None:
        value += f', cnonce="{cnonce}", qop={qop}, nc={nc}'
    return value


# -- RFC 7616 §3.9.1 ---------------------------------------------------------------

RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example_vectors(algorithm: str, expected: str) -> None:
    h1 = ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    got = digest_response(
        algorithm=algorithm,
        ha1_hex=h1,
        nonce=RFC_NONCE,
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce=RFC_CNONCE,
    )
    assert got == expected


def test_rfc7616_example_authorization_header_parses() -> None:
    value = (
        'Digest username="Mufasa",\r\n realm="http-auth@example.org",\r\n'
        ' uri="/dir/index.html",\r\n algorithm=SHA-256,\r\n nonce="' + RFC_NONCE + '",\r\n'
        " nc=00000001,\r\n cnonce=\"" + RFC_CNONCE + '",\r\n qop=auth,\r\n'
        ' response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",\r\n'
        ' opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    scheme, params = parse_challenge(value)
    assert scheme == "digest"
    assert params["algorithm"] == "SHA-256"
    assert params["nc"] == "00000001"
    assert params["uri"] == "/dir/index.html"
    assert len(params) == 10


def test_ha1_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError):
        ha1("a", "b", "c", "SHA-512-256")


# -- challenge -----------------------------------------------------------------------


def test_challenge_offers_sha256_first_then_md5_with_one_nonce() -> None:
    values = make_auth(opaque="op").challenge(0.0)
    assert len(values) == 2
    (s1, p1), (s2, p2) = parse_challenge(values[0]), parse_challenge(values[1])
    assert (s1, s2) == ("digest", "digest")
    assert (p1["algorithm"], p2["algorithm"]) == ("SHA-256", "MD5")
    assert p1["qop"] == p2["qop"] == "auth"
    assert p1["realm"] == REALM and p1["opaque"] == "op"
    assert p1["nonce"] == p2["nonce"]
    assert "stale" not in p1
    assert 'qop="auth"' in values[0] and "algorithm=SHA-256" in values[0]


def test_stale_challenge_carries_stale_true() -> None:
    values = make_auth().challenge(0.0, stale=True)
    assert all(parse_challenge(v)[1]["stale"] == "true" for v in values)
    assert all("stale=true" in v for v in values)


# -- verify ----------------------------------------------------------------------------


def test_softphone_register_sha256_and_md5_accepted() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(100.0)[0])
    for nc, algorithm in (("00000001", "SHA-256"), ("00000002", "MD5")):
        value = authorization(nonce, algorithm=algorithm, nc=nc)
        result = auth.verify("REGISTER", value, 101.0)
        assert result.outcome is AuthOutcome.OK, result
        assert result.username == "1001"
        assert result.algorithm == algorithm


def test_real_microsip_style_header() -> None:
    # pjsip (MicroSIP) order and spacing: algorithm before cnonce, qop and nc unquoted.
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[1])
    resp = digest_response(
        algorithm="MD5",
        ha1_hex=ha1("1001", REALM, "s3cret", "MD5"),
        nonce=nonce,
        method="REGISTER",
        uri="sip:12345.hotline.gov.cn;transport=UDP",
        nc="00000001",
        cnonce="9d2b4c0f7a1e4b5c",
    )
    value = (
        f'Digest username="1001",realm="{REALM}",nonce="{nonce}",'
        f'uri="sip:12345.hotline.gov.cn;transport=UDP",response="{resp.upper()}",'
        'algorithm=MD5,cnonce="9d2b4c0f7a1e4b5c",qop=auth,nc=00000001'
    )
    assert auth.verify("REGISTER", value, 1.0).outcome is AuthOutcome.OK


def test_algorithm_defaults_to_md5_when_absent() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    value = authorization(nonce, algorithm="MD5").replace(", algorithm=MD5", "")
    assert auth.verify("REGISTER", value, 1.0).outcome is AuthOutcome.OK


def test_missing_and_non_digest_are_missing_not_failed() -> None:
    auth = make_auth()
    assert auth.verify("REGISTER", None, 0.0).outcome is AuthOutcome.MISSING
    assert auth.verify("REGISTER", "   ", 0.0).outcome is AuthOutcome.MISSING
    assert auth.verify("REGISTER", "Basic QWxhZGRpbg==", 0.0).outcome is AuthOutcome.MISSING


def test_nonce_within_ttl_ok_and_after_ttl_stale() -> None:
    auth = make_auth(nonce_ttl=300)
    nonce = nonce_of(auth.challenge(1000.0)[0])
    assert auth.verify("REGISTER", authorization(nonce), 1300.0).outcome is AuthOutcome.OK
    late = auth.verify("REGISTER", authorization(nonce, nc="00000002"), 1300.001)
    assert late.outcome is AuthOutcome.STALE
    assert late.reason == "stale-nonce"


def test_expired_nonce_with_wrong_password_is_failed_not_stale() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    result = auth.verify("REGISTER", authorization(nonce, password="nope"), 1000.0)
    assert result.outcome is AuthOutcome.FAILED


def test_replayed_nc_rejected_increasing_nc_accepted() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    ok = AuthOutcome.OK
    assert auth.verify("REGISTER", authorization(nonce, nc="00000001"), 1.0).outcome is ok
    replay = auth.verify("REGISTER", authorization(nonce, nc="00000001"), 2.0)
    assert (replay.outcome, replay.reason) == (AuthOutcome.FAILED, "replay")
    assert auth.verify("REGISTER", authorization(nonce, nc="00000002"), 3.0).outcome is ok
    assert auth.verify("REGISTER", authorization(nonce, nc="0000000a"), 4.0).outcome is ok
    lower = auth.verify("REGISTER", authorization(nonce, nc="00000009"), 5.0)
    assert lower.outcome is AuthOutcome.FAILED


def test_forged_high_nc_does_not_poison_replay_map() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    forged = authorization(nonce, password="guess", nc="ffffffff")
    assert auth.verify("REGISTER", forged, 1.0).outcome is AuthOutcome.FAILED
    assert auth.verify("REGISTER", authorization(nonce), 2.0).outcome is AuthOutcome.OK


def test_tampered_nonce_rejected() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    raw = bytearray(base64.b64decode(nonce))
    raw[0] ^= 0x01  # move the timestamp: MAC no longer matches
    tampered = base64.b64encode(bytes(raw)).decode()
    result = auth.verify("REGISTER", authorization(tampered), 1.0)
    assert (result.outcome, result.reason) == (AuthOutcome.FAILED, "bad-nonce")
    for junk in ("", "not base64!", base64.b64encode(b"short").decode()):
        assert auth.verify("REGISTER", authorization(junk), 1.0).outcome is AuthOutcome.FAILED


def test_nonce_from_other_secret_or_realm_rejected() -> None:
    other = DigestAuthenticator(REALM, b"another-secret-of-16b", USERS.get)
    nonce = nonce_of(other.challenge(0.0)[0])
    assert make_auth().verify("REGISTER", authorization(nonce), 1.0).reason == "bad-nonce"


def test_unknown_user_indistinguishable_from_wrong_password() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    unknown = auth.verify("REGISTER", authorization(nonce, username="9999"), 1.0)
    wrong = auth.verify("REGISTER", authorization(nonce, password="bad", cnonce="x"), 1.0)
    assert unknown.outcome is wrong.outcome is AuthOutcome.FAILED
    assert unknown.reason == wrong.reason == "bad-credentials"
    # Same challenge afterwards (deterministic randomness, same `now`): nothing differs.
    a1, a2 = make_auth(), make_auth()
    n1, n2 = nonce_of(a1.challenge(0.0)[0]), nonce_of(a2.challenge(0.0)[0])
    a1.verify("REGISTER", authorization(n1, username="9999"), 1.0)
    a2.verify("REGISTER", authorization(n2, password="bad"), 1.0)
    assert a1.challenge(2.0) == a2.challenge(2.0)


def test_unknown_user_still_computes_a_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    import sip.digest as mod

    calls: list[str] = []
    real = mod.digest_response

    def spy(**kwargs: str) -> str:
        calls.append(kwargs["ha1_hex"])
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mod, "digest_response", spy)
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    auth.verify("REGISTER", authorization(nonce, username="9999"), 1.0)
    auth.verify("REGISTER", authorization(nonce, password="bad"), 1.0)
    assert len(calls) == 2 and calls[0] != calls[1]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda v: v.replace(f'realm="{REALM}"', 'realm="other"'), "realm-mismatch"),
        (lambda v: v.replace("algorithm=SHA-256", "algorithm=SHA-512"), "unsupported-algorithm"),
        (lambda v: v.replace("algorithm=SHA-256", "algorithm=MD5-sess"), "unsupported-algorithm"),
        (lambda v: v.replace("qop=auth", "qop=auth-int"), "unsupported-qop"),
        (lambda v: v.replace("nc=00000001", "nc=1"), "bad-nc-or-cnonce"),
        (lambda v: v.replace(', cnonce="a1b2c3d4"', ""), "bad-nc-or-cnonce"),
        (lambda v: v.replace(', uri="sip:12345.hotline.gov.cn"', ""), "missing-uri"),
        (lambda v: v.replace("response=", "xresponse="), "missing-response"),
        (lambda v: v + ", userhash=true", "userhash-unsupported"),
        (lambda v: v + ", nc=00000002", "malformed"),
    ],
)
def test_bad_authorization_values_fail(mutate: Callable[[str], str], reason: str) -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    assert mutate(authorization(nonce)) != authorization(nonce)
    result = auth.verify("REGISTER", mutate(authorization(nonce)), 1.0)
    assert (result.outcome, result.reason) == (AuthOutcome.FAILED, reason)


def test_method_is_covered_by_digest() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(0.0)[0])
    result = auth.verify("INVITE", authorization(nonce, method="REGISTER"), 1.0)
    assert result.outcome is AuthOutcome.FAILED


def test_expected_realm_override_and_algorithm_restriction() -> None:
    auth = make_auth(algorithms=("SHA-256",))
    assert len(auth.challenge(0.0)) == 1
    nonce = nonce_of(auth.challenge(0.0)[0])
    md5 = auth.verify("REGISTER", authorization(nonce, algorithm="MD5"), 1.0)
    assert md5.reason == "unsupported-algorithm"
    other = auth.verify("REGISTER", authorization(nonce), 1.0, expected_realm="elsewhere")
    assert other.reason == "realm-mismatch"


def test_opaque_must_be_echoed_when_configured() -> None:
    auth = make_auth(opaque="xyz")
    nonce = nonce_of(auth.challenge(0.0)[0])
    assert auth.verify("REGISTER", authorization(nonce), 1.0).reason == "opaque-mismatch"
    value = authorization(nonce) + ', opaque="xyz"'
    assert auth.verify("REGISTER", value, 1.0).outcome is AuthOutcome.OK


def test_rfc2069_rejected_by_default_and_single_use_when_allowed() -> None:
    strict = make_auth()
    nonce = nonce_of(strict.challenge(0.0)[0])
    assert strict.verify("REGISTER", authorization(nonce, qop=None), 1.0).reason == "qop-required"
    lax = make_auth(allow_rfc2069=True)
    nonce = nonce_of(lax.challenge(0.0)[0])
    assert lax.verify("REGISTER", authorization(nonce, qop=None), 1.0).outcome is AuthOutcome.OK
    again = lax.verify("REGISTER", authorization(nonce, qop=None), 2.0)
    assert (again.outcome, again.reason) == (AuthOutcome.FAILED, "replay")


def test_nonce_map_is_bounded_and_eviction_never_reopens_replay() -> None:
    auth = make_auth(max_tracked_nonces=2)
    n1, n2, n3 = (nonce_of(auth.challenge(t)[0]) for t in (0.0, 1.0, 2.0))
    for n in (n1, n2, n3):
        assert auth.verify("REGISTER", authorization(n), 3.0).outcome is AuthOutcome.OK
    assert len(auth._tracker.seen) == 2
    # n1's history was evicted: its replay must not be accepted; client gets a new nonce.
    assert auth.verify("REGISTER", authorization(n1), 4.0).outcome is AuthOutcome.STALE
    assert auth.verify("REGISTER", authorization(n3), 4.0).reason == "replay"


def test_nonce_map_pruned_after_ttl() -> None:
    auth = make_auth(nonce_ttl=10)
    nonce = nonce_of(auth.challenge(0.0)[0])
    auth.verify("REGISTER", authorization(nonce), 1.0)
    assert len(auth._tracker.seen) == 1
    auth.verify("REGISTER", None, 10.5)
    assert len(auth._tracker.seen) == 0


def test_future_nonce_rejected() -> None:
    auth = make_auth()
    nonce = nonce_of(auth.challenge(1000.0)[0])
    assert auth.verify("REGISTER", authorization(nonce), 900.0).reason == "bad-nonce"


def test_pick_authorization_by_realm() -> None:
    values = ['Digest realm="a", username="x"', "garbage ,", 'Digest realm="b", username="y"']
    assert pick_authorization(values, "b") == values[2]
    assert pick_authorization(values, "c") is None


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        DigestAuthenticator(REALM, b"short", USERS.get)
    with pytest.raises(ValueError):
        DigestAuthenticator(REALM, SECRET, USERS.get, algorithms=("SHA1",))
    with pytest.raises(ValueError):
        DigestAuthenticator(REALM, SECRET, USERS.get, algorithms=())


# -- parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('Digest realm="a"', ("digest", {"realm": "a"})),
        ('DIGEST REALM="a" , NC=00000001', ("digest", {"realm": "a", "nc": "00000001"})),
        ('Digest realm = "a"', ("digest", {"realm": "a"})),
        (
            'Digest realm="a,b", qop="auth,auth-int"',
            ("digest", {"realm": "a,b", "qop": "auth,auth-int"}),
        ),
        (r'Digest username="a\"b\\c"', ("digest", {"username": 'a"b\\c'})),
        ('Digest a="", b=1', ("digest", {"a": "", "b": "1"})),
        ("Digest ,a=1,,b=2,", ("digest", {"a": "1", "b": "2"})),
        ('Digest username="张三"', ("digest", {"username": "张三"})),
        ("Digest", ("digest", {})),
        ("  Digest\ta=1", ("digest", {"a": "1"})),
    ],
)
def test_parse_valid(value: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_challenge(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "no-scheme"),
        ('="x"', "no-scheme"),
        ('Digest="x"', "bad-scheme"),
        ('Digest realm="a', "unterminated-quote"),
        ('Digest realm="a\\', "unterminated-quote"),
        ("Digest realm", "missing-equals"),
        ("Digest realm=", "bad-value"),
        ('Digest realm="a" nonce="b"', "missing-comma"),
        ("Digest realm=a b", "missing-comma"),
        ('Digest realm="a", REALM="b"', "duplicate-param"),
        ('Digest realm="a\x00"', "bad-char"),
        ('Digest realm="a\nb"', "bad-char"),
        ("Digest =1", "bad-name"),
        ('Digest uri=sip:x@y', "missing-comma"),
    ],
)
def test_parse_malformed(value: str, code: str) -> None:
    with pytest.raises(DigestParseError) as info:
        parse_challenge(value)
    assert info.value.code == code


def test_format_rejects_unquotable() -> None:
    with pytest.raises(ValueError):
        format_params("Digest", {"realm": "a\r\nb"})
    with pytest.raises(ValueError):
        format_params("Digest", {"bad name": "x"})


_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'%+"
_TOKEN = st.text(alphabet=_TOKEN_CHARS, min_size=1, max_size=12)
_VALUE = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"),
    max_size=30,
)


@given(
    params=st.dictionaries(_TOKEN.map(str.lower), _VALUE, max_size=8),
    unquoted=st.frozensets(_TOKEN.map(str.lower), max_size=4),
)
def test_format_parse_round_trip(params: dict[str, str], unquoted: frozenset[str]) -> None:
    text = format_params("Digest", params, unquoted=unquoted | frozenset(params))
    assert parse_challenge(text) == ("digest", params)
    text = format_params("Digest", params)
    assert parse_challenge(text) == ("digest", params)
