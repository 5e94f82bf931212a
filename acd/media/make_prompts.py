"""Build step: generate the default prompts in ``acd/prompts/`` FROM TEXT (no copied audio).

Run ``python tools/make_prompts.py`` (or ``python -m acd.media.make_prompts``) from the
repository root.  For every clip in :data:`TEXTS` it runs ``espeak-ng`` (voice ``cmn``
for Mandarin, ``en`` for English), resamples to 8 kHz (``sox -D`` if installed: no
dither, so rebuilds are byte-identical; else our own windowed-sinc resampler), trims
leading/trailing silence, normalises the peak and writes 8 kHz µ-law (``.ulaw``,
8 KB per second).  Hold music is *synthesised* (soft arpeggios over a I–vi–IV–V
progression), never sampled.

Without ``espeak-ng`` the build falls back to generated tones: greeting and thank-you
become tone patterns, speech clips are not written (announcements then raise
``missing-clip``; the runtime skips them) and ``manifest.json`` records what was made.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from acd.media.audio import SAMPLE_RATE, pcm_from_samples, pcm_samples, resample
from acd.media.g711 import ulaw_encode
from acd.media.prompts import DEFAULT_PROMPT_DIR, FALLBACK_TONES
from acd.media.speech import CLIPS

__all__ = ["TEXTS", "VOICES", "hold_music", "main", "make_prompts"]

VOICES = {"zh": "cmn", "en": "en"}
_SPEED = {"zh": 165, "en": 160}

_ZH_DIGITS = "零一二三四五六七八九"
_EN_NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "greeting": "您好，欢迎致电一二三四五政务服务便民热线。您的来电正在接入，请稍候。",
        "you_are_caller": "您现在排在第",
        "caller_suffix": "位",
        "estimated_wait": "预计等待",
        "less_than_minute": "不到一分钟",
        "minute": "分钟",
        "minutes": "分钟",
        "seconds": "秒",
        "thanks_for_waiting": "感谢您的耐心等待，我们将尽快为您接通。",
        **{f"num_{d}": _ZH_DIGITS[d] for d in range(10)},
        "num_2_liang": "两",
        "num_10": "十",
        "num_100": "百",
        "num_1000": "千",
        "num_10000": "万",
    },
    "en": {
        "greeting": "Hello, and welcome to the one two three four five government service "
                    "hotline. Your call is being connected. Please hold.",
        "you_are_caller": "You are caller number",
        "estimated_wait": "Your estimated wait is",
        "less_than_minute": "less than one minute",
        "minute": "minute",
        "minutes": "minutes",
        "seconds": "seconds",
        "thanks_for_waiting": "Thank you for waiting. An agent will be with you shortly.",
        **{f"num_{n}": w for n, w in enumerate(_EN_NUMBERS)},
        **{f"num_{20 + 10 * i}": w for i, w in enumerate(_EN_TENS)},
        "num_100": "hundred",
        "num_1000": "thousand",
        "num_1000000": "million",
    },
}
"""The text of every clip, per language (keys match :data:`acd.media.speech.CLIPS`)."""


def _trim_and_normalise(pcm: bytes, peak_dbfs: float = -4.0, margin_ms: int = 15) -> bytes:
    samples = pcm_samples(pcm)
    threshold = 400
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    if not loud:
        return pcm
    margin = SAMPLE_RATE * margin_ms // 1000
    start, end = max(0, loud[0] - margin), min(len(samples), loud[-1] + margin)
    part = samples[start:end]
    peak = max(abs(s) for s in part) or 1
    gain = 32767 * 10 ** (peak_dbfs / 20) / peak
    return pcm_from_samples([round(s * gain) for s in part])


def _read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise RuntimeError(f"{path}: espeak-ng produced an unexpected WAV format")
        return w.readframes(w.getnframes()), w.getframerate()


def _speak(text: str, language: str, workdir: Path, espeak: str, sox: str | None) -> bytes:
    raw = workdir / "speech.wav"
    subprocess.run(
        [espeak, "-v", VOICES[language], "-s", str(_SPEED[language]), "-w", str(raw), text],
        check=True, capture_output=True, timeout=60,
    )
    if sox is not None:
        out = workdir / "speech8k.wav"
        subprocess.run([sox, "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                        "-e", "signed-integer", str(out)],
                       check=True, capture_output=True, timeout=60)
        pcm, rate = _read_wav(out)
    else:
        pcm, rate = _read_wav(raw)
        pcm = resample(pcm, rate, SAMPLE_RATE)
    return _trim_and_normalise(pcm)


_CHORDS = (  # I – vi – IV – V in C, as arpeggio note frequencies (Hz)
    (261.63, 329.63, 392.00, 523.25),
    (220.00, 261.63, 329.63, 440.00),
    (174.61, 220.00, 261.63, 349.23),
    (196.00, 246.94, 293.66, 392.00),
)


def hold_music(seconds: float = 24.0, note_ms: int = 375) -> bytes:
    """Synthesised music on hold: soft bell-like arpeggios, loops without a click."""
    note_n = SAMPLE_RATE * note_ms // 1000
    notes_per_chord = 8
    total_notes = max(1, round(seconds * 1000 / note_ms))
    total_notes -= total_notes % (notes_per_chord * len(_CHORDS)) or 0
    total_notes = max(total_notes, notes_per_chord * len(_CHORDS))
    out: list[int] = []
    pattern = (0, 1, 2, 3, 2, 1, 2, 1)
    for k in range(total_notes):
        chord = _CHORDS[(k // notes_per_chord) % len(_CHORDS)]
        freq = chord[pattern[k % notes_per_chord]]
        bass = chord[0] / 2
        for i in range(note_n):
            t = i / SAMPLE_RATE
            env = math.exp(-4.0 * t) * min(1.0, i / 40)
            v = 0.8 * math.sin(2 * math.pi * freq * t) + 0.15 * math.sin(4 * math.pi * freq * t)
            pad = 0.25 * math.sin(2 * math.pi * bass * (k % notes_per_chord * note_n + i)
                                  / SAMPLE_RATE)
            out.append(round(5000 * (env * v + pad * 0.6)))
    # fade the bass pad in and out over 20 ms so the loop point is silent-continuous
    fade = SAMPLE_RATE // 50
    for i in range(fade):
        g = i / fade
        out[i] = round(out[i] * g)
        out[-1 - i] = round(out[-1 - i] * g)
    return pcm_from_samples(out)


def _write(out_dir: Path, rel: str, pcm: bytes, files: dict[str, dict[str, object]],
           **info: object) -> None:
    path = out_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ulaw_encode(pcm))
    files[rel] = {"seconds": round(len(pcm) / 2 / SAMPLE_RATE, 3), **info}


def _version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0].split("  Data at:")[0].strip() if text else "unknown"


def make_prompts(
    out_dir: str | Path = DEFAULT_PROMPT_DIR,
    *,
    engine: str = "auto",
    languages: tuple[str, ...] = ("zh", "en"),
) -> dict[str, object]:
    """Generate every default prompt into *out_dir*; return (and write) the manifest.

    *engine*: ``"espeak"`` (fail if ``espeak-ng`` is missing), ``"tones"`` (never
    speak), or ``"auto"`` (espeak-ng if installed, else tones).
    """
    out = Path(out_dir)
    espeak = shutil.which("espeak-ng")
    if engine == "espeak" and espeak is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    if engine not in ("auto", "espeak", "tones"):
        raise ValueError(f"unknown engine {engine!r}; use auto, espeak or tones")
    speak = espeak is not None and engine != "tones"
    sox = shutil.which("sox")
    files: dict[str, dict[str, object]] = {}
    _write(out, "hold.ulaw", hold_music(), files, source="synthesised: tools/make_prompts.py")
    with tempfile.TemporaryDirectory() as tmp:
        for lang in languages:
            for name in CLIPS[lang]:
                text = TEXTS[lang][name]
                rel = f"{lang}/{name}.ulaw"
                if speak:
                    assert espeak is not None
                    pcm = _speak(text, lang, Path(tmp), espeak, sox)
                    _write(out, rel, pcm, files, text=text, voice=VOICES[lang])
                elif name in FALLBACK_TONES:
                    _write(out, rel, FALLBACK_TONES[name](), files, text=text,
                           source="tone fallback (espeak-ng not installed)")
    manifest: dict[str, object] = {
        "generator": "python tools/make_prompts.py",
        "format": "raw G.711 mu-law, 8000 Hz, mono (.ulaw)",
        "engine": _version([espeak, "--version"]) if speak and espeak else "tones",
        "resampler": (_version([sox, "--version"]).split(":", 1)[-1].strip() if sox
                      else "acd.media.audio.resample")
        if speak else "none",
        "files": dict(sorted(files.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1)
                                       + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the ACD's default prompts.")
    parser.add_argument("--out", default=str(DEFAULT_PROMPT_DIR), help="output directory")
    parser.add_argument("--engine", choices=("auto", "espeak", "tones"), default="auto")
    args = parser.parse_args(argv)
    try:
        manifest = make_prompts(args.out, engine=args.engine)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"make_prompts: {exc}", file=sys.stderr)
        return 1
    files = manifest["files"]
    assert isinstance(files, dict)
    total = sum((Path(args.out) / rel).stat().st_size for rel in files)
    print(f"wrote {len(files)} prompts ({total / 1024:.0f} KiB) to {args.out} "
          f"with {manifest['engine']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
