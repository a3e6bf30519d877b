"""Voice notes and audio: Whisper (faster-whisper on CTranslate2) on the CPU, in the
resident's language when we know it.

The model is loaded once per process and used by one transcription at a time; int8 weights
and greedy decoding keep a 60-second note well inside a minute on two cores.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.media.errors import MediaTooLarge, MediaUnreadable
from bot.media.ffmpeg import ffmpeg, probe

SAMPLE_RATE = 16_000
WHISPER_LANGUAGES = {"en", "sw", "hi", "ar", "es", "id"}
MIN_SPEECH_PROBABILITY = 0.5  # segments Whisper thinks are not speech are dropped


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str | None
    seconds: float  # length of the audio


class Transcriber:
    """One Whisper model, loaded on first use."""

    def __init__(self, model_dir: Path, compute_type: str = "int8", threads: int = 2) -> None:
        self.model_dir, self.compute_type, self.threads = model_dir, compute_type, threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel  # heavy import: only when needed

                self._model = WhisperModel(str(self.model_dir), device="cpu",
                                           compute_type=self.compute_type,
                                           cpu_threads=self.threads, local_files_only=True)
            return self._model

    def transcribe(self, samples: np.ndarray, language: str | None) -> str:
        model = self._loaded()
        forced = language if language in WHISPER_LANGUAGES else None
        with self._lock:  # one transcription at a time per process
            segments, _info = model.transcribe(
                samples, language=forced, beam_size=1, best_of=1, temperature=0.0,
                condition_on_previous_text=False, vad_filter=True)  # Silero VAD ships in the wheel
            texts = [s.text.strip() for s in segments if s.no_speech_prob < MIN_SPEECH_PROBABILITY]
        return " ".join(t for t in texts if t)


def decode(path: Path, max_seconds: float) -> tuple[np.ndarray, float]:
    """16 kHz mono float samples of `path`'s first audio stream, refusing over-long files."""
    info = probe(path)
    if not info.has_audio:
        raise MediaUnreadable("no audio stream")
    if info.duration > max_seconds:
        raise MediaTooLarge(f"{info.duration:.0f} s of audio")
    raw = ffmpeg(["-i", str(path), "-map", "0:a:0", "-t", str(max_seconds), "-ac", "1",
                  "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"])
    samples = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
    if samples.size < SAMPLE_RATE // 4:
        raise MediaUnreadable("shorter than a quarter of a second")
    return samples, samples.size / SAMPLE_RATE


def transcribe_file(transcriber: Transcriber, path: Path, language: str | None,
                    max_seconds: float) -> Transcript:
    samples, seconds = decode(path, max_seconds)
    return Transcript(transcriber.transcribe(samples, language), language, seconds)
