"""A published answer's card and forward-ready text link to the bot with the answer's share
code (never the sharer's), on Telegram and on WhatsApp."""

from __future__ import annotations

from dataclasses import replace

from bot.sharing.codes import answer_of, share_code
from bot.sharing.content import card_content, share_text
from domain.settings import Settings
from tests.bot.sharing.test_cards import settings, source


def test_the_card_and_its_text_carry_the_answers_share_code() -> None:
    shared = replace(source("en"), answer_id=42)
    assert share_text(settings(), shared).endswith("t.me/NairobiFactsBot?start=a42")
    assert "t.me/NairobiFactsBot?start=a42" in card_content(settings(), shared).footer
    # a source that names no answer (a sample card) links to the bot alone
    assert share_text(settings(), source("en")).endswith("https://t.me/NairobiFactsBot")


def test_whatsapp_prefills_the_start_command_with_the_code() -> None:
    whatsapp = Settings(_env_file=None, whatsapp_number="+254 700 123456")  # type: ignore[call-arg]
    text = share_text(whatsapp, replace(source("sw"), answer_id=7))
    assert text.endswith("https://wa.me/254700123456?text=%2Fstart%20a7")


def test_share_codes_name_answers_and_nothing_else() -> None:
    assert share_code(42) == "a42" and answer_of("a42") == 42
    for other in ("jAbCdEf123", "a0", "a", "a12x", "42", "a1234567890123", ""):
        assert answer_of(other) is None
