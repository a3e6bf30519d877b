"""The demo knowledge base that ships with the product (see README.md beside it).

`rumourbot run --demo` (what `make run` does) loads it into an empty knowledge base;
`rumourbot demo load` adds it to any database and `rumourbot demo remove` takes it out again,
with what trying it left behind: the requests that matched a demo item, the web chat's
residents (the web chat is where the demo is tried) and their requests, the clusters left with
no other request, and the answers staff published to those clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.services import Services
from domain.knowledge import import_rows, read_rows
from domain.models import (
    Answer,
    Cluster,
    KnowledgeItem,
    OutboxMessage,
    Request,
    Resident,
)

DEMO_FILE = Path(__file__).with_name("knowledge.jsonl")
DEMO_ORIGIN = "demo"
DEMO_CHANNEL = "webchat"

__all__ = [
    "DEMO_CHANNEL",
    "DEMO_FILE",
    "DEMO_ORIGIN",
    "DemoRemoved",
    "load_demo",
    "load_demo_if_empty",
    "remove_demo",
]


@dataclass(frozen=True)
class DemoRemoved:
    items: int
    requests: int
    clusters: int
    residents: int


async def load_demo(services: Services, only_if_empty: bool = False) -> int:
    """Import the demo items (again: re-loading updates them); returns how many changed.

    With `only_if_empty`, nothing is loaded into a knowledge base that already has items.
    """
    async with services.db.session() as session:
        if only_if_empty and await session.scalar(select(func.count()).select_from(KnowledgeItem)):
            return 0
        changed, _ = await import_rows(session, read_rows(DEMO_FILE), origin=DEMO_ORIGIN)
    await services.knowledge.refresh()
    return changed


async def load_demo_if_empty(services: Services) -> int:
    """What `rumourbot run --demo` does at start: the demo, unless the base has items."""
    return await load_demo(services, only_if_empty=True)


async def _ids(session: AsyncSession, query: object) -> set[int]:
    return set((await session.scalars(query)).all())  # type: ignore[call-overload]


async def remove_demo(session: AsyncSession) -> DemoRemoved:
    """Delete every demo row in the caller's transaction (see the module docstring)."""
    items = await _ids(session, select(KnowledgeItem.id).where(KnowledgeItem.origin == DEMO_ORIGIN))
    residents = await _ids(session, select(Resident.id).where(Resident.channel == DEMO_CHANNEL))
    requests = await _ids(
        session,
        select(Request.id).where(
            or_(Request.matched_item_id.in_(items), Request.resident_id.in_(residents))
        ),
    )
    touched = await _ids(
        session,
        select(Request.cluster_id).where(Request.id.in_(requests), Request.cluster_id.is_not(None)),
    )
    kept_elsewhere = await _ids(
        session,
        select(Request.cluster_id).where(
            Request.cluster_id.in_(touched), Request.id.not_in(requests)
        ),
    )
    clusters = touched - kept_elsewhere
    answers = await _ids(session, select(Answer.id).where(Answer.cluster_id.in_(clusters)))
    items |= await _ids(
        session,
        select(Answer.knowledge_item_id).where(
            Answer.id.in_(answers), Answer.knowledge_item_id.is_not(None)
        ),
    )
    # Children before parents, so neither database needs its ON DELETE rules.
    await session.execute(delete(Request).where(Request.id.in_(requests)))
    await session.execute(delete(OutboxMessage).where(OutboxMessage.resident_id.in_(residents)))
    await session.execute(delete(Resident).where(Resident.id.in_(residents)))
    await session.execute(delete(Answer).where(Answer.id.in_(answers)))
    await session.execute(delete(Cluster).where(Cluster.id.in_(clusters)))
    await session.execute(delete(KnowledgeItem).where(KnowledgeItem.id.in_(items)))
    return DemoRemoved(len(items), len(requests), len(clusters), len(residents))
