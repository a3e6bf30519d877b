"""The media stage on files made by the tests: what it reads, and what it refuses."""

from __future__ import annotations

import pytest

from bot.media.errors import MediaTooLarge, MediaUnreadable, MediaUnsupported
from bot.media.images import hamming
from bot.media.probe import sniff
from bot.media.stage import MediaStage
from tests.media import samples

KEY_WORDS = {"en": ["water", "Monday"], "sw": ["maji", "Jumatatu"], "es": ["agua", "lunes"],
             "id": ["air", "Senin"], "hi": ["पानी", "सोमवार"], "ar": ["المياه", "الاثنين"]}


@pytest.mark.parametrize("language", sorted(samples.NOTICES))
def test_notice_is_read_in_its_script(stage: MediaStage, notices: dict[str, bytes],
                                      language: str) -> None:
    reading = stage.read_now(notices[language], language)
    assert reading.kind == "image"
    for word in KEY_WORDS[language]:
        assert word in reading.ocr_text


@pytest.mark.parametrize("language", ["hi", "ar"])
def test_script_is_detected_when_the_resident_speaks_another_language(
        stage: MediaStage, notices: dict[str, bytes], language: str) -> None:
    reading = stage.read_now(notices[language], "en")
    assert reading.ocr_packs == {"hi": "hin", "ar": "ara"}[language]
    assert KEY_WORDS[language][0] in reading.ocr_text


def test_a_re_forward_is_close_and_another_notice_is_far(stage: MediaStage) -> None:
    original = samples.notice("en", seed=0)
    copy = samples.degraded(original, scale=0.5, quality=40)
    other = samples.notice("en", "Free food parcels at the stadium on Friday for every family",
                           seed=0)
    first, again, different = (stage.read_now(d, "en").phashes[0]
                               for d in (samples.jpeg(original), copy, samples.jpeg(other)))
    cut = stage.settings.media_phash_max_distance
    assert hamming(first, again) <= cut < hamming(first, different)


def test_voice_note_is_transcribed_in_the_forced_language(
        stage: MediaStage, voice_notes: dict[str, bytes]) -> None:
    reading = stage.read_now(voice_notes["en"], "en")
    assert reading.kind == "audio" and reading.mime_type == "audio/ogg"
    assert "water" in reading.transcript.lower()
    assert len(reading.sha256) == 64 and reading.duration and reading.duration < 10


def test_video_gives_keyframe_hashes_burned_in_text_and_speech(
        stage: MediaStage, notice_video: bytes) -> None:
    reading = stage.read_now(notice_video, "en")
    assert reading.kind == "video" and reading.phashes
    assert "water" in reading.ocr_text and "water" in reading.transcript.lower()


def test_video_without_sound_still_gives_its_text(stage: MediaStage,
                                                  silent_video: bytes) -> None:
    reading = stage.read_now(silent_video, "en")
    assert reading.transcript == "" and "water" in reading.ocr_text
    assert reading.extra["has_audio"] is False


def test_bad_files_are_refused_cleanly(stage: MediaStage, notices: dict[str, bytes]) -> None:
    with pytest.raises(MediaUnreadable):
        stage.read_now(b"", "en")
    with pytest.raises(MediaUnreadable):
        stage.read_now(notices["en"][: len(notices["en"]) // 3], "en")  # truncated JPEG
    with pytest.raises(MediaTooLarge):
        stage.read_now(samples.png_bomb(), "en")
    with pytest.raises(MediaUnsupported):
        stage.read_now(b"%PDF-1.7\n" + b"0" * 100, "en")  # a "photo.jpg" that is a PDF


def test_three_hour_audio_is_refused_before_decoding(stage: MediaStage,
                                                     three_hours: bytes) -> None:
    assert len(three_hours) < stage.settings.media_max_audio_bytes  # refused for its length
    with pytest.raises(MediaTooLarge):
        stage.read_now(three_hours, "en")


def test_the_bytes_decide_the_kind_not_the_name() -> None:
    assert sniff(samples.png(samples.notice("en"))[:64]).mime_type == "image/png"
    assert sniff(b"OggS\x00\x02" + b"\x00" * 30).kind == "audio"
    with pytest.raises(MediaUnsupported):
        sniff(b"PK\x03\x04 a zip called voice.ogg")
