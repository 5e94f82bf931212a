"""Prompt loading/validation, spoken numbers in both languages, playlist assembly."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from acd.media import (
    DEFAULT_PROMPT_DIR,
    Play,
    PromptError,
    PromptLibrary,
    Silence,
    announcement,
    ewt_words,
    load_audio,
    number_words,
    position_words,
)
from acd.media.g711 import alaw_encode, ulaw_decode, ulaw_encode
from acd.media.playlist import validate_playlist
from acd.media.speech import CLIPS

PCM = struct.pack("<8h", 0, 1000, -1000, 32767, -32768, 5, -5, 0)


def write_wav(path: Path, *, rate: int = 8000, channels: int = 1, width: int = 2,
              frames: bytes | None = None) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames if frames is not None else bytes(width * channels * 80))
    return path


# -- loader ------------------------------------------------------------------------------

def test_valid_wav_loads_as_linear(tmp_path: Path) -> None:
    assert load_audio(write_wav(tmp_path / "ok.wav", frames=PCM)) == PCM


def test_raw_ulaw_and_alaw_load(tmp_path: Path) -> None:
    (tmp_path / "a.ulaw").write_bytes(ulaw_encode(PCM))
    (tmp_path / "b.alaw").write_bytes(alaw_encode(PCM))
    assert load_audio(tmp_path / "a.ulaw") == ulaw_decode(ulaw_encode(PCM))
    assert len(load_audio(tmp_path / "b.alaw")) == len(PCM)


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"rate": 16000}, "prompt-sample-rate", "16000 Hz, need 8000 Hz"),
        ({"rate": 44100}, "prompt-sample-rate", "44100 Hz"),
        ({"channels": 2}, "prompt-channels", "2 channels, need mono"),
        ({"width": 1}, "prompt-sample-width", "8-bit samples, need 16-bit"),
        ({"width": 3}, "prompt-sample-width", "24-bit"),
        ({"frames": b""}, "prompt-empty", "no audio samples"),
    ],
)
def test_wav_errors_are_clear(tmp_path: Path, kwargs: dict[str, int], code: str,
                              words: str) -> None:
    path = write_wav(tmp_path / "bad.wav", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(PromptError) as info:
        load_audio(path)
    assert info.value.code == code
    assert words in str(info.value) and "bad.wav" in str(info.value)


def test_not_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "junk.wav"
    path.write_bytes(b"ID3\x03 this is an mp3 renamed")
    with pytest.raises(PromptError, match=r"prompt-bad-format: .*junk\.wav: not a PCM WAV"):
        load_audio(path)


def test_float_wav_rejected(tmp_path: Path) -> None:
    path = tmp_path / "float.wav"
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)  # WAVE_FORMAT_IEEE_FLOAT
    data = bytes(16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack(
        "<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(PromptError) as info:
        load_audio(path)
    assert info.value.code == "prompt-bad-format"


def test_truncated_wav(tmp_path: Path) -> None:
    full = write_wav(tmp_path / "t.wav", frames=PCM).read_bytes()
    (tmp_path / "t.wav").write_bytes(full[:-4])
    with pytest.raises(PromptError, match="prompt-bad-format"):
        load_audio(tmp_path / "t.wav")


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(PromptError) as info:
        load_audio(tmp_path / "nope.wav")
    assert info.value.code == "prompt-not-found"
    (tmp_path / "music.mp3").write_bytes(b"x")
    with pytest.raises(PromptError) as info:
        load_audio(tmp_path / "music.mp3")
    assert info.value.code == "prompt-unknown-type" and ".mp3" in str(info.value)


# -- spoken numbers -------------------------------------------------------------------------

ZH = {0: "零", 1: "一", 2: "二", 3: "三", 5: "五", 9: "九", 10: "十", 100: "百",
      1000: "千", 10000: "万"}


def zh_text(words: list[str]) -> str:
    return "".join("两" if w == "num_2_liang" else ZH[int(w[4:])] for w in words)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "零"), (1, "一"), (9, "九"), (10, "十"), (15, "十五"), (20, "二十"), (99, "九十九"),
     (100, "一百"), (105, "一百零五"), (110, "一百一十"), (1001, "一千零一"),
     (1010, "一千零一十"), (2000, "二千"), (10000, "一万"), (10010, "一万零一十"),
     (23000, "二万三千"), (100000, "十万"), (1000001, "一百万零一")],
)
def test_mandarin_numbers(n: int, text: str) -> None:
    assert zh_text(number_words(n, "zh")) == text


@pytest.mark.parametrize(("n", "text"), [(2, "两"), (2000, "两千"), (22, "二十二"),
                                         (3, "三")])
def test_mandarin_quantity_uses_liang(n: int, text: str) -> None:
    assert zh_text(number_words(n, "zh", quantity=True)) == text


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, [0]), (7, [7]), (13, [13]), (20, [20]), (42, [40, 2]), (100, [1, 100]),
     (105, [1, 100, 5]), (999, [9, 100, 90, 9]), (1234, [1, 1000, 2, 100, 30, 4]),
     (100000, [1, 100, 1000]), (2000000, [2, 1000000])],
)
def test_english_numbers(n: int, words: list[int]) -> None:
    assert number_words(n, "en") == [f"num_{w}" for w in words]


def test_number_range_and_language_errors() -> None:
    with pytest.raises(ValueError, match="supported range"):
        number_words(-1, "en")
    with pytest.raises(ValueError, match="supported range"):
        number_words(100_000_000, "zh")
    with pytest.raises(ValueError, match="unknown announcement language 'fr'"):
        number_words(1, "fr")
    with pytest.raises(ValueError, match=">= 1"):
        position_words(0, "zh")
    with pytest.raises(ValueError, match=">= 0"):
        ewt_words(-5, "en")


def test_position_and_ewt_phrases() -> None:
    assert position_words(3, "zh") == ["you_are_caller", "num_3", "caller_suffix"]
    assert position_words(2, "zh") == ["you_are_caller", "num_2", "caller_suffix"]  # 第二位
    assert position_words(21, "en") == ["you_are_caller", "num_20", "num_1"]
    assert ewt_words(59.9, "zh") == ["estimated_wait", "less_than_minute"]
    assert ewt_words(60, "en") == ["estimated_wait", "num_1", "minute"]
    assert ewt_words(61, "zh") == ["estimated_wait", "num_2_liang", "minutes"]  # 两分钟
    assert ewt_words(61, "en") == ["estimated_wait", "num_2", "minutes"]


# -- library and playlists ----------------------------------------------------------------

@pytest.fixture
def library(tmp_path: Path) -> PromptLibrary:
    """A clip per word, each a distinct length so the assembled order is checkable."""
    for lang, names in CLIPS.items():
        (tmp_path / lang).mkdir()
        for i, name in enumerate(names):
            (tmp_path / lang / f"{name}.ulaw").write_bytes(b"\x80" * (8 * (i + 1)))
    return PromptLibrary(tmp_path)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_announcement_playlist(library: PromptLibrary, language: str) -> None:
    items = announcement(library, language, position=12, ewt_seconds=150)
    validate_playlist(items)
    names = [item.prompt.name for item in items if isinstance(item, Play)]
    expected = {
        "zh": ["you_are_caller", "num_10", "num_2", "caller_suffix",
               "estimated_wait", "num_3", "minutes"],
        "en": ["you_are_caller", "num_12", "estimated_wait", "num_3", "minutes"],
    }[language]
    assert names == expected
    gaps = [item.ms for item in items if isinstance(item, Silence)]
    assert len(gaps) == len(names) - 1 and max(gaps) == 300  # one phrase gap
    lengths = {p.prompt.name: len(p.prompt.pcm) for p in items if isinstance(p, Play)}
    assert lengths["you_are_caller"] == 2 * 8 * (CLIPS[language].index("you_are_caller") + 1)


def test_missing_clip_is_a_clear_error(library: PromptLibrary) -> None:
    (library.directory / "en" / "num_12.ulaw").unlink()
    with pytest.raises(PromptError) as info:
        announcement(library, "en", position=12, ewt_seconds=None)
    assert info.value.code == "missing-clip"
    assert "en clip 'num_12'" in str(info.value) and "make_prompts" in str(info.value)
    assert library.missing_clips("en") == ["num_12"]
    # the same position in Mandarin needs other clips and still works
    assert announcement(library, "zh", position=12, ewt_seconds=None)


def test_unknown_language(library: PromptLibrary) -> None:
    with pytest.raises(PromptError, match="unknown-language"):
        library.clip("fr", "num_1")


def test_missing_greeting_and_hold_fall_back_to_tones(tmp_path: Path) -> None:
    lib = PromptLibrary(tmp_path)
    greeting = lib.prompt("greeting", "zh")
    hold = lib.prompt("hold")
    assert greeting.is_fallback and hold.is_fallback
    assert greeting.duration > 1 and hold.duration > 5
    assert len(greeting.encoded("PCMU")) % 160 == 0
    with pytest.raises(PromptError, match="missing-prompt"):
        lib.prompt("no_such_prompt", "zh")


def test_broken_file_is_not_papered_over(tmp_path: Path) -> None:
    write_wav(tmp_path / "hold.wav", rate=44100)
    with pytest.raises(PromptError, match="prompt-sample-rate"):
        PromptLibrary(tmp_path).prompt("hold")


def test_loop_must_be_last(library: PromptLibrary) -> None:
    hold = library.prompt("hold")
    with pytest.raises(ValueError, match="loops forever"):
        validate_playlist([Play(prompt=hold, loop=True), Silence(ms=10)])
    with pytest.raises(ValueError, match="not Play/Silence"):
        validate_playlist(["greeting.wav"])  # type: ignore[list-item]


def test_shipped_prompts_are_complete_and_small() -> None:
    lib = PromptLibrary(DEFAULT_PROMPT_DIR)
    for language in CLIPS:
        assert lib.missing_clips(language) == []
        assert not lib.prompt("greeting", language).is_fallback
    assert not lib.prompt("hold").is_fallback
    total = sum(p.stat().st_size for p in DEFAULT_PROMPT_DIR.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024
    assert lib.preload() == []
