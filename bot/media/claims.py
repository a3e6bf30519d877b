"""What the claim desk does with a file's reading: the text it matches on, the request's media
record for staff, and the answer by hash (a copy of a known image or voice note) before any
text matching."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.media.phash_index import index_for
from bot.media.stage import MediaReading
from domain.db import Database
from domain.media import find_known, remember
from domain.messages import InboundMessage
from domain.models import Cluster, Request
from domain.settings import Settings

if TYPE_CHECKING:
    from bot.conversation.claims import ClaimDesk
    from bot.conversation.indexes import KnowledgeIndex
    from bot.texts.turn import Turn
    from matching import Decision

NOTHING_READ = "({kind}: no words could be read)"
MIN_BODY_WORDS = 3


async def near(db: Database, session: AsyncSession, settings: Settings,
               reading: MediaReading) -> list[int]:
    """The stored item and cluster pHashes close enough to be compared with this file's."""
    if not reading.phashes:
        return []
    cut = max(settings.media_phash_max_distance, settings.media_phash_max_distance_without_words)
    return (await index_for(db, session)).near(reading.phashes, cut)


def claim_text(message: InboundMessage, reading: MediaReading | None) -> str:
    """The caption (or text) followed by what was read from the file."""
    parts = [message.text.strip()]
    if reading is not None:
        parts.append(reading.machine_text.strip())
    return "\n".join(p for p in parts if p)


async def best_decision(knowledge: KnowledgeIndex, message: InboundMessage,
                        reading: MediaReading | None, text: str, language: str) -> Decision:
    """The most confident decision for the whole text, the caption alone or the file's words
    alone: a caption can be a resident's own comment on a forwarded notice, or the reverse."""
    decision = await knowledge.decide(text, language)
    if reading is None:
        return decision
    limit = max(len(text), 1)
    for part in (message.text.strip(), reading.machine_text.strip(), _body(reading.ocr_text)):
        if part and part != text:
            other = await knowledge.decide(part[:limit], language)
            if other.confidence > decision.confidence:
                decision = other
    return decision


def _body(ocr_text: str) -> str:
    """OCR text without its short lines (a notice's heading, a status bar's clock), which
    can hide an exact match of the body."""
    return " ".join(line for line in ocr_text.splitlines() if len(line.split()) >= MIN_BODY_WORDS)


def media_records(message: InboundMessage, reading: MediaReading | None) -> list[dict[str, Any]]:
    """The request's `media` column: references, plus what the machine read (for staff)."""
    records: list[dict[str, Any]] = [{"kind": m.kind, "ref": m.ref} for m in message.media]
    if reading is not None and records:
        records[0].update({
            "type": reading.kind, "mime_type": reading.mime_type, "file": reading.stored_as,
            "ocr_text": reading.ocr_text, "transcript": reading.transcript,
            "machine_read": True, "duration": reading.duration, "sha256": reading.sha256,
        })
    return records


async def answer_by_media(desk: ClaimDesk, turn: Turn, request: Request,
                          reading: MediaReading) -> bool:
    """Answer (a known item) or queue (a known open cluster, or nothing readable) by the file
    alone; False when the text should decide."""
    settings = desk.services.settings
    known = await find_known(turn.session, reading.sha256, reading.phashes,
                             settings.media_phash_max_distance, reading.ocr_text,
                             settings.media_phash_max_distance_without_words,
                             near_ids=await near(desk.services.db, turn.session, settings,
                                                      reading))
    await remember(turn.session, reading.sha256, reading.phashes, request_id=request.id,
                   text=reading.ocr_text)
    if known is not None and known.item_id is not None:
        items = await desk.services.knowledge.active_items(turn.session, [known.item_id])
        if items:
            request.confidence = 1.0
            await desk._answer(turn, request, items[0])
            return True
    if known is not None and known.cluster_id is not None:
        cluster = await turn.session.get(Cluster, known.cluster_id)
        await desk.queue(turn, request, cluster=cluster)
        return True
    if reading.extra.get("passed_to_team"):
        await desk.queue(turn, request, reply_key="media_passed_to_team")
        return True
    if not request.text.strip():
        request.text = NOTHING_READ.format(kind=reading.kind)
        await desk.queue(turn, request, reply_key="media_nothing_read")
        return True
    return False
