"""What the CLI does with a knowledge base: check a text, import a file, answer a cluster.

Staff operations run from the CLI are audited as `cli:<os user>`, in the same transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.conversation.publishing import AnswerDraft, PublishResult, after_publish, publish_answer
from bot.conversation.services import Services
from bot.runtime.demo import DemoRemoved, load_demo, remove_demo
from bot.runtime.wiring import build_services, prepare
from domain.audit import cli_actor, record
from domain.db import Database
from domain.knowledge import import_rows, read_rows
from domain.models import OPEN_STATUSES, Cluster, KnowledgeItem, Resident
from domain.residents import blocked_residents, lift_block
from domain.settings import Settings


async def _ready(settings: Settings) -> Services:
    services = build_services(settings)
    await prepare(services)
    if settings.demo_data:
        await load_demo(services, only_if_empty=True)
    return services


async def check_text(settings: Settings, text: str) -> dict[str, Any]:
    """The decision for `text` and its top candidates, as plain data."""
    services = await _ready(settings)
    try:
        decision = await services.knowledge.decide(text)
        candidates = [c for c in (await services.knowledge.search(text, k=5))]
        async with services.db.session() as session:
            rows = {}
            for candidate in candidates:
                item = await session.get(KnowledgeItem, int(candidate.id))
                if item is not None:
                    rows[candidate.id] = item
        return {
            "decision": decision.outcome.value,
            "confidence": round(decision.confidence, 4),
            "answer": decision.candidates[0].id if decision.outcome.value == "answer" else None,
            "candidates": [
                {
                    "id": c.id,
                    "score": round(c.score, 4),
                    "claim": rows[c.id].claim,
                    "verdict": rows[c.id].verdict,
                    "source_url": rows[c.id].source_url,
                }
                for c in candidates
                if c.id in rows
            ],
        }
    finally:
        await services.db.dispose()


async def import_path(settings: Settings, path: Path, origin: str) -> tuple[int, int]:
    services = build_services(settings)
    try:
        await services.db.migrate()
        async with services.db.session() as session:
            return await import_rows(session, read_rows(path), origin=origin)
    finally:
        await services.db.dispose()


async def list_open_clusters(settings: Settings) -> list[dict[str, Any]]:
    services = build_services(settings)
    try:
        await services.db.migrate()
        async with services.db.session() as session:
            query = (
                select(Cluster)
                .where(Cluster.status.in_(OPEN_STATUSES))
                .order_by(Cluster.ask_count.desc(), Cluster.id)
            )
            return [
                {"id": c.id, "asks": c.ask_count, "text": c.representative_text[:80]}
                for c in (await session.scalars(query)).all()
            ]
    finally:
        await services.db.dispose()


async def publish_from_cli(
    settings: Settings,
    cluster_id: int,
    verdict: str,
    explanation: str,
    source: str | None,
    language: str,
) -> PublishResult:
    services = await _ready(settings)
    actor = cli_actor()
    try:
        draft = AnswerDraft(
            verdict=verdict,
            explanation=explanation,
            source_url=source,
            language=language,
            author=actor,
        )
        async with services.db.session() as session:
            result = await publish_answer(services, cluster_id, draft, session=session)
            await record(
                session,
                "publish",
                actor,
                f"cluster:{cluster_id}",
                {"status": "open"},
                {
                    "answer": result.answer_id,
                    "item": result.knowledge_item_id,
                    "verdict": verdict,
                    "explanation": draft.explanation,
                    "source_url": source,
                    "notified": result.notified,
                },
            )
        await after_publish(services)
        return result
    finally:
        await services.db.dispose()


async def blocked_list(settings: Settings) -> list[dict[str, Any]]:
    services = build_services(settings)
    try:
        await services.db.migrate()
        async with services.db.session() as session:
            return [
                {
                    "id": r.id,
                    "channel": r.channel,
                    "reason": r.blocked_reason or "",
                    "since": r.blocked_at.isoformat(timespec="minutes") if r.blocked_at else "?",
                }
                for r in await blocked_residents(session)
            ]
    finally:
        await services.db.dispose()


async def unblock(settings: Settings, resident_id: int) -> bool:
    services = build_services(settings)
    try:
        async with services.db.session() as session:
            found = await session.get(Resident, resident_id)
            before = {"blocked": bool(found and found.blocked)}
            resident = await lift_block(session, resident_id)
            if resident is not None:
                await record(
                    session, "unblock", cli_actor(), f"resident:{resident_id}", before,
                    {"blocked": False},
                )
        if resident is not None and services.flood is not None:
            await services.flood.forgive(resident.channel, resident.chat_id)
        return resident is not None
    finally:
        await services.db.dispose()


async def load_demo_items(settings: Settings) -> int:
    services = build_services(settings)
    try:
        await services.db.migrate()
        return await load_demo(services)
    finally:
        await services.db.dispose()


async def remove_demo_rows(settings: Settings) -> DemoRemoved:
    """No services needed: rows are deleted, nothing is embedded."""
    db = Database(settings.database_url)
    try:
        await db.migrate()
        async with db.session() as session:
            return await remove_demo(session)
    finally:
        await db.dispose()
