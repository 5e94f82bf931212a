"""SIP message helpers of the call engine: where to send, who is calling, SDP bodies.

Plain functions over `sip.message` objects; no state, no I/O.
"""

from __future__ import annotations

from sip.errors import RemoteProtocolError
from sip.headers import NameAddress, SipUri, split_list
from sip.message import Request, Response
from sip.sdp import SdpError, SessionDescription
from sip.transaction_events import Address

__all__ = [
    "SDP",
    "caller_identity",
    "dest_for",
    "has_option",
    "parse_sdp",
    "session_expires",
    "uri_user",
]

SDP = "application/sdp"


def uri_user(uri: str) -> str:
    """The user part of a SIP URI ("" when absent or unparseable)."""
    try:
        return SipUri.parse(uri).user or ""
    except RemoteProtocolError:
        return ""


def dest_for(target: str, source: Address | None) -> Address:
    """Where to send a request for ``target`` (a Contact / remote-target URI).

    Over a connection (TCP) the connection the peer used (``source``); when the URI's host
    is not the address its messages come from (NAT) the source address as well; otherwise
    the URI's host and port (and ``transport`` parameter).
    """
    try:
        uri = SipUri.parse(target)
    except RemoteProtocolError:
        uri = None
    if source is not None and (
        uri is None or source.reliable or uri.host.strip("[]") != source.host.strip("[]")
    ):
        return source
    if uri is None:
        raise ValueError(f"no address for {target!r}")
    transport = str(uri.params.get("transport") or "udp").lower()
    return Address(transport, uri.host.strip("[]"), uri.port or 5060)


def caller_identity(invite: Request) -> tuple[str, str | None]:
    """(number, display name) of the caller, from the PBX's From header."""
    try:
        sender = invite.from_
    except RemoteProtocolError:
        return "anonymous", None
    number = uri_user(sender.uri) or "anonymous"
    return number, sender.display_name


def parse_sdp(message: Request | Response) -> SessionDescription | None:
    """The SDP body of ``message``; None when it has none. Raises `SdpError` if malformed."""
    if not message.body:
        return None
    ctype = (message.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if ctype != SDP:
        raise SdpError("not-sdp", f"body of type {ctype or 'unknown'}")
    return SessionDescription.parse(message.body)


def has_option(message: Request | Response, header: str, token: str) -> bool:
    """Whether ``token`` is listed in ``Supported``/``Require``/``Allow`` (also compact k:)."""
    token = token.lower()
    for value in message.headers.get_all(header):
        if any(part.strip().lower() == token for part in split_list(value)):
            return True
    return False


def session_expires(message: Request | Response) -> tuple[int, str | None] | None:
    """RFC 4028 ``Session-Expires`` (compact ``x``): (seconds, refresher) or None."""
    value = message.headers.get("Session-Expires")
    if not value:
        return None
    head, *params = [p.strip() for p in value.split(";")]
    try:
        seconds = int(head)
    except ValueError:
        return None
    refresher = None
    for param in params:
        name, _, val = param.partition("=")
        if name.strip().lower() == "refresher":
            refresher = val.strip().lower() or None
    return (seconds, refresher) if seconds > 0 else None


def name_address(uri: str, display: str | None = None) -> NameAddress:
    return NameAddress(uri, display_name=display)
