"""Where requests to a registered contact go: Kamailio's NAT rule (acd.registration)."""

from __future__ import annotations

import pytest

from acd.registration import binding_destination
from sip.registrar import Address as Source
from sip.registrar import Binding
from sip.transaction_events import Address


def _binding(contact: str, transport: str, host: str, port: int) -> Binding:
    return Binding(
        aor="sip:1001@acd.test",
        contact=contact,
        source=Source(transport=transport, host=host, port=port),
        user_agent="",
        call_id="c",
        cseq=1,
        expires_at=1000.0,
    )


@pytest.mark.parametrize(
    ("contact", "source", "expected"),
    [
        # Same IP, other port: the phone listens on its Contact port.
        ("sip:1001@127.0.0.1:5070", ("udp", "127.0.0.1", 40000), ("udp", "127.0.0.1", 5070)),
        ("sip:1001@127.0.0.1", ("udp", "127.0.0.1", 40000), ("udp", "127.0.0.1", 5060)),
        (
            "sip:1001@[::1]:5070;transport=udp",
            ("udp", "[::1]", 40000),
            ("udp", "[::1]", 5070),
        ),
        # NAT: Contact names a private address; only the source is reachable.
        (
            "sip:1001@192.168.1.20:5060",
            ("udp", "203.0.113.9", 61000),
            ("udp", "203.0.113.9", 61000),
        ),
        (
            "sip:1001@phone.example;transport=udp",
            ("udp", "203.0.113.9", 1),
            ("udp", "203.0.113.9", 1),
        ),
        # TCP: always the connection the phone opened.
        (
            "sip:1001@127.0.0.1:5070;transport=tcp",
            ("tcp", "127.0.0.1", 40000),
            ("tcp", "127.0.0.1", 40000),
        ),
        # A Contact asking for another transport than the REGISTER's: the source.
        (
            "sip:1001@127.0.0.1:5070;transport=tcp",
            ("udp", "127.0.0.1", 40000),
            ("udp", "127.0.0.1", 40000),
        ),
        ("not a uri", ("udp", "127.0.0.1", 40000), ("udp", "127.0.0.1", 40000)),
    ],
)
def test_binding_destination(
    contact: str, source: tuple[str, str, int], expected: tuple[str, str, int]
) -> None:
    assert binding_destination(_binding(contact, *source)) == Address(*expected)
