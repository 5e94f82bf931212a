"""Dialogs (RFC 3261 §12), sans-IO: identity, route set, targets and CSeq bookkeeping.

A `Dialog` is created as UAS from a received INVITE and the response we send with our To
tag (§12.1.1), or as UAC from our INVITE and a 1xx-with-tag/2xx we received (§12.1.2).
It builds in-dialog requests (§12.2.1.1) and checks in-dialog requests it receives
(§12.2.2). `DialogTable` finds the dialog of an incoming request (481 when none).

Route sets: the UAS keeps Record-Route in request order, the UAC reverses the response's.
A first route without ``lr`` is a strict router (RFC 2543): it goes in the Request-URI and
the remote target becomes the last Route (§12.2.1.1). Re-INVITE glare (491) and session
timers live above this layer. ``sips`` is not supported (the ACD speaks UDP/TCP).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from typing import NamedTuple

from .errors import LocalProtocolError, RemoteProtocolError
from .headers import NameAddress
from .message import Request, Response, make_response
from .requests import USER_AGENT, LocalAddress, build_request

__all__ = ["Dialog", "DialogId", "DialogState", "DialogTable", "Role"]

# Methods whose Contact refreshes the remote target (RFC 3261 §12.2, RFC 3311 UPDATE).
_TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})
# Methods that carry our Contact when we send them in a dialog.
_WITH_CONTACT = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})


class DialogState(Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class Role(Enum):
    UAC = "uac"
    UAS = "uas"


class DialogId(NamedTuple):
    """§12: Call-ID, local tag, remote tag (tags from our point of view)."""

    call_id: str
    local_tag: str
    remote_tag: str


def _untagged(addr: NameAddress) -> NameAddress:
    if "tag" not in addr.params:
        return addr  # frozen: safe to share
    return NameAddress(addr.uri, addr.display_name,
                       {k: v for k, v in addr.params.items() if k != "tag"})


def _target(msg: Request | Response) -> str | None:
    """The single Contact URI of ``msg`` (None when absent); several or ``*`` → 400."""
    contacts = msg.contacts
    if not contacts:
        return None
    if len(contacts) != 1 or contacts[0].uri == "*":
        raise RemoteProtocolError("a dialog needs exactly one Contact URI")
    return contacts[0].uri


def _record_route(msg: Request | Response) -> list[str]:
    routes = msg.headers.get_all("Record-Route")
    for value in routes:
        NameAddress.parse(value)  # raises RemoteProtocolError when malformed
    return routes


class Dialog:
    """One dialog. Read-only attributes; state changes only through the methods."""

    def __init__(
        self,
        *,
        role: Role,
        dialog_id: DialogId,
        state: DialogState,
        local_uri: NameAddress,
        remote_uri: NameAddress,
        remote_target: str,
        route_set: Sequence[str],
        local_cseq: int,
        remote_cseq: int | None,
        local: LocalAddress,
        invite_cseq: int | None = None,
        user_agent: str | None = USER_AGENT,
    ) -> None:
        self.role = role
        self.id = dialog_id
        self.state = state
        self.local_uri = _untagged(local_uri)
        self.remote_uri = _untagged(remote_uri)
        self.remote_target = remote_target
        self.route_set: tuple[str, ...] = tuple(route_set)
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq
        self.local = local
        self.user_agent = user_agent
        self._invite_cseq = invite_cseq  # CSeq of our last INVITE (for its ACK)
        self._initial_invite_cseq = invite_cseq if role is Role.UAC else None

    def __repr__(self) -> str:
        return f"Dialog({self.role.name}, {self.id}, {self.state.name})"

    # -- creation ----------------------------------------------------------------------

    @classmethod
    def uas(cls, invite: Request, response: Response, local: LocalAddress) -> Dialog:
        """The dialog our ``response`` (101-299, with our To tag) to ``invite`` creates."""
        local_tag = response.to.tag
        if not 101 <= response.status <= 299 or not local_tag:
            raise LocalProtocolError("a dialog needs a 101-299 response with a To tag")
        remote_tag = invite.from_.tag
        if not remote_tag:
            raise RemoteProtocolError("INVITE without From tag", request=invite)
        target = _target(invite)
        if target is None:
            raise RemoteProtocolError("INVITE without Contact", request=invite)
        return cls(
            role=Role.UAS,
            dialog_id=DialogId(invite.call_id, local_tag, remote_tag),
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            local_uri=invite.to,
            remote_uri=invite.from_,
            remote_target=target,
            route_set=_record_route(invite),
            local_cseq=0,
            remote_cseq=invite.cseq.seq,
            local=local,
        )

    @classmethod
    def uac(cls, invite: Request, response: Response, local: LocalAddress) -> Dialog:
        """The dialog a received 1xx-with-tag or 2xx to our ``invite`` creates."""
        remote_tag = response.to.tag
        if not 101 <= response.status <= 299 or not remote_tag:
            raise RemoteProtocolError("only a 101-299 response with a To tag makes a dialog")
        local_tag = invite.from_.tag
        if not local_tag:
            raise LocalProtocolError("our INVITE has no From tag")
        target = _target(response)
        if target is None:
            if response.status >= 200:
                raise RemoteProtocolError("2xx to INVITE without Contact")
            target = invite.uri  # an early dialog until the 2xx tells us better
        return cls(
            role=Role.UAC,
            dialog_id=DialogId(invite.call_id, local_tag, remote_tag),
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            local_uri=invite.from_,
            remote_uri=invite.to,
            remote_target=target,
            route_set=list(reversed(_record_route(response))),
            local_cseq=invite.cseq.seq,
            remote_cseq=None,
            local=local,
            invite_cseq=invite.cseq.seq,
        )

    # -- outgoing requests ----------------------------------------------------------------

    def _routing(self) -> tuple[str, list[str]]:
        """(Request-URI, Route values) per §12.2.1.1, loose or strict first hop."""
        if not self.route_set:
            return self.remote_target, []
        first = NameAddress.parse(self.route_set[0])
        if "lr" in first.sip_uri().params:
            return self.remote_target, list(self.route_set)
        strict_uri = first.uri.split("?", 1)[0]
        return strict_uri, [*self.route_set[1:], f"<{self.remote_target}>"]

    def create_request(
        self,
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        extra: Sequence[tuple[str, str]] = (),
        *,
        branch: str | None = None,
    ) -> Request:
        """An in-dialog request: BYE, re-INVITE, UPDATE, OPTIONS, INFO, ... or the ACK
        for a 2xx (same CSeq number as the INVITE, §13.2.2.4). Sending BYE ends the dialog
        (§15.1.1), but a 2xx to an INVITE we sent before it still gets its ACK (every 2xx
        is ACKed; RFC 5407 §3.2, the Mortal state): ACK is the one request a terminated
        dialog still builds. CANCEL is not an in-dialog request: build it from the INVITE."""
        method = method.upper()
        if self.state is DialogState.TERMINATED and method != "ACK":
            raise LocalProtocolError(f"{method} on a terminated dialog")
        if method == "CANCEL":
            raise LocalProtocolError("CANCEL is built from the INVITE, not the dialog")
        if method == "ACK":
            if self._invite_cseq is None:
                raise LocalProtocolError("ACK without an INVITE of ours to acknowledge")
            cseq = self._invite_cseq
        else:
            self.local_cseq += 1
            cseq = self.local_cseq
            if method == "INVITE":
                self._invite_cseq = cseq
        uri, route = self._routing()
        request = build_request(
            method,
            uri,
            self.local_uri.with_tag(self.id.local_tag),
            self.remote_uri.with_tag(self.id.remote_tag),
            call_id=self.id.call_id,
            cseq=cseq,
            via_host=self.local.host,
            via_port=self.local.port,
            transport=self.local.transport,
            contact=f"<{self.local.contact}>" if method in _WITH_CONTACT else None,
            branch=branch,
            route=route,
            user_agent=self.user_agent,
            extra=extra,
            body=body,
            content_type=content_type,
        )
        if method == "BYE":
            self.state = DialogState.TERMINATED
        return request

    # -- incoming messages ----------------------------------------------------------------

    def matches(self, request: Request) -> bool:
        return (
            request.call_id == self.id.call_id
            and request.to.tag == self.id.local_tag
            and request.from_.tag == self.id.remote_tag
        )

    def receive_request(self, request: Request) -> Response | None:
        """Check an in-dialog request (§12.2.2). None: accepted, go on; else the error
        response to send (481 wrong/ended dialog, 500 CSeq out of order, 400 bad Contact)."""
        if request.method in ("ACK", "CANCEL"):
            return None  # ACK reuses the INVITE's CSeq and is never answered; CANCEL
            # belongs to the INVITE's transaction, not to the dialog
        if not self.matches(request) or self.state is DialogState.TERMINATED:
            return make_response(request, 481)
        seq = request.cseq.seq
        if self.remote_cseq is not None and seq < self.remote_cseq:
            return make_response(request, 500, extra=[("Retry-After", "1")])
        if request.method in _TARGET_REFRESH:
            try:
                target = _target(request)
            except RemoteProtocolError:
                return make_response(request, 400)
            if target is not None:
                self.remote_target = target
        self.remote_cseq = seq
        if request.method == "BYE":
            self.state = DialogState.TERMINATED
        return None

    def receive_response(self, response: Response) -> None:
        """A response to a request we sent in (or to create) this dialog."""
        if self.state is DialogState.TERMINATED:
            return
        method, status = response.cseq.method, response.status
        initial = method == "INVITE" and response.cseq.seq == self._initial_invite_cseq
        if initial and self.state is DialogState.EARLY:
            if 200 <= status < 300:
                # §13.2.2.4: confirm, and recompute the route set from the 2xx.
                self.state = DialogState.CONFIRMED
                self.route_set = tuple(reversed(_record_route(response)))
            elif status >= 300:
                self.state = DialogState.TERMINATED
                return
        if status in (408, 481):  # §12.2.1.2: the dialog is gone
            self.state = DialogState.TERMINATED
            return
        if method in _TARGET_REFRESH and 100 < status < 300:
            target = _target(response)
            if target is not None:
                self.remote_target = target

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED


class DialogTable:
    """Dialogs by id; finds the dialog of an incoming request or response."""

    def __init__(self) -> None:
        self._dialogs: dict[DialogId, Dialog] = {}

    def add(self, dialog: Dialog) -> None:
        if dialog.id in self._dialogs:
            raise LocalProtocolError(f"dialog {dialog.id} already exists")
        self._dialogs[dialog.id] = dialog

    def remove(self, dialog_id: DialogId) -> Dialog | None:
        return self._dialogs.pop(dialog_id, None)

    def get(self, dialog_id: DialogId) -> Dialog | None:
        return self._dialogs.get(dialog_id)

    def __len__(self) -> int:
        return len(self._dialogs)

    def __iter__(self) -> Iterator[Dialog]:
        return iter(list(self._dialogs.values()))

    def find_for_request(self, request: Request) -> Dialog | None:
        """Incoming request: local tag = To tag, remote tag = From tag."""
        to_tag, from_tag = request.to.tag, request.from_.tag
        if not to_tag or not from_tag:
            return None
        return self._dialogs.get(DialogId(request.call_id, to_tag, from_tag))

    def find_for_response(self, response: Response) -> Dialog | None:
        """Response to our request: local tag = From tag, remote tag = To tag."""
        to_tag, from_tag = response.to.tag, response.from_.tag
        if not to_tag or not from_tag:
            return None
        return self._dialogs.get(DialogId(response.call_id, from_tag, to_tag))

    def receive_request(self, request: Request) -> Dialog | Response | None:
        """Route an in-dialog request (one with a To tag).

        Returns the `Dialog` when accepted (the caller acts on it), a `Response` to send
        when rejected (481 no such dialog, 500 CSeq out of order, ...), or None for an ACK
        that matches no dialog (ACKs are never answered). Terminated dialogs are removed.
        """
        dialog = self.find_for_request(request)
        if dialog is None:
            return None if request.method == "ACK" else make_response(request, 481)
        error = dialog.receive_request(request)
        if dialog.state is DialogState.TERMINATED:
            self._dialogs.pop(dialog.id, None)
        return dialog if error is None else error

    def discard_terminated(self) -> list[Dialog]:
        gone = [d for d in self._dialogs.values() if d.state is DialogState.TERMINATED]
        for d in gone:
            del self._dialogs[d.id]
        return gone
