"""What the CLI does with media: read a local file like a resident's (`rumourbot check
--file`), and attach an image or voice note to a knowledge item (`rumourbot attach-media`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.media.claims import best_decision, claim_text, near
from bot.media.errors import MediaError
from bot.media.stage import MediaStage
from bot.runtime.operations import _ready
from domain.media import find_known, remember
from domain.messages import InboundMessage
from domain.models import KnowledgeItem
from domain.settings import Settings


async def check_file(settings: Settings, path: Path, language: str | None,
                     caption: str = "") -> dict[str, Any]:
    """What was read from `path`, the item or cluster it is a copy of, and the decision."""
    stage = MediaStage(settings)
    try:
        data = await asyncio.to_thread(path.read_bytes)
        reading = await asyncio.to_thread(stage.read_now, data, language)
    except MediaError as exc:
        return {"file": str(path), "error": exc.reply_key, "detail": str(exc)}
    services = await _ready(settings)
    try:
        async with services.db.session() as session:
            known = await find_known(session, reading.sha256, reading.phashes,
                                     settings.media_phash_max_distance, reading.ocr_text,
                                     settings.media_phash_max_distance_without_words,
                                     near_ids=await near(services.db, session, settings,
                                                          reading))
        message = InboundMessage(channel="cli", sender="cli", message_id="cli", text=caption)
        text = claim_text(message, reading)[: settings.max_message_chars]
        decision = await best_decision(services.knowledge, message, reading, text,
                                       language or settings.default_language)
    finally:
        await services.db.dispose()
    answer: str | None
    if known is not None and known.item_id is not None:
        outcome, answer = "answer", str(known.item_id)
    else:
        outcome = decision.outcome.value if text else "queue"
        answer = decision.candidates[0].id if outcome == "answer" else None
    return {
        "file": str(path), **reading.as_json(),
        "known": None if known is None else {"item": known.item_id, "cluster": known.cluster_id,
                                             "distance": known.distance},
        "decision": outcome, "confidence": round(decision.confidence, 4), "answer": answer,
        "candidates": [{"id": c.id, "score": round(c.score, 4)} for c in decision.candidates[:5]],
    }


async def attach_media(settings: Settings, item_id: int, path: Path) -> dict[str, Any]:
    """Give knowledge item `item_id` the hashes of `path` (the fake notice it debunks): the
    next resident forwarding a copy is answered with it."""
    stage = MediaStage(settings)
    data = await asyncio.to_thread(path.read_bytes)
    reading = await asyncio.to_thread(stage.read_now, data, None)
    services = await _ready(settings)
    try:
        async with services.db.session() as session:
            if await session.get(KnowledgeItem, item_id) is None:
                return {"error": f"no knowledge item {item_id}"}
            await remember(session, reading.sha256, reading.phashes, item_id=item_id,
                           text=reading.ocr_text)
    finally:
        await services.db.dispose()
    return {"item": item_id, "kind": reading.kind, "sha256": reading.sha256,
            "phashes": list(reading.phashes)}
