"""StreamFramer: whole, byte by byte, chunked; keep-alives; limits; fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import RemoteProtocolError
from sip.framing import KeepAlive, StreamFramer
from sip.message import parse_message

MSG = (
    b"OPTIONS sip:acd@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h.example;branch=z9hG4bK1\r\n"
    b"From: <sip:a@example.com>;tag=1\r\nTo: <sip:acd@example.com>\r\nCall-ID: c1\r\n"
    b"CSeq: 1 OPTIONS\r\nContent-Length: 5\r\n\r\nhello"
)
FOLDED_COMPACT = MSG.replace(b"Content-Length: 5", b"l:\r\n 5")


def feed_all(framer: StreamFramer, chunks: list[bytes]) -> list[bytes | KeepAlive]:
    return [item for chunk in chunks for item in framer.feed(chunk)]


def test_whole_byte_by_byte_and_back_to_back() -> None:
    data = MSG + b"\r\n\r\n" + FOLDED_COMPACT + MSG
    expected = [MSG, KeepAlive(), FOLDED_COMPACT, MSG]
    assert feed_all(StreamFramer(), [data]) == expected
    framer = StreamFramer()
    assert feed_all(framer, [data[i : i + 1] for i in range(len(data))]) == expected
    assert framer.buffered == 0
    for frame in expected:
        if isinstance(frame, bytes):
            assert parse_message(frame, stream=True).body == b"hello"


@settings(max_examples=200)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=40))
def test_any_chunking_gives_the_same_frames(sizes: list[int]) -> None:
    data = (MSG + b"\r\n\r\n" + FOLDED_COMPACT) * 3
    chunks, pos = [], 0
    while pos < len(data):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(data[pos : pos + size])
        pos += size
    assert feed_all(StreamFramer(), chunks) == feed_all(StreamFramer(), [data])


def test_keepalive_ping_byte_by_byte_and_single_crlf_pong() -> None:
    framer = StreamFramer()
    assert feed_all(framer, [b"\r", b"\n", b"\r", b"\n"]) == [KeepAlive()]
    assert framer.feed(b"\r\n") == []  # a lone CRLF (pong) is swallowed
    assert framer.feed(MSG) == [MSG]


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: -1",
        b"Content-Length: x",
        b"Content-Length: 99999999999",
        b"Content-Length: 5\r\nl: 6",
        b"X-No-Length: 1",
    ],
)
def test_bad_or_missing_content_length(head: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        StreamFramer().feed(MSG.replace(b"Content-Length: 5", head))


def test_size_limits() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        StreamFramer().feed(MSG.replace(b"Content-Length: 5", b"Content-Length: 70000"))
    assert info.value.status_hint == 513
    framer = StreamFramer()
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(70):
            framer.feed(b"X" * 1024)
    assert info.value.status_hint == 513


@settings(max_examples=1000)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_fuzz_only_remote_errors(chunks: list[bytes]) -> None:
    framer = StreamFramer()
    try:
        for item in feed_all(framer, chunks):
            if isinstance(item, bytes):
                with contextlib.suppress(RemoteProtocolError):
                    parse_message(item, stream=True)
    except RemoteProtocolError:
        pass
