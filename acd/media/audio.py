"""Prompt audio: loading and validating files, tones, resampling, frame helpers.

Everything here works on *linear* audio: signed 16-bit little-endian mono at
8,000 Hz (:data:`SAMPLE_RATE`), held as ``bytes``.  A prompt is converted to that
once when it is loaded; :mod:`acd.media.prompts` then caches its µ-law/A-law
encodings per codec.

Accepted files: ``.wav`` (RIFF WAVE, PCM, 8 kHz, mono, 16-bit), ``.ulaw``/``.mulaw``/
``.pcmu`` (raw µ-law bytes, 8 kHz mono) and ``.alaw``/``.pcma`` (raw A-law).  Anything
else raises :class:`PromptError` whose ``code`` is stable and whose message names the
file and what was wrong (e.g. ``prompt-sample-rate: greeting.wav: 44100 Hz, need
8000 Hz (convert with: sox in.wav -r 8000 -c 1 -b 16 out.wav)``).
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from pathlib import Path

from acd.media.g711 import alaw_decode, ulaw_decode

__all__ = [
    "FRAME_BYTES_PCM",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "PromptError",
    "load_audio",
    "pcm_from_samples",
    "pcm_samples",
    "resample",
    "silence",
    "tone",
]

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES_PCM = FRAME_SAMPLES * 2

_RAW_ULAW = {".ulaw", ".mulaw", ".pcmu", ".ul"}
_RAW_ALAW = {".alaw", ".pcma", ".al"}
_MAX_SECONDS = 15 * 60  # a prompt longer than 15 minutes is a mistake, not music
_CONVERT_HINT = "convert with: sox IN -r 8000 -c 1 -b 16 -e signed-integer OUT.wav"


class PromptError(ValueError):
    """A prompt file or clip is unusable; ``code`` is a stable string."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def pcm_samples(pcm: bytes) -> array[int]:
    """Linear PCM bytes → array of signed ints (native order)."""
    samples = array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def pcm_from_samples(samples: array[int] | list[int]) -> bytes:
    """Signed ints (clipped to 16 bits) → linear PCM bytes."""
    out = array("h", (max(-32768, min(32767, int(s))) for s in samples))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def silence(ms: int) -> bytes:
    """*ms* milliseconds of linear silence (rounded down to whole samples)."""
    if ms < 0:
        raise ValueError("silence duration must be >= 0 ms")
    return bytes(2 * (SAMPLE_RATE * ms // 1000))


def tone(
    freqs: tuple[float, ...], ms: int, *, level_dbfs: float = -18.0, fade_ms: int = 10
) -> bytes:
    """A sum of sine tones, *ms* long, peak at *level_dbfs*, with raised-cosine fades."""
    n = SAMPLE_RATE * ms // 1000
    if not freqs or n == 0:
        return silence(ms)
    amp = 32767 * 10 ** (level_dbfs / 20) / len(freqs)
    fade = max(1, SAMPLE_RATE * fade_ms // 1000)
    steps = [2 * math.pi * f / SAMPLE_RATE for f in freqs]
    out: list[int] = []
    for i in range(n):
        v = sum(math.sin(step * i) for step in steps) * amp
        edge = min(i, n - 1 - i)
        if edge < fade:
            v *= 0.5 - 0.5 * math.cos(math.pi * edge / fade)
        out.append(round(v))
    return pcm_from_samples(out)


def resample(pcm: bytes, rate_in: int, rate_out: int = SAMPLE_RATE, taps: int = 16) -> bytes:
    """Band-limited resampling (windowed sinc, Blackman window), pure Python.

    Good enough for speech prompts at build time (a few seconds of audio per second);
    not meant for the real-time path.
    """
    if rate_in == rate_out:
        return pcm
    src = pcm_samples(pcm)
    n_in = len(src)
    ratio = rate_out / rate_in
    cutoff = min(1.0, ratio) * 0.95  # relative to the input Nyquist
    half = taps / cutoff  # filter half-width in input samples
    n_out = int(n_in * ratio)
    out: list[float] = []
    for j in range(n_out):
        centre = j / ratio
        lo = max(0, math.ceil(centre - half))
        hi = min(n_in - 1, math.floor(centre + half))
        acc = 0.0
        for k in range(lo, hi + 1):
            x = (k - centre) * cutoff
            sinc = 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)
            w = (k - centre) / half  # -1..1
            window = 0.42 + 0.5 * math.cos(math.pi * w) + 0.08 * math.cos(2 * math.pi * w)
            acc += src[k] * sinc * window
        out.append(acc * cutoff)
    return pcm_from_samples([round(v) for v in out])


def _load_wav(path: Path) -> bytes:
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            comp = w.getcomptype()
            frames = w.getnframes()
            if comp != "NONE":
                raise PromptError("prompt-bad-format",
                                  f"{path}: compressed WAV ({comp}), need PCM; {_CONVERT_HINT}")
            if rate != SAMPLE_RATE:
                raise PromptError("prompt-sample-rate",
                                  f"{path}: {rate} Hz, need {SAMPLE_RATE} Hz; {_CONVERT_HINT}")
            if channels != 1:
                raise PromptError("prompt-channels",
                                  f"{path}: {channels} channels, need mono; {_CONVERT_HINT}")
            if width != 2:
                raise PromptError("prompt-sample-width",
                                  f"{path}: {8 * width}-bit samples, need 16-bit; "
                                  f"{_CONVERT_HINT}")
            if frames > _MAX_SECONDS * SAMPLE_RATE:
                raise PromptError("prompt-too-long",
                                  f"{path}: {frames / SAMPLE_RATE:.0f} s, limit {_MAX_SECONDS} s")
            data = w.readframes(frames)
    except PromptError:
        raise
    except wave.Error as exc:
        # The stdlib says e.g. "unknown format: 3" for IEEE float or "file does not
        # start with RIFF id"; keep its words but under our code.
        raise PromptError("prompt-bad-format", f"{path}: not a PCM WAV file ({exc})") from exc
    except EOFError as exc:
        raise PromptError("prompt-bad-format", f"{path}: truncated WAV header") from exc
    if len(data) != frames * 2:
        raise PromptError("prompt-bad-format",
                          f"{path}: header promises {frames} samples, file has {len(data) // 2}")
    if sys.byteorder == "big":
        data = pcm_from_samples(array("h", data))  # WAV is little-endian; re-pack
    return data


def load_audio(path: str | Path) -> bytes:
    """Load a prompt file as 8 kHz mono 16-bit linear PCM; raise :class:`PromptError`."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix != ".wav" and suffix not in _RAW_ULAW | _RAW_ALAW:
        raise PromptError("prompt-unknown-type",
                          f"{p}: unknown prompt type {suffix or '(none)'!r}; use .wav "
                          "(8 kHz mono 16-bit PCM), .ulaw or .alaw")
    try:
        if suffix == ".wav":
            pcm = _load_wav(p)
        else:
            raw = p.read_bytes()
            if len(raw) > _MAX_SECONDS * SAMPLE_RATE:
                raise PromptError("prompt-too-long", f"{p}: longer than {_MAX_SECONDS} s")
            pcm = ulaw_decode(raw) if suffix in _RAW_ULAW else alaw_decode(raw)
    except FileNotFoundError as exc:
        raise PromptError("prompt-not-found", f"{p}: no such file") from exc
    except IsADirectoryError as exc:
        raise PromptError("prompt-not-found", f"{p}: is a directory") from exc
    except PermissionError as exc:
        raise PromptError("prompt-unreadable", f"{p}: permission denied") from exc
    if not pcm:
        raise PromptError("prompt-empty", f"{p}: no audio samples")
    return pcm
