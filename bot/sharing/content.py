"""What a share card says, in one language, and its forward-ready text version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from bot.sharing.cards import CardContent
from bot.sharing.codes import share_code
from bot.texts.catalogue import RTL_LANGUAGES, resolve_language, text
from domain.models import KnowledgeItem
from domain.settings import Settings

# Longest message each platform accepts: Telegram and WhatsApp text 4096, an image caption 1024.
TEXT_LIMITS = {"telegram": 4096, "whatsapp": 4096, "webchat": 4000, "caption": 1024}
TEXT_SYMBOLS = {
    "false": "❌",
    "misleading": "⚠️",
    "missing_context": "⚠️",
    "true": "✅",
    "unverified": "⏳",
}


@dataclass(frozen=True)
class ShareSource:
    """One published answer in one language (what `feeds.Published` carries)."""

    verdict: str
    claim: str
    explanation: str
    source_url: str | None
    publisher: str | None
    published_at: datetime | None
    language: str
    answer_id: int | None = None  # its links then carry the answer's share code


def share_source(item: KnowledgeItem, language: str, answer_id: int | None = None) -> ShareSource:
    claim, explanation = item.text_in(language)
    return ShareSource(
        item.verdict,
        claim,
        explanation,
        item.source_url,
        item.publisher,
        item.published_at,
        language,
        answer_id,
    )


def card_languages(item: KnowledgeItem) -> list[str]:
    """The item's own language and each it has a translation in."""
    codes = [item.language, *sorted((item.translations or {}).keys())]
    return list(dict.fromkeys(resolve_language(code, item.language) for code in codes))


def bot_link(settings: Settings, code: str | None = None) -> str:
    """Where a resident reaches the bot: Telegram, else WhatsApp, else the web chat."""
    if settings.telegram_bot_username:
        base = f"https://t.me/{settings.telegram_bot_username.lstrip('@')}"
        return f"{base}?start={quote(code)}" if code else base
    if settings.whatsapp_number:
        base = f"https://wa.me/{''.join(c for c in settings.whatsapp_number if c.isdigit())}"
        return f"{base}?text={quote('/start ' + code, safe='')}" if code else base
    return f"{settings.public_url.rstrip('/')}/chat"


def _display(link: str) -> str:
    return link.removeprefix("https://").removeprefix("http://")


def city_name(settings: Settings) -> str:
    return settings.city_name or settings.publisher_name


def _date(source: ShareSource) -> str:
    return source.published_at.date().isoformat() if source.published_at else "—"


def _code(source: ShareSource, code: str | None) -> str | None:
    if code is None and source.answer_id is not None:
        return share_code(source.answer_id)
    return code


def card_content(settings: Settings, source: ShareSource, code: str | None = None) -> CardContent:
    code = _code(source, code)
    language = resolve_language(source.language)
    host = urlsplit(source.source_url).hostname if source.source_url else None
    who = " · ".join(part for part in (source.publisher, host) if part) or city_name(settings)
    return CardContent(
        verdict=source.verdict,
        verdict_label=text(f"verdict.{source.verdict}", language),
        claim=source.claim,
        explanation=source.explanation,
        source_line=text("card.source", language, source=who, date=_date(source)),
        city_name=city_name(settings),
        footer=text("card.footer", language, link=_display(bot_link(settings, code))),
        rtl=language in RTL_LANGUAGES,
        logo_path=settings.city_logo,
    )


def share_text(
    settings: Settings,
    source: ShareSource,
    limit: int = TEXT_LIMITS["caption"],
    code: str | None = None,
) -> str:
    """The card as a message to forward: no longer than `limit`, ending with the bot's link
    (with the answer's share code when the source names its answer)."""
    code = _code(source, code)
    language = resolve_language(source.language)
    symbol = TEXT_SYMBOLS.get(source.verdict, "")
    who = source.publisher or city_name(settings)
    if source.source_url:
        who = f"{who} – {source.source_url}"
    tail = "\n\n".join(
        (
            text("card.source", language, source=who, date=_date(source)),
            text("card.footer", language, link=bot_link(settings, code)),
        )
    )
    head = f"{symbol} {text(f'verdict.{source.verdict}', language)}: ".lstrip()
    claim, explanation = " ".join(source.claim.split()), source.explanation.strip()
    room = limit - len(head) - len(tail) - 4  # the two paragraph breaks
    if room < 20:  # a source link too long to keep: the card's short form instead
        tail = text("card.footer", language, link=bot_link(settings, code))
        room = limit - len(head) - len(tail) - 4
    claim = _cut(claim, max(room // 2, room - len(explanation)))
    explanation = _cut(explanation, room - len(claim))
    body = f"{head}{claim}\n\n{explanation}" if explanation else f"{head}{claim}"
    return f"{body}\n\n{tail}"


def _cut(value: str, limit: int) -> str:
    if limit <= 0:
        return ""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "…"
