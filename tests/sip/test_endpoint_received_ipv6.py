"""The ``received`` parameter for an IPv6 source (RFC 3261 §18.2.1 ABNF, RFC 5118 §4.5)."""

from __future__ import annotations

from sip.endpoint import Endpoint, EndpointConfig
from sip.transaction_events import Address, RequestReceived

REQUEST = (
    b"OPTIONS sip:[::1]:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP [2001:db8::9:1]:5999;branch=z9hG4bKv6recv;rport\r\n"
    b"From: <sip:a@example.com>;tag=1\r\n"
    b"To: <sip:b@example.com>\r\n"
    b"Call-ID: v6-received\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_received_is_a_bare_ipv6_address() -> None:
    endpoint = Endpoint(EndpointConfig(sent_by={"udp": ("[::1]", 5060)}))
    endpoint.receive(REQUEST, Address("udp", "[2001:db8::9:255]", 4000), 1.0)
    (event,) = endpoint.events()
    assert isinstance(event, RequestReceived)
    via = event.request.headers.get("Via") or ""
    assert via.endswith(";rport=4000;received=2001:db8::9:255"), via
    assert event.request.top_via.params["received"] == "2001:db8::9:255"
