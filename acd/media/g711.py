"""G.711 µ-law and A-law (ITU-T G.711) with our own lookup tables.

``audioop`` is deprecated (PEP 594, removed in 3.13) and numpy is not a dependency,
so the tables are built once at import from the reference algorithm (the Sun
Microsystems ``g711.c`` that ITU-T G.191 and most stacks use).  Encoding indexes a
65,536-entry table by the unsigned 16-bit sample, so converting a prompt is one C-level
``map`` over an ``array`` (about 30 ns a sample); decoding is a 256-entry table.

Linear audio everywhere in :mod:`acd.media` is signed 16-bit little-endian bytes.
"""

from __future__ import annotations

import sys
from array import array

__all__ = [
    "ALAW_SILENCE",
    "ULAW_SILENCE",
    "alaw_decode",
    "alaw_encode",
    "alaw_to_linear",
    "linear_to_alaw",
    "linear_to_ulaw",
    "ulaw_decode",
    "ulaw_encode",
    "ulaw_to_linear",
]

ULAW_SILENCE = 0xFF
"""µ-law code of linear 0."""
ALAW_SILENCE = 0xD5
"""A-law code of linear 0."""

_BIG_ENDIAN = sys.byteorder == "big"
_SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_AEND = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for seg, end in enumerate(ends):
        if value <= end:
            return seg
    return len(ends)


def linear_to_ulaw(sample: int) -> int:
    """µ-law code of one signed 16-bit sample (reference algorithm)."""
    value = sample >> 2
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(value, _SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask


def ulaw_to_linear(code: int) -> int:
    """Signed 16-bit value of one µ-law code."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return _ULAW_BIAS - t if u & 0x80 else t - _ULAW_BIAS


def linear_to_alaw(sample: int) -> int:
    """A-law code of one signed 16-bit sample (reference algorithm, even bits inverted)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask, value = 0x55, -value - 1
    seg = _segment(value, _SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    quant = (value >> 1) if seg < 2 else (value >> seg)
    return ((seg << 4) | (quant & 0x0F)) ^ mask


def alaw_to_linear(code: int) -> int:
    """Signed 16-bit value of one A-law code."""
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def _signed(u: int) -> int:
    return u - 0x10000 if u & 0x8000 else u


# Indexed by the *unsigned* 16-bit pattern of the sample, so an array('H') view of
# the PCM bytes maps straight through without sign handling per sample.
_ULAW_14 = bytes(linear_to_ulaw(_signed(i << 2)) for i in range(1 << 14))
_ALAW_13 = bytes(linear_to_alaw(_signed(i << 3)) for i in range(1 << 13))
_ULAW_ENC = bytes(_ULAW_14[u >> 2] for u in range(1 << 16))
_ALAW_ENC = bytes(_ALAW_13[u >> 3] for u in range(1 << 16))
_ULAW_DEC = tuple(ulaw_to_linear(c) for c in range(256))
_ALAW_DEC = tuple(alaw_to_linear(c) for c in range(256))


def _unsigned_samples(pcm: bytes) -> array[int]:
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    samples = array("H", pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def _to_pcm(samples: array[int]) -> bytes:
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples.tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM → µ-law, one byte per sample."""
    return bytes(map(_ULAW_ENC.__getitem__, _unsigned_samples(pcm)))


def alaw_encode(pcm: bytes) -> bytes:
    """Signed 16-bit little-endian PCM → A-law, one byte per sample."""
    return bytes(map(_ALAW_ENC.__getitem__, _unsigned_samples(pcm)))


def ulaw_decode(data: bytes) -> bytes:
    """µ-law → signed 16-bit little-endian PCM."""
    return _to_pcm(array("h", map(_ULAW_DEC.__getitem__, data)))


def alaw_decode(data: bytes) -> bytes:
    """A-law → signed 16-bit little-endian PCM."""
    return _to_pcm(array("h", map(_ALAW_DEC.__getitem__, data)))
