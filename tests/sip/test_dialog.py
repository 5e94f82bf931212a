"""Dialogs (RFC 3261 §12): route sets from real-world shaped flows, CSeq rules, targets."""

from __future__ import annotations

import pytest

from sip.dialog import Dialog, DialogId, DialogState, DialogTable, Role
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.message import Request, Response, make_response, parse_message
from sip.requests import LocalAddress

ACD = LocalAddress(host="10.0.0.1", port=5060, transport="UDP", contact="sip:acd@10.0.0.1:5060")


def req(text: str) -> Request:
    msg = parse_message(text.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n")
    assert isinstance(msg, Request)
    return msg


def resp(text: str) -> Response:
    msg = parse_message(text.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n")
    assert isinstance(msg, Response)
    return msg


# A FreeSWITCH PBX calls the ACD through a Kamailio edge proxy that double-record-routes
# (r2=on: it switches from TCP towards the PBX to UDP towards the ACD).
PBX_INVITE = """
INVITE sip:12345@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKcydzigwkX
Via: SIP/2.0/TCP 10.0.0.5:5080;rport=5080;branch=z9hG4bKmF9Qe3Hp4t1vN
Record-Route: <sip:10.0.0.9;r2=on;lr;ftag=as1f2b>
Record-Route: <sip:10.0.0.9;transport=tcp;r2=on;lr;ftag=as1f2b>
Max-Forwards: 69
From: "13800138000" <sip:13800138000@10.0.0.5>;tag=as1f2b
To: <sip:12345@hotline.gov.cn>
Call-ID: 6a3e0c3e-5f1b-123b-8a9b-0050568d1a2c
CSeq: 101 INVITE
Contact: <sip:gw+pstn@10.0.0.5:5080;transport=tcp>
Content-Length: 0
"""


def uas_dialog() -> tuple[Dialog, Request]:
    invite = req(PBX_INVITE)
    ok = make_response(invite, 200, to_tag="acd-tag-1", extra=[("Contact", f"<{ACD.contact}>")])
    return Dialog.uas(invite, ok, ACD), invite


def test_uas_dialog_keeps_record_route_in_order() -> None:
    d, _ = uas_dialog()
    assert d.role is Role.UAS and d.state is DialogState.CONFIRMED
    assert d.id == DialogId("6a3e0c3e-5f1b-123b-8a9b-0050568d1a2c", "acd-tag-1", "as1f2b")
    assert d.route_set == (
        "<sip:10.0.0.9;r2=on;lr;ftag=as1f2b>",
        "<sip:10.0.0.9;transport=tcp;r2=on;lr;ftag=as1f2b>",
    )
    assert d.remote_target == "sip:gw+pstn@10.0.0.5:5080;transport=tcp"
    assert d.remote_cseq == 101


def test_uas_bye_goes_to_remote_target_through_the_route_set() -> None:
    d, _ = uas_dialog()
    bye = d.create_request("BYE")
    wire = parse_message(bytes(bye))  # round trip
    assert isinstance(wire, Request)
    assert wire.uri == "sip:gw+pstn@10.0.0.5:5080;transport=tcp"
    assert wire.headers.get_all("Route") == [
        "<sip:10.0.0.9;r2=on;lr;ftag=as1f2b>",
        "<sip:10.0.0.9;transport=tcp;r2=on;lr;ftag=as1f2b>",
    ]
    assert wire.from_.tag == "acd-tag-1" and wire.from_.uri == "sip:12345@hotline.gov.cn"
    assert wire.to.tag == "as1f2b" and wire.to.display_name == "13800138000"
    assert str(wire.cseq) == "1 BYE"
    assert "Contact" not in wire.headers
    assert wire.top_via.branch is not None and wire.top_via.branch.startswith("z9hG4bK")
    assert d.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        d.create_request("BYE")


def in_dialog(method: str, cseq: int, extra: str = "", to_tag: str = "acd-tag-1") -> Request:
    return req(
        f"""
{method} sip:acd@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK{method}{cseq}
Max-Forwards: 69
From: "13800138000" <sip:13800138000@10.0.0.5>;tag=as1f2b
To: <sip:12345@hotline.gov.cn>;tag={to_tag}
Call-ID: 6a3e0c3e-5f1b-123b-8a9b-0050568d1a2c
CSeq: {cseq} {method}
{extra}
Content-Length: 0
""".replace("\n\n", "\n")
    )


def test_lower_remote_cseq_is_500_and_equal_or_higher_accepted() -> None:
    d, _ = uas_dialog()
    err = d.receive_request(in_dialog("OPTIONS", 100))
    assert err is not None and err.status == 500
    assert d.receive_request(in_dialog("OPTIONS", 102)) is None
    assert d.remote_cseq == 102
    err = d.receive_request(in_dialog("INFO", 101))
    assert err is not None and err.status == 500
    assert d.receive_request(in_dialog("ACK", 101)) is None  # ACK carries the INVITE's CSeq


def test_reinvite_refreshes_the_remote_target() -> None:
    d, _ = uas_dialog()
    assert d.receive_request(in_dialog("INVITE", 102, "Contact: <sip:gw@10.0.0.6:5080>")) is None
    assert d.remote_target == "sip:gw@10.0.0.6:5080"
    # OPTIONS is not a target refresh request: its Contact is ignored.
    d.receive_request(in_dialog("OPTIONS", 103, "Contact: <sip:elsewhere@192.0.2.1>"))
    assert d.remote_target == "sip:gw@10.0.0.6:5080"


def test_bye_received_terminates_and_later_requests_get_481() -> None:
    d, _ = uas_dialog()
    assert d.receive_request(in_dialog("BYE", 102)) is None
    assert d.state is DialogState.TERMINATED
    err = d.receive_request(in_dialog("OPTIONS", 103))
    assert err is not None and err.status == 481


# The ACD calls an agent; the answer comes through two loose-routing proxies (RFC 3665
# §3.2 shape: ss1.atlanta then ss2.biloxi), Record-Route in the response top-down.
ACD_INVITE = """
INVITE sip:1001@192.168.1.20:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK74bf9;rport
Max-Forwards: 70
From: <sip:12345@hotline.gov.cn>;tag=9fxced76sl
To: <sip:1001@hotline.gov.cn>
Call-ID: 3848276298220188511@10.0.0.1
CSeq: 314159 INVITE
Contact: <sip:acd@10.0.0.1:5060>
Content-Length: 0
"""
AGENT_180 = """
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK74bf9;rport=5060
Record-Route: <sip:ss2.biloxi.example.com;lr>, <sip:ss1.atlanta.example.com;lr>
From: <sip:12345@hotline.gov.cn>;tag=9fxced76sl
To: <sip:1001@hotline.gov.cn>;tag=8321234356
Call-ID: 3848276298220188511@10.0.0.1
CSeq: 314159 INVITE
Contact: <sip:1001@192.168.1.20:5060>
Content-Length: 0
"""
AGENT_200 = AGENT_180.replace("180 Ringing", "200 OK").replace(
    "Contact: <sip:1001@192.168.1.20:5060>", "Contact: <sip:1001@192.168.1.20:5060;ob>"
)


def test_uac_early_dialog_then_confirmed_reverses_record_route() -> None:
    invite = req(ACD_INVITE)
    d = Dialog.uac(invite, resp(AGENT_180), ACD)
    assert [d.state] == [DialogState.EARLY]  # (a list: mypy must not narrow d.state)
    assert d.id == DialogId("3848276298220188511@10.0.0.1", "9fxced76sl", "8321234356")
    assert d.route_set == ("<sip:ss1.atlanta.example.com;lr>", "<sip:ss2.biloxi.example.com;lr>")
    d.receive_response(resp(AGENT_200))
    assert d.state is DialogState.CONFIRMED
    assert d.remote_target == "sip:1001@192.168.1.20:5060;ob"

    ack = d.create_request("ACK")
    assert str(ack.cseq) == "314159 ACK"  # the INVITE's number (§13.2.2.4)
    assert ack.uri == "sip:1001@192.168.1.20:5060;ob"
    assert ack.headers.get_all("Route") == [
        "<sip:ss1.atlanta.example.com;lr>",
        "<sip:ss2.biloxi.example.com;lr>",
    ]
    bye = d.create_request("BYE")
    assert str(bye.cseq) == "314160 BYE"
    assert bye.to.tag == "8321234356" and bye.from_.tag == "9fxced76sl"


def test_reinvite_increments_cseq_and_its_ack_reuses_it() -> None:
    d = Dialog.uac(req(ACD_INVITE), resp(AGENT_200), ACD)
    reinvite = d.create_request("INVITE", body=b"v=0\r\n", content_type="application/sdp")
    assert str(reinvite.cseq) == "314160 INVITE"
    assert reinvite.headers.get("Contact") == "<sip:acd@10.0.0.1:5060>"
    assert reinvite.headers.get("Content-Type") == "application/sdp"
    assert str(d.create_request("ACK").cseq) == "314160 ACK"
    assert str(d.create_request("UPDATE").cseq) == "314161 UPDATE"
    assert str(d.create_request("OPTIONS").cseq) == "314162 OPTIONS"


def test_a_reinvites_2xx_is_still_acked_after_our_bye() -> None:
    """BYE while our re-INVITE is pending (RFC 5407 §3.2): the dialog ends, yet the 2xx
    that crosses the BYE must be ACKed (§13.2.2.4) with the re-INVITE's CSeq."""
    d = Dialog.uac(req(ACD_INVITE), resp(AGENT_200), ACD)
    d.create_request("INVITE", body=b"v=0\r\n", content_type="application/sdp")
    d.create_request("BYE")
    assert d.state is DialogState.TERMINATED
    assert str(d.create_request("ACK").cseq) == "314160 ACK"
    for method in ("INVITE", "BYE", "UPDATE", "OPTIONS"):
        with pytest.raises(LocalProtocolError):
            d.create_request(method)


def test_early_dialog_ends_on_a_failure_final_response() -> None:
    d = Dialog.uac(req(ACD_INVITE), resp(AGENT_180), ACD)
    d.receive_response(resp(AGENT_180.replace("180 Ringing", "486 Busy Here")))
    assert d.state is DialogState.TERMINATED


@pytest.mark.parametrize("status", ["481 Call/Transaction Does Not Exist", "408 Request Timeout"])
def test_481_or_408_to_an_in_dialog_request_ends_the_dialog(status: str) -> None:
    d = Dialog.uac(req(ACD_INVITE), resp(AGENT_200), ACD)
    opts = d.create_request("OPTIONS")
    answer = make_response(opts, int(status[:3]), status[4:])
    d.receive_response(answer)
    assert d.state is DialogState.TERMINATED


def test_2xx_to_reinvite_refreshes_target() -> None:
    d = Dialog.uac(req(ACD_INVITE), resp(AGENT_200), ACD)
    reinvite = d.create_request("INVITE")
    d.receive_response(make_response(reinvite, 200, extra=[("Contact", "<sip:1001@192.168.1.30>")]))
    assert d.remote_target == "sip:1001@192.168.1.30"
    assert d.state is DialogState.CONFIRMED


def test_strict_router_goes_in_the_request_uri() -> None:
    strict = AGENT_200.replace(
        "Record-Route: <sip:ss2.biloxi.example.com;lr>, <sip:ss1.atlanta.example.com;lr>",
        "Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:old-ser.example.com>",
    )
    d = Dialog.uac(req(ACD_INVITE), resp(strict), ACD)
    bye = d.create_request("BYE")
    assert bye.uri == "sip:old-ser.example.com"
    assert bye.headers.get_all("Route") == [
        "<sip:p2.example.com;lr>",
        "<sip:1001@192.168.1.20:5060;ob>",
    ]


def test_2xx_without_contact_cannot_make_a_dialog() -> None:
    bad = AGENT_200.replace("Contact: <sip:1001@192.168.1.20:5060;ob>\n", "")
    with pytest.raises(RemoteProtocolError):
        Dialog.uac(req(ACD_INVITE), resp(bad), ACD)


def test_response_without_to_tag_cannot_make_a_dialog() -> None:
    with pytest.raises(RemoteProtocolError):
        Dialog.uac(req(ACD_INVITE), resp(AGENT_200.replace(";tag=8321234356", "")), ACD)
    invite = req(PBX_INVITE)
    with pytest.raises(LocalProtocolError):
        Dialog.uas(invite, make_response(invite, 180), ACD)


def test_cancel_and_ack_misuse_are_local_errors() -> None:
    d, _ = uas_dialog()
    with pytest.raises(LocalProtocolError):
        d.create_request("CANCEL")
    with pytest.raises(LocalProtocolError):
        d.create_request("ACK")  # the UAS never sent an INVITE in this dialog


def test_uas_first_own_request_is_cseq_1() -> None:
    d, _ = uas_dialog()
    assert d.create_request("OPTIONS").cseq.seq == 1
    assert d.create_request("INVITE").cseq.seq == 2


# -- the table --------------------------------------------------------------------------


def test_table_finds_dialogs_and_answers_481_for_unknown() -> None:
    table = DialogTable()
    d, _ = uas_dialog()
    table.add(d)
    with pytest.raises(LocalProtocolError):
        table.add(d)
    assert table.receive_request(in_dialog("OPTIONS", 102)) is d
    result = table.receive_request(in_dialog("INFO", 104, to_tag="no-such-tag"))
    assert isinstance(result, Response) and result.status == 481
    ack = in_dialog("ACK", 101, to_tag="no-such-tag")
    assert table.receive_request(ack) is None  # never answer an ACK
    low = table.receive_request(in_dialog("INFO", 50))
    assert isinstance(low, Response) and low.status == 500
    assert table.receive_request(in_dialog("BYE", 105)) is d
    assert len(table) == 0  # terminated dialogs leave the table
    gone = table.receive_request(in_dialog("BYE", 106))
    assert isinstance(gone, Response) and gone.status == 481


def test_table_matches_responses_by_swapped_tags() -> None:
    table = DialogTable()
    d = Dialog.uac(req(ACD_INVITE), resp(AGENT_200), ACD)
    table.add(d)
    bye = d.create_request("BYE")
    assert table.find_for_response(make_response(bye, 200)) is d
    assert table.discard_terminated() == [d]
    assert table.get(d.id) is None
