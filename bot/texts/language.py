"""Which language a resident is answered in, remembered on their record.

An explicit choice (/language, a language button) always wins and is never overridden. Without
one, the first confident detection of what they wrote sets it; before that, the platform's hint
or a short first message's language ("sawa" alone)
(Telegram's `language_code`, the browser's Accept-Language), and weakest of all a WhatsApp
number's country code: any detection replaces that prior, even a forward's (a Kenyan number
forwarding English is answered in English). A detected language is sticky: it changes only
after `SWITCH_AFTER` confident messages in a row in another language, so a Swahili resident
forwarding one English chain message is still answered in Swahili.
"""

from __future__ import annotations

from enum import StrEnum

from bot.texts.catalogue import languages
from domain.models import Resident

SWITCH_AFTER = 3
CONFIDENT_WORDS = 3  # shorter texts ("ok", "asante") say too little to move a stored language

# Country calling codes where a tipline's residents mostly write one of our languages. A weak
# prior only: detection of what they write replaces it at once.
_COUNTRY_LANGUAGE = {
    "sw": ("254", "255", "256", "257", "243"),
    "hi": ("91",),
    "id": ("62",),
    "ar": (
        "20",
        "211",
        "212",
        "213",
        "216",
        "218",
        "249",
        "961",
        "962",
        "963",
        "964",
        "965",
        "966",
        "967",
        "968",
        "970",
        "971",
        "973",
        "974",
    ),
    "es": (
        "34",
        "51",
        "52",
        "53",
        "54",
        "56",
        "57",
        "58",
        "502",
        "503",
        "504",
        "505",
        "506",
        "507",
        "591",
        "593",
        "595",
        "598",
    ),
}


class Source(StrEnum):
    EXPLICIT = "explicit"
    DETECTED = "detected"
    HINT = "hint"  # the platform's language setting
    PRIOR = "prior"  # a WhatsApp number's country code


def country_prior(phone: str) -> str | None:
    """The language a WhatsApp number's country code suggests ("2547..." -> "sw"), if any."""
    digits = phone.lstrip("+")
    best: tuple[int, str] | None = None
    for language, codes in _COUNTRY_LANGUAGE.items():
        for code in codes:
            if digits.startswith(code) and (best is None or len(code) > best[0]):
                best = (len(code), language)
    return best[1] if best else None


def choose(resident: Resident, code: str) -> None:
    """The resident chose `code`: it wins from now on."""
    resident.language, resident.language_source = code, Source.EXPLICIT.value
    resident.language_pending, resident.language_pending_count = None, 0


def observe(
    resident: Resident,
    detected: str | None,
    words: int,
    hint: str | None,
    forwarded: bool = False,
    prior: str | None = None,
) -> str | None:
    """Update the stored language from one message; return it (None when still unknown).

    `detected` is this text's language (None when unsure), `words` its length, `hint` what the
    platform says (already resolved to a catalogue language, or None), `prior` the country
    code's language. A forward is written by someone else: its language counts only when
    nothing but the country prior is known about the resident.
    """
    detected = served(detected)
    source = resident.language_source
    known = resident.language is not None and source != Source.PRIOR.value
    if forwarded and (hint is not None or known):
        detected = None
    confident = detected is not None and words >= CONFIDENT_WORDS
    if source == Source.EXPLICIT.value and resident.language:
        return resident.language
    if resident.language is None or source in (None, Source.HINT.value, Source.PRIOR.value):
        weak = resident.language is None or source == Source.PRIOR.value
        if detected is not None and confident:
            _set(resident, detected, Source.DETECTED)
        elif detected is not None and weak:
            # "sawa" or "ok" alone says little: answer in it, but as a hint that the first
            # confident message replaces at once, not as a sticky detection
            _set(resident, detected, Source.HINT)
        elif resident.language is None and hint is not None:
            _set(resident, hint, Source.HINT)
        elif resident.language is None and prior is not None:
            _set(resident, prior, Source.PRIOR)
        return resident.language
    if not confident or detected is None or detected == resident.language:
        if confident:
            resident.language_pending, resident.language_pending_count = None, 0
        return resident.language
    if detected == resident.language_pending:
        resident.language_pending_count = (resident.language_pending_count or 0) + 1
    else:
        resident.language_pending, resident.language_pending_count = detected, 1
    if resident.language_pending_count >= SWITCH_AFTER:
        _set(resident, detected, Source.DETECTED)
    return resident.language


def served(code: str | None) -> str | None:
    """`code` as a language we answer in ("sw-KE" -> "sw"), or None."""
    if not code:
        return None
    base = code.strip().split("-")[0].split("_")[0].lower()
    return base if base in languages() else None


def _set(resident: Resident, code: str, source: Source) -> None:
    resident.language, resident.language_source = code, source.value
    resident.language_pending, resident.language_pending_count = None, 0


def platform_prior(channel: str, sender: str) -> str | None:
    """A WhatsApp number's country prior as a catalogue language (other channels: None)."""
    return country_prior(sender) if channel.partition("-")[0] == "whatsapp" else None


def from_accept_language(header: str | None) -> str | None:
    """The first language we serve in a browser's Accept-Language ("sw-KE,sw;q=0.9,en;q=0.8").

    Entries are taken by their q weight (default 1), ties in the order given; malformed ones are
    skipped. None when the header names none of our languages."""
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate((header or "")[:500].split(",")):
        tag, _, params = entry.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            ranked.append((-weight, position, tag))
    for _, _, tag in sorted(ranked):
        found = served(tag)
        if found is not None:
            return found
    return None
