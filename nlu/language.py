"""Which language a resident wrote in.

Script decides first (Devanagari is Hindi, Arabic script is Arabic, within the languages we
serve). Latin-script text goes to lingua, restricted to the languages a tipline here meets,
after one check lingua cannot do: romanised Hindi ("mujhe hindi mein batao"), recognised by
a word list drawn from the Latin-script lines of the Hindi training data.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from nlu.training_data import NLU_DIR, load_examples

DETECTABLE = (
    Language.ENGLISH,
    Language.SWAHILI,
    Language.HINDI,
    Language.ARABIC,
    Language.SPANISH,
    Language.INDONESIAN,
    Language.FRENCH,
    Language.PORTUGUESE,
)
MAX_CHARS = 600  # a chain message's first lines say enough; keeps 10k-char pastes fast
MIN_RELATIVE_DISTANCE = 0.05
SHORT_TEXT_WORDS = 2  # up to this many words, lingua's guesses are noise
_WORD = re.compile(r"[^\W\d_]+")
_MARKUP = re.compile(r"<[^>]{0,200}>|https?://\S+|www\.\S+")

# Function words that mark romanised Hindi even when the training data lacks them.
_HINGLISH_CORE = frozenset(
    "hai hain kya nahi nahin mujhe mera meri mere aap aapka tum hum ko ki ka ke se mein "
    "bhi kaise kyun kab yeh ye woh wo kar karo karna karein raha rahi rahe tha thi sach "
    "jhooth jhoot bataiye batao bhejo band dhanyavaad dhanyawad shukriya namaste bahut".split()
)


def _letters_by_script(text: str) -> dict[str, int]:
    counts = {"deva": 0, "arab": 0, "latn": 0, "other": 0}
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        if name.startswith("DEVANAGARI"):
            counts["deva"] += 1
        elif name.startswith("ARABIC"):
            counts["arab"] += 1
        elif name.startswith("LATIN"):
            counts["latn"] += 1
        else:
            counts["other"] += 1
    return counts


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(*DETECTABLE)
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .with_preloaded_language_models()
        .build()
    )


@lru_cache(maxsize=1)
def _training_vocabulary() -> dict[str, frozenset[str]]:
    """Each lower-cased word of the training data and the languages whose lines use it."""
    vocabulary: dict[str, set[str]] = {}
    for example in load_examples(NLU_DIR):
        for word in _WORD.findall(example.text):
            vocabulary.setdefault(word.lower(), set()).add(example.language)
    return {word: frozenset(languages) for word, languages in vocabulary.items()}


@lru_cache(maxsize=1)
def hinglish_words() -> frozenset[str]:
    """Latin-script words of the Hindi training lines and common Hinglish function words,
    minus any word another language's lines use ("se" is Spanish too, "ke" Indonesian)."""
    vocabulary = _training_vocabulary()
    candidates = {w for w, langs in vocabulary.items() if "hi" in langs and w.isascii()}
    candidates |= _HINGLISH_CORE
    return frozenset(w for w in candidates if vocabulary.get(w, frozenset()) <= {"hi"})


def _looks_like_romanised_hindi(words: list[str]) -> bool:
    hits = sum(1 for w in words if w in hinglish_words())
    return hits >= 1 and hits / len(words) >= 0.34


def _short_text_language(words: list[str]) -> str | None:
    """For a few words, where statistical detectors guess: the one language whose training
    lines use them ("habari" is Swahili, "gracias" Spanish), or None when they disagree."""
    votes: set[str] = set()
    for word in words:
        languages = _training_vocabulary().get(word, frozenset())
        if len(languages) == 1:
            votes |= languages
    return votes.pop() if len(votes) == 1 else None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`'s language, or None when unsure (too short, mixed, emoji)."""
    try:
        return _detect(_MARKUP.sub(" ", text[:MAX_CHARS]))
    except Exception:  # noqa: BLE001 - detection is a hint and must never break a parse
        return None


def _detect(text: str) -> str | None:
    scripts = _letters_by_script(text)
    total = sum(scripts.values())
    if total < 2:
        return None
    if scripts["deva"] / total >= 0.5:
        return "hi"
    if scripts["arab"] / total >= 0.5:
        return "ar"
    if scripts["latn"] / total < 0.5:
        return None
    words = [w.lower() for w in _WORD.findall(text)]
    if _looks_like_romanised_hindi(words):
        return "hi"
    if len(words) <= SHORT_TEXT_WORDS:
        return _short_text_language(words)
    found = _detector().detect_language_of(text)
    if found is None or found.iso_code_639_1 is None:
        return None
    return found.iso_code_639_1.name.lower()


def warm_up() -> None:
    """Load lingua's models and the word list now, not on a resident's first message."""
    _detector()
    hinglish_words()
    _training_vocabulary()
