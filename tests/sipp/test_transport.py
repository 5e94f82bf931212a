"""SIP transport on the wire against the running ACD (issue 2): UDP and TCP on one port,
IPv6, RFC 3581 rport, and what happens to malformed input.

Assertions are on the raw bytes a plain socket receives (`tests.sipp.wire`), or on sipp's
exit status. Every wait is a socket timeout or a bounded poll of the ACD's log.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg
from tests.sipp.harness import (
    DOMAIN,
    RunningAcd,
    agent_password,
    free_port_both,
    fresh_database,
    has_ipv6_loopback,
    make_config,
    run_sipp,
    running_acd,
    sip_section,
    wait_for_event,
)
from tests.sipp.wire import (
    RawMessage,
    TcpPeer,
    UdpPeer,
    bracket,
    build_request,
    params_of,
    register_with_digest,
)

pytestmark = pytest.mark.sipp

SILENCE = 0.5  # how long "no response" is awaited: the ACD answers loopback in ~1 ms


@pytest.fixture
def db(pg_server: pg.PgServer) -> Iterator[str]:
    with fresh_database(pg_server) as url:
        yield url


def options(peer: UdpPeer | TcpPeer, target: tuple[str, int], **kw: object) -> bytes:
    host, port = target
    via = kw.pop("via", None) or peer.via()
    return build_request(
        "OPTIONS",
        f"sip:{bracket(host)}:{port}",
        via=str(via),
        from_uri=f"sip:probe@{DOMAIN}",
        to_uri=f"sip:{bracket(host)}:{port}",
        **kw,  # type: ignore[arg-type]
    )


def assert_serving(acd: RunningAcd) -> None:
    """The ACD is alive and answers an OPTIONS over UDP and over TCP."""
    assert acd.process.poll() is None, acd.log()[-3000:]
    with UdpPeer() as peer:
        peer.send(options(peer, acd.sip("udp")), acd.sip("udp"))
        assert peer.response().status == 200
    with TcpPeer(acd.sip("tcp")) as conn:
        conn.send(options(conn, acd.sip("tcp")))
        assert conn.response().status == 200


def register(
    peer: UdpPeer | TcpPeer, dest: tuple[str, int], user: str, transport: str = "udp"
) -> RawMessage:
    """REGISTER, answer the first challenge, return the final response to the answer."""
    challenge, final = register_with_digest(
        peer, dest, user, agent_password(user), domain=DOMAIN,
        contact=f"<sip:{user}@{peer.sent_by};transport={transport}>",
    )
    assert challenge.status == 401, challenge.text()
    return final


# -- 1. UDP and TCP on the same port -------------------------------------------------------


def test_udp_and_tcp_share_one_port(db: str, tmp_path: Path) -> None:
    port = free_port_both()
    listen = [f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}"]
    config = make_config(tmp_path, db, agents=4, extra={"sip": sip_section(listen=listen)})
    with running_acd(config, tmp_path) as acd:
        assert acd.sip("udp") == ("127.0.0.1", port)
        assert acd.sip("tcp") == ("127.0.0.1", port)
        for agent, transport in (("1001", "udp"), ("1002", "tcp")):
            result = run_sipp(
                "register",
                ("127.0.0.1", port),
                tmp_path,
                service=agent,
                auth=(agent, agent_password(agent)),
                transport=transport,
                timeout=20,
            )
            assert result.returncode == 0, result.explain()
            event = wait_for_event(acd, "agent_registered", 5, agent_id=agent)
            assert f"transport={transport}" in event["contact"].lower()


# -- 2. IPv6 ---------------------------------------------------------------------------------


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6_register_and_options(db: str, tmp_path: Path) -> None:
    section = sip_section(listen=["udp:[::1]:0", "tcp:[::1]:0"])
    config = make_config(tmp_path, db, agents=4, extra={"sip": section})
    with running_acd(config, tmp_path) as acd:
        udp_host, udp_port = acd.sip("udp")
        assert udp_host == "[::1]"
        udp_dest = ("::1", udp_port)
        tcp_dest = ("::1", acd.sip("tcp")[1])

        with UdpPeer("::1") as peer:
            ok = register(peer, udp_dest, "1001")
            assert ok.status == 200, ok.text()
            assert params_of(ok.header("Contact"))["expires"] == "300"
            via = params_of(ok.header("Via"))
            assert via["rport"] == str(peer.port)
            # Always added with rport (RFC 3581); a bare IPv6address as RFC 3261's ABNF
            # says (RFC 5118 §4.5: never send it in brackets).
            assert via["received"] == "::1"

            peer.send(options(peer, udp_dest), udp_dest)
            answer = peer.response()
            assert answer.status == 200
            assert "OPTIONS" in answer.header("Allow")
        wait_for_event(acd, "agent_registered", 5, agent_id="1001")

        with TcpPeer(tcp_dest) as conn:
            conn.send(options(conn, tcp_dest))
            answer = conn.response()
            assert answer.status == 200
            via = params_of(answer.header("Via"))
            assert via["rport"] == str(conn.port)
            ok = register(conn, tcp_dest, "1002", "tcp")
            assert ok.status == 200, ok.text()

        # sipp as a second, independent IPv6 peer.
        result = run_sipp(
            "options",
            (bracket("::1"), udp_port),
            tmp_path,
            calls=2,
            timeout=20,
            extra=["-i", "::1"],
        )
        assert result.returncode == 0, result.explain()


# -- 3. RFC 3581 ------------------------------------------------------------------------------


def test_rport_response_goes_to_source_port(acd: RunningAcd) -> None:
    """Sent from port A with Via sent-by port B;rport: the answer comes back to A, with
    received= and rport=A in the top Via; B hears nothing."""
    dest = acd.sip("udp")
    with UdpPeer() as source, UdpPeer() as advertised:
        via = source.via(sent_by=f"127.0.0.1:{advertised.port}", rport=True)
        source.send(options(source, dest, via=via), dest)
        answer = source.response()
        assert answer.status == 200
        top = answer.header("Via")
        assert top.startswith(f"SIP/2.0/UDP 127.0.0.1:{advertised.port};")
        params = params_of(top)
        assert params["rport"] == str(source.port)
        assert params["received"] == "127.0.0.1"
        assert advertised.recv(SILENCE) is None


def test_without_rport_response_goes_to_sent_by_port(acd: RunningAcd) -> None:
    """§18.2.2 without rport: to the received address and the sent-by port."""
    dest = acd.sip("udp")
    with UdpPeer() as source, UdpPeer() as advertised:
        via = source.via(sent_by=f"127.0.0.1:{advertised.port}", rport=False)
        source.send(options(source, dest, via=via), dest)
        answer = advertised.response()
        assert answer.status == 200
        params = params_of(answer.header("Via"))
        assert "rport" not in params
        assert "received" not in params  # sent-by host equals the source IP
        assert source.recv(SILENCE) is None

        # A sent-by host that is not the source IP gets received= (the real source).
        via = source.via(sent_by=f"192.0.2.7:{advertised.port}", rport=False)
        source.send(options(source, dest, via=via), dest)
        answer = advertised.response()
        assert params_of(answer.header("Via"))["received"] == "127.0.0.1"


# -- 4. malformed input -----------------------------------------------------------------------


def test_cseq_method_mismatch_gets_400_with_warning(acd: RunningAcd) -> None:
    dest = acd.sip("udp")
    with UdpPeer() as peer:
        peer.send(options(peer, dest, cseq_method="INVITE"), dest)
        answer = peer.response()
        assert answer.status == 400, answer.text()
        warning = answer.header("Warning")
        assert warning.startswith("399 ") and '"' in warning, warning
        assert "CSeq" in warning
        assert answer.header("CSeq") == "1 INVITE"  # copied verbatim
        assert "tag=" in answer.header("To")


def test_body_shorter_than_content_length_gets_400(acd: RunningAcd) -> None:
    dest = acd.sip("udp")
    with UdpPeer() as peer:
        data = options(
            peer,
            dest,
            body=b"v=0\r\n",
            content_length="50",
            extra=[("Content-Type", "application/sdp")],
        )
        peer.send(data, dest)
        answer = peer.response()
        assert answer.status == 400, answer.text()
        assert answer.header("Warning").startswith("399 ")
        assert "Content-Length" in answer.header("Warning")


def test_unroutable_request_is_dropped_and_server_keeps_serving(acd: RunningAcd) -> None:
    dest = acd.sip("udp")
    before = len(acd.events("sip_message_rejected"))
    with UdpPeer() as peer:
        data = options(peer, dest)
        no_via = b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"Via:"))
        peer.send(no_via, dest)
        assert peer.recv(SILENCE) is None
        peer.send(options(peer, dest), dest)
        assert peer.response().status == 200
    rejected = wait_for_event(acd, "sip_message_rejected", 5, after=before)
    assert rejected["status"] is None
    assert "Via" in rejected["reason"]


def test_tcp_framing_error_closes_connection(acd: RunningAcd) -> None:
    dest = acd.sip("tcp")
    with TcpPeer(dest) as conn:
        data = options(conn, dest, content_length="twelve")
        conn.send(data)
        assert conn.closed_by_peer(5.0), "ACD kept a connection whose framing is broken"
    assert_serving(acd)


@pytest.mark.parametrize("shape", ["content-length", "endless-head"])
def test_message_over_64k_refused(acd: RunningAcd, shape: str) -> None:
    dest = acd.sip("tcp")
    with TcpPeer(dest) as conn:
        if shape == "content-length":
            conn.send(options(conn, dest, content_length=str(70_000)))
            conn.sock.sendall(b"x" * 1000)
        else:
            head = options(conn, dest).split(b"\r\n\r\n")[0] + b"\r\n"
            filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # closed early
                conn.send(head + filler * 70)  # > 64 KiB, never a blank line
        assert conn.closed_by_peer(5.0)
        assert b"SIP/2.0 200" not in conn._buf
    assert_serving(acd)


def _garbage(rng: random.Random, valid: bytes) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:  # random bytes
        return rng.randbytes(rng.randrange(0, 1400))
    if kind == 1:  # a valid request with bytes flipped
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 2:  # a valid request cut short
        return valid[: rng.randrange(len(valid))]
    lines = valid.split(b"\r\n")  # header lines shuffled, duplicated or dropped
    rng.shuffle(lines)
    return b"\r\n".join(rng.choices(lines, k=rng.randrange(1, len(lines) + 3)))


def test_garbage_datagrams_never_crash_the_server(acd: RunningAcd) -> None:
    rng = random.Random(20250412)
    dest = acd.sip("udp")
    with UdpPeer() as peer:
        valid = options(peer, dest)
        for i in range(300):
            peer.send(_garbage(rng, valid), dest)
            if i % 50 == 49:
                peer.drain(0.02)  # keep our receive buffer from overflowing
        peer.drain(0.2)
    assert_serving(acd)
    log = acd.log()
    for bad in ("Traceback", "flush_failed", "handler_failed", "handler failed"):
        assert bad not in log, f"{bad} in the ACD log"
    assert len(acd.events("sip_message_rejected")) > 50


def test_tcp_garbage_streams(acd: RunningAcd) -> None:
    """Random bytes on a few TCP connections: each is closed or ignored, never a crash."""
    rng = random.Random(7)
    dest = acd.sip("tcp")
    for _ in range(5):
        with socket.create_connection(dest, timeout=5) as sock, contextlib.suppress(OSError):
            sock.sendall(rng.randbytes(rng.randrange(1, 4000)) + b"\r\n\r\n")
    assert_serving(acd)
