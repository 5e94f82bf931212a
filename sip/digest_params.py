"""Parse and format the parameter list of a Digest challenge or credentials.

RFC 7235 §2.1 / RFC 7616 §3.3-3.4 / RFC 3261 §25.1 grammar, as it applies to the
*value* of one ``WWW-Authenticate``, ``Proxy-Authenticate``, ``Authorization`` or
``Proxy-Authorization`` header::

    credentials = "Digest" 1*SP auth-param *( OWS "," OWS auth-param )
    auth-param  = token BWS "=" BWS ( token / quoted-string )

Decisions:

* Malformed input raises :class:`DigestParseError` (never returns ``None``): the
  caller must treat it as a failed authentication, and an exception with a stable
  ``code`` cannot be confused with "no header".
* Parameter names are case-insensitive and returned lower-cased.  A name given twice
  is an error: two ``response`` or two ``nonce`` values are ambiguous, and
  ambiguity in an authentication header is a classic smuggling trick.
* Empty list elements (``a=1,,b=2``) are allowed, as RFC 7230 §7 requires.
* Quoted strings may hold quoted-pairs (``\\"``, ``\\\\``) and non-ASCII text; CR, LF
  and other control characters (except HTAB) are rejected.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DigestParseError", "format_params", "parse_challenge"]

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WS = " \t\r\n"  # a SIP message parser has already unfolded lines; tolerate leftovers.


class DigestParseError(ValueError):
    """The header value is not a well-formed ``<scheme> <auth-params>`` list."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def _is_token(text: str) -> bool:
    return bool(text) and all(c in _TCHAR for c in text)


def _qdtext_ok(c: str) -> bool:
    # qdtext = HTAB / SP / %x21-7E except '"' and '\' / obs-text (any non-ASCII here).
    return c == "\t" or c == " " or "\x21" <= c <= "\x7e" or c >= "\x80"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _read_token(text: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in _TCHAR:
        pos += 1
    return text[start:pos], pos


def _read_quoted(text: str, pos: int) -> tuple[str, int]:
    """Read a quoted-string starting at the opening quote; return (value, next pos)."""
    pos += 1
    out: list[str] = []
    while pos < len(text):
        c = text[pos]
        if c == '"':
            return "".join(out), pos + 1
        if c == "\\":
            if pos + 1 >= len(text):
                break
            nxt = text[pos + 1]
            if not _qdtext_ok(nxt) and nxt not in '"\\':
                raise DigestParseError("bad-quoted-pair", f"control character at {pos + 1}")
            out.append(nxt)
            pos += 2
            continue
        if not _qdtext_ok(c):
            raise DigestParseError("bad-char", f"control character at {pos}")
        out.append(c)
        pos += 1
    raise DigestParseError("unterminated-quote", "quoted string is not closed")


def parse_challenge(value: str) -> tuple[str, dict[str, str]]:
    """Split ``'Digest realm="x", nc=00000001'`` into ``("digest", {...})``.

    The scheme is returned lower-cased; so are parameter names (values are left alone).
    Raises :class:`DigestParseError` on anything that does not match the grammar.
    """
    pos = _skip_ws(value, 0)
    scheme, pos = _read_token(value, pos)
    if not scheme:
        raise DigestParseError("no-scheme", "expected an auth-scheme token")
    if pos < len(value) and value[pos] not in _WS:
        raise DigestParseError("bad-scheme", f"unexpected {value[pos]!r} after scheme")
    params: dict[str, str] = {}
    pos = _skip_ws(value, pos)
    expect_param = True  # after the scheme or a comma
    while pos < len(value):
        if value[pos] == ",":
            pos = _skip_ws(value, pos + 1)
            expect_param = True
            continue
        if not expect_param:
            raise DigestParseError("missing-comma", f"expected ',' at {pos}")
        name, pos = _read_token(value, pos)
        if not name:
            raise DigestParseError("bad-name", f"expected a parameter name at {pos}")
        pos = _skip_ws(value, pos)
        if pos >= len(value) or value[pos] != "=":
            raise DigestParseError("missing-equals", f"parameter {name!r} has no '='")
        pos = _skip_ws(value, pos + 1)
        if pos < len(value) and value[pos] == '"':
            param_value, pos = _read_quoted(value, pos)
        else:
            param_value, pos = _read_token(value, pos)
            if not param_value:
                raise DigestParseError("bad-value", f"parameter {name!r} has no value")
        key = name.lower()
        if key in params:
            raise DigestParseError("duplicate-param", f"parameter {key!r} given twice")
        params[key] = param_value
        pos = _skip_ws(value, pos)
        expect_param = False
    return scheme.lower(), params


def _quote(text: str) -> str:
    for c in text:
        if not _qdtext_ok(c) and c not in '"\\':
            raise ValueError(f"cannot quote control character {c!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_params(
    scheme: str, params: Mapping[str, str], *, unquoted: frozenset[str] = frozenset()
) -> str:
    """Build ``'<scheme> k="v", ...'``; names in *unquoted* are emitted as bare tokens.

    RFC 7616 wants ``algorithm``, ``stale``, ``nc`` and ``qop`` (in credentials) as
    tokens and everything else quoted; a value that is not a token is always quoted.
    """
    if not _is_token(scheme):
        raise ValueError(f"scheme {scheme!r} is not a token")
    parts: list[str] = []
    for name, val in params.items():
        if not _is_token(name):
            raise ValueError(f"parameter name {name!r} is not a token")
        rendered = val if name in unquoted and _is_token(val) else _quote(val)
        parts.append(f"{name}={rendered}")
    return f"{scheme} " + ", ".join(parts)
