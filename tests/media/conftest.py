"""Media made once per test session (rendering, speech synthesis and encoding cost seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.media.stage import MediaStage
from domain.settings import Settings
from tests.media import samples


@pytest.fixture(scope="session")
def notices() -> dict[str, bytes]:
    """Each language's notice, degraded as a forwarded photo (Swahili and Arabic as screenshots
    with a status bar)."""
    return {lang: samples.degraded(samples.notice(lang), screenshot=lang in ("sw", "ar"))
            for lang in samples.NOTICES}


@pytest.fixture(scope="session")
def voice_notes() -> dict[str, bytes]:
    return {lang: samples.voice_note(text, lang) for lang, text in samples.VOICE_NOTES.items()}


@pytest.fixture(scope="session")
def notice_video(voice_notes: dict[str, bytes]) -> bytes:
    return samples.video(samples.notice("en", seed=3), voice_notes["en"], seconds=5)


@pytest.fixture(scope="session")
def silent_video() -> bytes:
    return samples.video(samples.notice("en", seed=5), None, seconds=2)


@pytest.fixture(scope="session")
def three_hours() -> bytes:
    return samples.long_silence_mp3(3 * 3600)


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One media directory for the run: the speech model is assembled into it once."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def stage(media_root: Path, whisper_model: Path) -> MediaStage:
    """One stage (and one loaded speech model) for the run."""
    return MediaStage(Settings(_env_file=None, media_dir=str(media_root),  # type: ignore[call-arg]
                               whisper_model_dir=str(whisper_model)))
