"""SIP message helpers of the call engine: where to send, who is calling, SDP bodies.

Plain functions over `sip.message` objects; no state, no I/O.
"""

from __future__ import annotations

from sip.errors import RemoteProtocolError
from sip.headers import NameAddress, SipUri, split_list
from sip.message import Request, Response
from sip.offer_answer import answer_codec
from sip.sdp import SdpError, SessionDescription
from sip.transaction_events import Address

__all__ = [
    "SDP",
    "caller_identity",
    "dialog_destination",
    "has_option",
    "parse_sdp",
    "session_expires",
    "uri_destination",
    "uri_user",
]

SDP = "application/sdp"


def uri_user(uri: str) -> str:
    """The user part of a SIP URI ("" when absent or unparseable)."""
    try:
        return SipUri.parse(uri).user or ""
    except RemoteProtocolError:
        return ""


def uri_destination(target: str) -> Address:
    """Where to send a request to a plain SIP URI that has no registration behind it (an
    overflow target): its host and port (default 5060) and ``transport`` parameter.

    Agents are never reached this way: their INVITEs go where the registrar's qualify
    pings go, `acd.registration.binding_destination`. Raises ValueError if unparseable.
    """
    try:
        uri = SipUri.parse(target)
    except RemoteProtocolError:
        raise ValueError(f"no address for {target!r}") from None
    transport = str(uri.params.get("transport") or "udp").lower()
    return Address(transport, uri.host.strip("[]"), uri.port or 5060)


def dialog_destination(remote_target: str, source: Address | None) -> Address:
    """Where to send an in-dialog request (and the ACK of a 2xx) to a dialog's peer.

    ``source`` is where the dialog's first request went or came from (the caller's PBX, an
    agent leg's destination). Over a connection (TCP) always ``source``; when the remote
    target's host is not ``source``'s host (NAT) or unparseable, ``source`` as well;
    otherwise (or without a ``source``) the remote target (`uri_destination`).
    """
    if source is None:
        return uri_destination(remote_target)
    try:
        uri = SipUri.parse(remote_target)
    except RemoteProtocolError:
        return source
    if source.reliable or uri.host.strip("[]") != source.host.strip("[]"):
        return source
    return uri_destination(remote_target)


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


def chosen_codec(offer: SessionDescription) -> tuple[int, str]:
    """The (payload type, codec) our answer to ``offer`` would use: the offerer's first
    PCMU/PCMA. Raises `SdpError` (``no-common-codec``, ``no-audio``) when there is none."""
    codec = answer_codec(offer)  # what negotiate_answer would pick, without the answer
    return codec.payload_type, codec.name.upper()


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
