"""Language-aware tokenisation for the lexical signals.

Words are Unicode ``\\w`` runs of already-normalised text, the language's stop words are
dropped and the rest is Snowball-stemmed (PyStemmer) in the message's language when it is
known, English otherwise.
Scripts written without spaces (CJK, Thai, Lao, Khmer, Myanmar) become overlapping character
bigrams, the usual trick for indexing them without a segmenter.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
import stopwordsiso

__all__ = ["NEGATIONS", "char_ngrams", "content_words", "stop_words", "tokenise"]

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_NO_SPACE_RE = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff]"
)

_ISO_TO_SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}

# English keeps our own short list (function words plus tweet debris); other languages take
# stopwords-iso's list for that language. Negations are never stop words: "vaccines do not cause
# autism" and "vaccines cause autism" are different claims. Numbers are kept too (\w runs of
# digits), since they tell claims apart ("5,000 shillings", "two weeks").
_ENGLISH_STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being
    am do does did doing have has had having it its this that these those there here i me my we
    our you your he him his she her they them their what which who whom whose when where why how
    all any both each few more most other some such only own same so than too very can
    will just should would could may might must shall into over under again further then once
    about above below up down out off through during before after between because until while
    also get got im its rt via amp http https www com co t html""".split()
)
NEGATIONS = frozenset(
    """no not nor never none nothing cannot dont doesnt didnt isnt arent wasnt wont
    nunca ni nada ninguno tampoco tidak tak bukan belum jangan hapana siyo sio si haku
    hakuna nahi nahin mat न नहीं नही मत لا لم لن ليس ليست ما غير""".split()
)


@lru_cache(maxsize=64)
def stop_words(lang: str | None) -> frozenset[str]:
    """The stop words of ``lang`` (an ISO 639-1 code; English when unknown or None)."""
    code = (lang or "en").split("-")[0].lower()
    if code == "en" or not stopwordsiso.has_lang(code):
        return _ENGLISH_STOP
    words = {w.casefold() for w in stopwordsiso.stopwords(code)}
    return frozenset(w for w in words if w not in NEGATIONS and not w.isdigit())


@lru_cache(maxsize=64)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_ISO_TO_SNOWBALL.get(lang, "english"))


def _bigrams(word: str) -> list[str]:
    if len(word) < 2:
        return [word]
    return [word[i : i + 2] for i in range(len(word) - 1)]


def content_words(normalised: str, lang: str | None = None) -> list[str]:
    """Word tokens without stop words and without stemming (for overlap features)."""
    stop = stop_words(lang)
    return [
        w
        for w in _WORD_RE.findall(normalised)
        if w not in stop and (len(w) >= 3 if w.isdigit() else len(w) > 1)
    ]


def tokenise(normalised: str, lang: str | None = None) -> list[str]:
    """Index terms of already-normalised text (see :func:`matching.normalise.normalise_text`)."""
    words: list[str] = []
    spaced: list[str] = []
    stop = stop_words(lang)
    for w in _WORD_RE.findall(normalised):
        if _NO_SPACE_RE.search(w):
            words.extend(_bigrams(w))
        elif w not in stop and (len(w) > 1 or w.isdigit()):
            spaced.append(w)
    words.extend(_stemmer((lang or "en").split("-")[0].lower()).stemWords(spaced))
    return words


def char_ngrams(normalised: str, n: int = 4, lang: str | None = None) -> list[str]:
    """Character n-grams inside words, padded with spaces, for typo-tolerant matching."""
    grams: list[str] = []
    stop = stop_words(lang)
    for w in _WORD_RE.findall(normalised):
        if w in stop:
            continue
        padded = f" {w} "
        if len(padded) <= n:
            grams.append(padded)
        else:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams
