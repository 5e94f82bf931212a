"""Building requests a UAC sends outside a dialog (RFC 3261 §8.1.1), and answering OPTIONS
(§11.2).

A request we build carries everything §8.1.1 makes mandatory: Request-URI, To, From (with a
fresh tag if the caller gave none), Call-ID, CSeq, Max-Forwards and one Via whose branch
starts with the magic cookie ``z9hG4bK``; we add ``rport`` (RFC 3581) so NAT'd peers answer to
the address the request came from. `sip.dialog` builds in-dialog requests through
`build_request` too, so both paths produce the same header order.

Identifiers (branch, tag, Call-ID) come from `secrets`: randomness is not I/O and needs no
clock, so the core stays sans-IO.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import LocalProtocolError
from .headers import TOKEN_CHARS, CSeq, NameAddress, SipUri, Via
from .message import Headers, Request, Response, make_response

__all__ = [
    "ACCEPT",
    "ALLOW",
    "BRANCH_COOKIE",
    "SUPPORTED",
    "USER_AGENT",
    "LocalAddress",
    "answer_options",
    "build_invite",
    "build_options",
    "build_request",
    "new_branch",
    "new_call_id",
    "new_tag",
]

BRANCH_COOKIE = "z9hG4bK"
USER_AGENT = "hotline-acd/0.1"
ALLOW: tuple[str, ...] = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "UPDATE")
ACCEPT: tuple[str, ...] = ("application/sdp",)
# Only option tags the ACD actually implements may be listed; callers add "timer" once
# session timers (RFC 4028) are wired in. An empty list omits the header.
SUPPORTED: tuple[str, ...] = ()


def new_branch() -> str:
    """A §8.1.1.7 branch: magic cookie + 80 random bits."""
    return BRANCH_COOKIE + secrets.token_hex(10)


def new_tag() -> str:
    """A §19.3 tag: at least 32 random bits (we use 64)."""
    return secrets.token_hex(8)


def new_call_id(host: str | None = None) -> str:
    """A globally unique Call-ID (§8.1.1.4), ``random@host`` when a host is given."""
    token = secrets.token_hex(16)
    return f"{token}@{host}" if host else token


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalAddress:
    """Where we are reachable: the Via sent-by, the transport, and our Contact URI."""

    host: str
    port: int | None
    transport: str = "UDP"
    contact: str = ""


def _check_method(method: str) -> None:
    if not method or any(ch not in TOKEN_CHARS for ch in method):
        raise LocalProtocolError(f"bad method {method!r}")


def build_request(
    method: str,
    request_uri: str | SipUri,
    from_addr: NameAddress,
    to_addr: NameAddress,
    *,
    call_id: str,
    cseq: int,
    via_host: str,
    via_port: int | None,
    transport: str = "UDP",
    contact: NameAddress | str | None = None,
    branch: str | None = None,
    route: Sequence[str] = (),
    max_forwards: int = 70,
    user_agent: str | None = USER_AGENT,
    extra: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """One request, headers in the order of the RFC 3261 examples.

    ``from_addr`` gets a fresh tag if it has none (§8.1.1.3: the From tag is mandatory);
    ``to_addr`` is used as given (no tag outside a dialog, the remote tag inside one).
    ``route`` values are copied verbatim as ``Route`` header fields, in order.
    Raises `LocalProtocolError` on misuse (body without Content-Type, CSeq out of range,
    branch without the magic cookie).
    """
    method = method.upper()
    _check_method(method)
    if not 0 <= cseq < 2**31:
        raise LocalProtocolError(f"CSeq {cseq} out of range")
    if body and not content_type:
        raise LocalProtocolError("a body needs a Content-Type")
    if branch is None:
        branch = new_branch()
    elif not branch.startswith(BRANCH_COOKIE):
        raise LocalProtocolError(f"branch {branch!r} lacks the z9hG4bK cookie")
    if not call_id:
        raise LocalProtocolError("empty Call-ID")
    if from_addr.tag is None:
        from_addr = from_addr.with_tag(new_tag())
    via = Via(transport.upper(), via_host, via_port, {"branch": branch, "rport": None})
    headers = Headers()
    headers.add("Via", str(via))
    headers.add("Max-Forwards", str(max_forwards))
    for value in route:
        headers.add("Route", value)
    headers.add("From", str(from_addr))
    headers.add("To", str(to_addr))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", str(CSeq(cseq, method)))
    if contact is not None:
        headers.add("Contact", str(contact) if isinstance(contact, NameAddress) else contact)
    if user_agent:
        headers.add("User-Agent", user_agent)
    for name, value in extra:
        headers.add(name, value)
    if content_type:
        headers.add("Content-Type", content_type)
    return Request(headers=headers, body=body, method=method, uri=str(request_uri))


def build_options(
    target: str | SipUri,
    from_addr: NameAddress,
    *,
    call_id: str,
    via_host: str,
    via_port: int | None,
    transport: str = "UDP",
    cseq: int = 1,
    contact: NameAddress | str | None = None,
    branch: str | None = None,
    user_agent: str | None = USER_AGENT,
) -> Request:
    """An out-of-dialog OPTIONS (qualify ping, §11.1): To = the target, no body."""
    return build_request(
        "OPTIONS",
        target,
        from_addr,
        NameAddress(str(target)),
        call_id=call_id,
        cseq=cseq,
        via_host=via_host,
        via_port=via_port,
        transport=transport,
        contact=contact,
        branch=branch,
        user_agent=user_agent,
        extra=[("Accept", ", ".join(ACCEPT))],
    )


def build_invite(
    request_uri: str | SipUri,
    from_addr: NameAddress,
    to_addr: NameAddress,
    *,
    call_id: str,
    via_host: str,
    via_port: int | None,
    contact: NameAddress | str,
    transport: str = "UDP",
    cseq: int = 1,
    branch: str | None = None,
    sdp: bytes = b"",
    supported: Sequence[str] = SUPPORTED,
    user_agent: str | None = USER_AGENT,
    extra: Sequence[tuple[str, str]] = (),
) -> Request:
    """An initial INVITE (§13.2.1): Contact is mandatory; Allow and Supported advertised;
    the SDP offer (if any) as ``application/sdp``."""
    fields: list[tuple[str, str]] = [("Allow", ", ".join(ALLOW))]
    if supported:
        fields.append(("Supported", ", ".join(supported)))
    fields.extend(extra)
    return build_request(
        "INVITE",
        request_uri,
        from_addr,
        to_addr,
        call_id=call_id,
        cseq=cseq,
        via_host=via_host,
        via_port=via_port,
        transport=transport,
        contact=contact,
        branch=branch,
        user_agent=user_agent,
        extra=fields,
        body=sdp,
        content_type="application/sdp" if sdp else None,
    )


def answer_options(
    request: Request,
    *,
    to_tag: str | None = None,
    allow: Sequence[str] = ALLOW,
    accept: Sequence[str] = ACCEPT,
    supported: Sequence[str] = SUPPORTED,
    contact: str | None = None,
) -> Response:
    """200 OK to an OPTIONS (§11.2): Allow, Accept, Supported (when non-empty).

    Outside a dialog the To gets a tag (a fresh one unless ``to_tag`` is given); inside a
    dialog the request already carries our tag and `make_response` keeps it.
    """
    if request.method != "OPTIONS":
        raise LocalProtocolError(f"answer_options given a {request.method}")
    extra = [("Allow", ", ".join(allow)), ("Accept", ", ".join(accept))]
    if supported:
        extra.append(("Supported", ", ".join(supported)))
    if contact:
        extra.append(("Contact", contact))
    return make_response(request, 200, to_tag=to_tag or new_tag(), extra=extra)
