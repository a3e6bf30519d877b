"""The demo knowledge base that ships with the product (see README.md beside it)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.runtime.services import Services
from domain.knowledge import import_rows, read_rows
from domain.models import KnowledgeItem

DEMO_FILE = Path(__file__).with_name("knowledge.jsonl")


async def load_demo_if_empty(services: Services) -> int:
    """Load the demo items when the knowledge base has none; returns how many were added."""
    async with services.db.session() as session:
        if await session.scalar(select(func.count()).select_from(KnowledgeItem)):
            return 0
        changed, _ = await import_rows(session, read_rows(DEMO_FILE), origin="demo")
    await services.knowledge.refresh()
    return changed
