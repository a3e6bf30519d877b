"""Publishing back: our published answers as ClaimReview JSON-LD, and as RSS / Atom feeds.

Only answers the city's team published (`answers` rows) go out; fact-checks we imported from
others are theirs to publish. `lang` picks a translation when there is one; with a language
filter, answers without that language are left out.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET  # noqa: S405 - we only build XML, never parse it
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select

from domain.db import Database
from domain.models import Answer, ItemStatus, KnowledgeItem, utcnow
from domain.settings import Settings
from domain.text import http_url
from factcheck_connectors.schema import RATING_NAME, claim_review_for

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_LIMIT = 200


@dataclass(frozen=True)
class Published:
    answer_id: int
    item: KnowledgeItem
    published_at: datetime
    claim: str
    explanation: str
    language: str


def _localised(answer: Answer, item: KnowledgeItem, lang: str | None) -> Published | None:
    if lang and lang != item.language and lang not in (item.translations or {}):
        return None
    language = lang or item.language
    claim, explanation = item.text_in(language)
    return Published(
        answer.id,
        item,
        item.published_at or answer.published_at or item.updated_at,
        claim,
        explanation,
        language,
    )


async def published(
    db: Database,
    topic: str | None = None,
    lang: str | None = None,
    limit: int | None = FEED_LIMIT,
    answer_id: int | None = None,
) -> list[Published]:
    """Published answers whose item is active, newest first."""
    query = (
        select(Answer, KnowledgeItem)
        .join(KnowledgeItem, KnowledgeItem.id == Answer.knowledge_item_id)
        .where(Answer.published_at.is_not(None), KnowledgeItem.status == ItemStatus.ACTIVE)
        .order_by(Answer.published_at.desc(), Answer.id.desc())
    )
    if topic:
        query = query.where(KnowledgeItem.topic == topic)
    if answer_id is not None:
        query = query.where(Answer.id == answer_id)
    if limit:
        query = query.limit(limit)
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    return [p for answer, item in rows if (p := _localised(answer, item, lang)) is not None]


def page_url(settings: Settings, answer_id: int) -> str:
    return f"{settings.public_url.rstrip('/')}/claims/{answer_id}"


def claim_review(settings: Settings, entry: Published) -> dict[str, Any]:
    item = entry.item
    shown = KnowledgeItem(
        claim=entry.claim,
        explanation=entry.explanation,
        verdict=item.verdict,
        language=entry.language,
        source_url=item.source_url,
        topic=item.topic,
        published_at=entry.published_at,
    )
    return claim_review_for(
        shown,
        page_url(settings, entry.answer_id),
        settings.publisher_name,
        settings.public_url,
        entry.answer_id,
    )


def json_ld(data: Any) -> str:
    """JSON safe inside <script>: no "</" can close the element early."""
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


def claim_page(settings: Settings, entry: Published) -> str:
    review = claim_review(settings, entry)
    verdict = RATING_NAME.get(entry.item.verdict, entry.item.verdict)  # type: ignore[call-overload]
    link = http_url(entry.item.source_url)  # stored items are checked; this page checks again
    source = (
        f'<p><a href="{html.escape(link)}" rel="noopener noreferrer nofollow">Source</a></p>'
        if link
        else ""
    )
    return (
        f'<!doctype html><html lang="{html.escape(entry.language)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(entry.claim[:120])}</title>"
        f'<script type="application/ld+json">{json_ld(review)}</script></head><body>'
        f"<h1>{html.escape(entry.claim)}</h1><p><strong>{html.escape(verdict)}</strong></p>"
        f"<p>{html.escape(entry.explanation)}</p>{source}"
        f"<p>{html.escape(settings.publisher_name)}, "
        f"{entry.published_at.date().isoformat()}</p>{_share_links(entry)}</body></html>"
    )


def _share_links(entry: Published) -> str:
    """Links to the share card (post and story sizes) and its forward-ready text."""
    base = f"/claims/{entry.answer_id}"
    lang = html.escape(entry.language)
    return (
        f'<p>Share: <a href="{base}/card.png?lang={lang}" download>card</a> · '
        f'<a href="{base}/card.png?lang={lang}&amp;format=story" download>story</a> · '
        f'<a href="{base}/share.txt?lang={lang}">text</a></p>'
    )


def _title(entry: Published) -> str:
    verdict = RATING_NAME.get(entry.item.verdict, entry.item.verdict)  # type: ignore[call-overload]
    return f"{verdict}: {entry.claim}"[:300]


def rss(settings: Settings, entries: list[Published], self_url: str) -> str:
    root = ET.Element("rss", version="2.0", attrib={"xmlns:atom": ATOM_NS})
    channel = ET.SubElement(root, "channel")
    _text(channel, "title", f"{settings.publisher_name}: verified updates")
    _text(channel, "link", settings.public_url)
    _text(
        channel,
        "description",
        "Answers the city's team published to rumours residents asked about.",
    )
    ET.SubElement(channel, "atom:link", href=self_url, rel="self", type="application/rss+xml")
    _text(
        channel, "lastBuildDate", format_datetime(entries[0].published_at if entries else utcnow())
    )
    for entry in entries:
        node = ET.SubElement(channel, "item")
        link = page_url(settings, entry.answer_id)
        _text(node, "title", _title(entry))
        _text(node, "link", link)
        ET.SubElement(node, "guid", isPermaLink="true").text = link
        _text(node, "description", entry.explanation)
        _text(node, "pubDate", format_datetime(entry.published_at))
        if entry.item.topic:
            _text(node, "category", entry.item.topic)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def atom(settings: Settings, entries: list[Published], self_url: str) -> str:
    root = ET.Element("feed", xmlns=ATOM_NS)
    _text(root, "title", f"{settings.publisher_name}: verified updates")
    _text(root, "id", self_url)
    ET.SubElement(root, "link", href=self_url, rel="self")
    ET.SubElement(root, "link", href=settings.public_url, rel="alternate")
    _text(root, "updated", (entries[0].published_at if entries else utcnow()).isoformat())
    author = ET.SubElement(root, "author")
    _text(author, "name", settings.publisher_name)
    for entry in entries:
        node = ET.SubElement(root, "entry")
        link = page_url(settings, entry.answer_id)
        _text(node, "title", _title(entry))
        _text(node, "id", link)
        ET.SubElement(node, "link", href=link, rel="alternate")
        _text(node, "updated", entry.published_at.isoformat())
        _text(node, "published", entry.published_at.isoformat())
        ET.SubElement(node, "summary", type="text").text = entry.explanation
        if entry.item.topic:
            ET.SubElement(node, "category", term=entry.item.topic)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value
