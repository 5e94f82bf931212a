"""Identifiers and derived requests for transactions: fresh branch/tag/Call-ID values, the
§17 matching keys, the ACK for a non-2xx final (§17.1.1.3) and CANCEL (§9.1)."""

from __future__ import annotations

import secrets

from .message import Headers, Request, Response
from .transaction_events import TransactionKey

__all__ = [
    "MAGIC_COOKIE",
    "build_ack",
    "build_cancel",
    "client_key",
    "new_branch",
    "new_call_id",
    "new_tag",
    "server_key",
]

MAGIC_COOKIE = "z9hG4bK"


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie + 80 random bits)."""
    return MAGIC_COOKIE + secrets.token_hex(10)


def new_tag() -> str:
    """A fresh From/To tag (§19.3: at least 32 random bits)."""
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    """A fresh Call-ID, ``random@host`` (§8.1.1.4)."""
    return f"{secrets.token_hex(12)}@{host}"


def server_key(request: Request) -> TransactionKey:
    """§17.2.3 matching key of a received request (ACK and CANCEL count as INVITE's method
    here; the endpoint looks CANCEL up under its own method). Raises RemoteProtocolError."""
    via = request.top_via
    branch = via.branch
    sent_by = via.host if via.port is None else f"{via.host}:{via.port}"
    if not branch or not branch.startswith(MAGIC_COOKIE):
        # RFC 2543 peer (§17.2.3 fallback): the fields an INVITE shares with its ACK/CANCEL.
        branch = f"2543:{request.call_id}:{request.from_.tag}:{request.cseq.seq}:{branch}"
    method = "INVITE" if request.method == "ACK" else request.method
    return TransactionKey(branch, method, sent_by)


def client_key(response: Response) -> TransactionKey:
    """§17.1.3 matching key of a received response: top Via branch and CSeq method."""
    return TransactionKey(response.top_via.branch or "", response.cseq.method)


def _copy_common(request: Request, method: str, to: str) -> Headers:
    headers = Headers()
    headers.add("Via", request.headers.get_all("Via")[0])
    for route in request.headers.get_lines("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", request.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", f"{request.cseq.seq} {method}")
    return headers


def build_ack(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK for a non-2xx final: same branch, To of the response, Route
    copied, CSeq number of the INVITE."""
    to = response.headers.get("To") or invite.headers.get("To") or ""
    headers = _copy_common(invite, "ACK", to)
    return Request(headers=headers, method="ACK", uri=invite.uri)


def build_cancel(invite: Request, reason: str | None = None) -> Request:
    """§9.1: CANCEL with the INVITE's Request-URI, Call-ID, From, To, CSeq number, top Via
    (same branch) and Route; ``reason`` becomes an RFC 3326 Reason header."""
    headers = _copy_common(invite, "CANCEL", invite.headers.get("To") or "")
    if reason:
        headers.add("Reason", reason)
    return Request(headers=headers, method="CANCEL", uri=invite.uri)
