"""G.711 tables against ITU-T G.711 reference values and the reference algorithm."""

from __future__ import annotations

import struct
import warnings

import pytest

from acd.media import g711

ALL_PCM = struct.pack("<65536h", *range(-32768, 32768))
ALL_CODES = bytes(range(256))


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xFF), (-1, 0x7E), (1, 0xFF), (32767, 0x80), (-32768, 0x00), (-32124, 0x00),
     (32124, 0x80), (100, 0xF2), (-100, 0x72), (1000, 0xCE), (8031, 0xA0)],
)
def test_ulaw_encode_known_values(sample: int, code: int) -> None:
    assert g711.linear_to_ulaw(sample) == code
    assert g711.ulaw_encode(struct.pack("<h", sample)) == bytes([code])


@pytest.mark.parametrize(
    ("sample", "code"),
    [(0, 0xD5), (-1, 0x55), (-8, 0x55), (32767, 0xAA), (-32768, 0x2A), (1000, 0xFA),
     (-1000, 0x7A)],
)
def test_alaw_encode_known_values(sample: int, code: int) -> None:
    assert g711.linear_to_alaw(sample) == code
    assert g711.alaw_encode(struct.pack("<h", sample)) == bytes([code])


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xFF, 0), (0x7F, 0), (0x00, -32124), (0x80, 32124), (0xF0, 120), (0x70, -120)],
)
def test_ulaw_decode_known_values(code: int, value: int) -> None:
    assert g711.ulaw_to_linear(code) == value
    assert g711.ulaw_decode(bytes([code])) == struct.pack("<h", value)


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xD4, 24), (0x80, 5504), (0x00, -5504)],
)
def test_alaw_decode_known_values(code: int, value: int) -> None:
    assert g711.alaw_to_linear(code) == value
    assert g711.alaw_decode(bytes([code])) == struct.pack("<h", value)


def test_silence_codes() -> None:
    assert g711.ulaw_encode(bytes(320)) == bytes([g711.ULAW_SILENCE]) * 160
    assert g711.alaw_encode(bytes(320)) == bytes([g711.ALAW_SILENCE]) * 160


def test_every_code_round_trips() -> None:
    # decode → encode gives the code back (µ-law 0x7F is "-0": it encodes as +0, 0xFF)
    ulaw = g711.ulaw_encode(g711.ulaw_decode(ALL_CODES))
    assert ulaw == bytes(0xFF if c == 0x7F else c for c in ALL_CODES)
    assert g711.alaw_encode(g711.alaw_decode(ALL_CODES)) == ALL_CODES


def test_encode_is_monotonic_and_error_bounded() -> None:
    # decoding the encoding of any sample stays within the G.711 quantisation step
    for encode, decode in ((g711.ulaw_encode, g711.ulaw_decode),
                           (g711.alaw_encode, g711.alaw_decode)):
        back = struct.unpack("<65536h", decode(encode(ALL_PCM)))
        for s, b in zip(range(-32768, 32768), back, strict=True):
            assert abs(s - b) <= max(16, abs(s) // 16), (s, b)


def test_matches_audioop_for_all_inputs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    assert g711.ulaw_encode(ALL_PCM) == audioop.lin2ulaw(ALL_PCM, 2)
    assert g711.alaw_encode(ALL_PCM) == audioop.lin2alaw(ALL_PCM, 2)
    assert g711.ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert g711.alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_odd_length_pcm_is_rejected() -> None:
    with pytest.raises(ValueError, match="even number"):
        g711.ulaw_encode(b"\x00")
