"""Feature codes dialled from an agent's softphone: digest, router command, tone, BYE."""

from __future__ import annotations

from queueing import AgentState, AgentStatus
from sip.digest import digest_response, ha1
from sip.digest_params import parse_challenge
from sip.headers import NameAddress
from sip.requests import build_invite, new_call_id
from sip.transaction_events import RequestReceived, ResponseReceived

from .harness import ACD, DOMAIN, Network, Peer, sdp

PHONE_SDP = sdp("10.0.1.1", 50000, user="phone")


def send(net: Network, phone: Peer, code: str, auth: str | None, cseq: int = 1,
         call_id: str | None = None) -> int:
    """One INVITE for ``code`` from ``phone``; its final status (response in ``phone.last``)."""
    uri = f"sip:{code}@{DOMAIN}"
    extra = (("Authorization", auth),) if auth else ()
    invite = build_invite(uri, NameAddress(f"sip:{phone.user}@{DOMAIN}"),
                          NameAddress(uri), call_id=call_id or new_call_id(phone.addr.host),
                          via_host=phone.addr.host, via_port=phone.addr.port,
                          contact=f"<{phone.contact}>", cseq=cseq, sdp=PHONE_SDP, extra=extra)
    phone.invite_request = invite  # type: ignore[attr-defined]
    phone.ep.send_request(invite, ACD, net.runtime.t)
    net.pump()
    resp = phone.take(ResponseReceived, "INVITE")
    while resp.response.status < 200:
        resp = phone.take(ResponseReceived, "INVITE")
    phone.last = resp.response  # type: ignore[attr-defined]
    return int(resp.response.status)


def authorization(phone: Peer, code: str, realm: str, nonce: str,
                  password: str | None = None, nc: int = 1) -> str:
    uri = f"sip:{code}@{DOMAIN}"
    response = digest_response(algorithm="MD5",
                               ha1_hex=ha1(phone.user, realm, password or f"pw-{phone.user}"),
                               nonce=nonce, method="INVITE", uri=uri, nc=f"{nc:08x}",
                               cnonce="abc", qop="auth")
    return (f'Digest username="{phone.user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, qop=auth, nc={nc:08x}, cnonce="abc"')


def dial(net: Network, phone: Peer, code: str, password: str | None = None) -> int:
    """Dial ``code`` as ``phone`` (answering the 401 challenge); the final status."""
    call_id = new_call_id(phone.addr.host)
    assert send(net, phone, code, None, 1, call_id) == 401
    _, params = parse_challenge(phone.last.headers.get("WWW-Authenticate"))  # type: ignore[attr-defined]
    return send(net, phone, code,
                authorization(phone, code, params["realm"], params["nonce"], password), 2,
                call_id)


def test_star21_logs_in_plays_a_tone_and_hangs_up() -> None:
    net = Network()
    phone = net.agent("1001", "10.0.1.1", login=False)
    assert net.routing.router.agent_view("1001").status is AgentStatus.LOGGED_OUT
    assert dial(net, phone, "*21") == 200
    phone.ack(phone.invite_request, phone.last)  # type: ignore[attr-defined]
    assert net.routing.router.agent_view("1001").status is AgentStatus.AVAILABLE
    assert any(entry[0] == "tone" for entry in net.media.log)
    net.advance(net.runtime.t + 1.0)
    bye = phone.take(RequestReceived, "BYE")
    phone.respond(bye, 200)
    assert not net.media.open_streams
    requested = [e for e in net.events if type(e).__name__ == "AgentStatusRequested"]
    assert requested[-1].action == "login" and requested[-1].accepted  # type: ignore[union-attr]


def test_star22_pauses_with_the_first_reason_and_star22n_picks_one() -> None:
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    assert dial(net, phone, "*22") == 200
    view = net.routing.router.agent_view("1001")
    assert view.status is AgentStatus.PAUSED and view.pause_reason == "break"
    assert dial(net, phone, "*222") == 200
    assert net.routing.router.agent_view("1001").pause_reason == "lunch"


def test_refused_action_gets_409_and_wrong_password_403() -> None:
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    assert dial(net, phone, "*24") == 409  # not in wrap-up
    assert "invalid_transition" in phone.last.headers.get("Warning")  # type: ignore[attr-defined]
    assert dial(net, phone, "*23", password="wrong") == 403
    assert net.routing.router.agent_view("1001").status is AgentStatus.AVAILABLE
    assert dial(net, phone, "*23") == 200
    assert net.routing.router.agent_view("1001").status is AgentStatus.LOGGED_OUT
    assert net.routing.router.agent_view("1001").state is AgentState.IDLE


def test_nonces_and_replay_map_are_the_registrars() -> None:
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    authenticator = net.registration.authenticator
    _, params = parse_challenge(authenticator.challenge(net.runtime.t)[0])
    nonce = params["nonce"]  # issued by the registrar (as for a REGISTER)
    assert send(net, phone, "*22", authorization(phone, "*22", authenticator.realm, nonce)) == 200
    assert net.routing.router.agent_view("1001").status is AgentStatus.PAUSED
    again = authorization(phone, "*21", authenticator.realm, nonce, nc=1)  # nc not increased
    assert send(net, phone, "*21", again) == 403
    assert net.routing.router.agent_view("1001").status is AgentStatus.PAUSED


def test_failures_count_towards_the_registrars_limit() -> None:
    net = Network()
    phone = net.agent("1001", "10.0.1.1")
    limit = net.settings.sip.auth_failure_limit.failures
    for _ in range(limit):
        assert dial(net, phone, "*23", password="wrong") == 403
    key = "10.0.1.1|1001"  # the registrar's key: source IP | user
    assert net.registration.limiter.is_blocked(key, net.runtime.t)
    assert send(net, phone, "*23", None) == 403  # blocked: no challenge at all
    assert int(phone.last.headers.get("Retry-After")) >= 1  # type: ignore[attr-defined]
    assert net.routing.router.agent_view("1001").status is AgentStatus.AVAILABLE
    net.advance(net.runtime.t + net.settings.sip.auth_failure_limit.window + 1)
    assert dial(net, phone, "*23") == 200
    assert not net.registration.limiter.is_blocked(key, net.runtime.t)


def test_intervals_opened_by_feature_codes_are_the_phones() -> None:
    """The agent intervals a feature code opens are recorded as ``source='phone'``, actor
    the digest username; registration and routing remain the system's; a refused code
    opens none."""
    from acd.recording.journal import JournalRecorder
    from acd.store.records import AgentStateChange

    net = Network()
    records: list[object] = []
    net.routing.observers.append(JournalRecorder(records.append).on_event)
    phone = net.agent("1001", "10.0.1.1", login=False)

    def opened() -> list[tuple[str, str | None, str | None, str | None]]:
        return [(r.status, r.reason, r.source, r.actor) for r in records
                if isinstance(r, AgentStateChange) and r.agent_id == "1001"
                and r.ended_at is None]

    assert {source for *_, source, _ in opened()} == {"system"}  # registered: reachable
    before = len(opened())
    statuses = [dial(net, phone, code) for code in ("*21", "*22", "*21", "*24", "*23")]
    assert statuses == [200, 200, 200, 409, 200]
    assert opened()[before:] == [
        ("available", None, "phone", "1001"),
        ("paused", "break", "phone", "1001"),
        ("available", None, "phone", "1001"),  # *24 outside wrap-up: 409, nothing opened
        ("logged-out", None, "phone", "1001"),
    ]
