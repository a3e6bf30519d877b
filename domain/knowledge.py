"""Knowledge-base operations: add or update items, retire them, import files, list changes."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import ItemKind, ItemStatus, KnowledgeItem, Verdict, utcnow
from domain.text import clean, clip, http_url
from domain.topics import city_topics

VERDICT_ALIASES = {
    "fake": Verdict.FALSE,
    "incorrect": Verdict.FALSE,
    "pants on fire": Verdict.FALSE,
    "mostly false": Verdict.MISLEADING,
    "half true": Verdict.MISSING_CONTEXT,
    "mixture": Verdict.MISSING_CONTEXT,
    "correct": Verdict.TRUE,
    "mostly true": Verdict.TRUE,
    "unproven": Verdict.UNVERIFIED,
    "being checked": Verdict.UNVERIFIED,
}


class ImportError_(ValueError):
    """A row of an import file is unusable; the message says which and why."""


def parse_verdict(raw: str | None) -> Verdict:
    """Map a free-text rating ("Pants on Fire", "Mostly true", "false") to our verdicts."""
    value = (raw or "").strip().lower().replace("-", " ").replace("_", " ")
    for verdict in Verdict:
        if value == verdict.value.replace("_", " "):
            return verdict
    return VERDICT_ALIASES.get(value, Verdict.UNVERIFIED)


def parse_date(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class ItemData:
    """The fields of a knowledge item as they arrive from an import, a connector or staff."""

    claim: str
    verdict: str
    explanation: str = ""
    source_url: str | None = None
    publisher: str | None = None
    published_at: datetime | None = None
    language: str = "en"
    topic: str | None = None
    kind: str = ItemKind.FACT_CHECK
    origin: str = "import"
    external_id: str | None = None
    translations: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every item, from any source, is made safe and storable here (one check for all):
        only http(s) source links, text without lone surrogates, fields cut to their columns,
        translations as {language: {field: text}}."""
        self.claim = clean(str(self.claim)).strip()[:5000]
        self.explanation = clean(str(self.explanation or "")).strip()[:5000]
        self.verdict = self.verdict if self.verdict in Verdict._value2member_map_ else "unverified"
        self.source_url = http_url(self.source_url)
        self.publisher = clip(self.publisher, 200)
        self.published_at = self.published_at if isinstance(self.published_at, datetime) else None
        self.language = clip(self.language, 10) or "en"
        self.topic = clip(self.topic, 50)
        self.kind = ItemKind.STATEMENT if self.kind == ItemKind.STATEMENT else ItemKind.FACT_CHECK
        self.origin = clip(self.origin, 100) or "import"
        self.external_id = clip(self.external_id, 500)
        self.translations = _translations(self.translations)

    @classmethod
    def from_mapping(cls, row: dict[str, Any], origin: str) -> ItemData:
        claim = str(row.get("claim") or row.get("text") or "").strip()
        if not claim:
            raise ImportError_("a row has no claim text")
        translations = row.get("translations") or {}
        if isinstance(translations, str):
            try:
                translations = json.loads(translations) if translations.strip() else {}
            except (ValueError, RecursionError) as exc:
                raise ImportError_("'translations' is not valid JSON") from exc
        topic = str(row.get("topic") or "").strip() or None
        if topic is not None and topic not in city_topics():
            raise ImportError_(city_topics().unknown_message(topic))
        return cls(
            claim=claim[:5000],
            verdict=parse_verdict(row.get("verdict") or row.get("rating")).value,
            explanation=str(row.get("explanation") or "").strip()[:5000],
            source_url=(row.get("source_url") or row.get("url") or None),
            publisher=row.get("publisher") or None,
            published_at=parse_date(row.get("published_at") or row.get("date")),
            language=str(row.get("language") or row.get("lang") or "en")[:10],
            topic=topic,
            kind=ItemKind.STATEMENT
            if row.get("kind") == ItemKind.STATEMENT
            else ItemKind.FACT_CHECK,
            origin=origin,
            external_id=str(row.get("id") or row.get("external_id") or "") or None,
            translations=translations,
        )


def _translations(raw: Any) -> dict[str, Any]:
    """{language: {"claim": ..., "explanation": ...}} with only strings kept."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for language, fields in list(raw.items())[:50]:
        code = clip(language, 10)
        if code is None or not isinstance(fields, dict):
            continue
        kept = {
            k: clean(v)[:5000]
            for k, v in fields.items()
            if k in ("claim", "explanation") and isinstance(v, str)
        }
        if kept:
            out[code] = kept
    return out


async def upsert_item(session: AsyncSession, data: ItemData) -> tuple[KnowledgeItem, bool]:
    """Insert, or update the item with the same (origin, external id); True when it changed."""
    existing = None
    if data.external_id:
        query = select(KnowledgeItem).where(
            KnowledgeItem.origin == data.origin, KnowledgeItem.external_id == data.external_id
        )
        existing = (await session.scalars(query)).first()
    if existing is None:
        item = KnowledgeItem(**vars(data), status=ItemStatus.ACTIVE)
        session.add(item)
        await session.flush()
        return item, True
    changed = False
    for key, value in vars(data).items():
        if getattr(existing, key) != value:
            setattr(existing, key, value)
            changed = True
    if changed and existing.claim != data.claim:
        existing.embedding = None
    if changed:
        existing.updated_at = utcnow()
    return existing, changed


async def retire_item(session: AsyncSession, item_id: int) -> KnowledgeItem | None:
    item = await session.get(KnowledgeItem, item_id)
    if item is not None and item.status != ItemStatus.RETIRED:
        item.status = ItemStatus.RETIRED
        item.updated_at = utcnow()
    return item


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV (header row) or JSONL file."""
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ImportError_(f"line {number} is not valid JSON") from exc
        return
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.DictReader(handle)
        return
    raise ImportError_(f"{path.name}: expected a .csv or .jsonl file")


async def import_rows(
    session: AsyncSession, rows: Iterable[dict[str, Any]], origin: str
) -> tuple[int, int]:
    """Upsert every row; returns (changed, unchanged)."""
    changed = unchanged = 0
    for row in rows:
        _, did_change = await upsert_item(session, ItemData.from_mapping(row, origin))
        changed += did_change
        unchanged += not did_change
    return changed, unchanged


async def changed_since(
    session: AsyncSession, after: tuple[datetime, int] | None, limit: int = 1000
) -> list[KnowledgeItem]:
    """Items updated after the (updated_at, id) cursor, oldest first: how indexes follow the KB."""
    query = select(KnowledgeItem).order_by(KnowledgeItem.updated_at, KnowledgeItem.id).limit(limit)
    if after is not None:
        stamp, last_id = after
        query = query.where(
            (KnowledgeItem.updated_at > stamp)
            | ((KnowledgeItem.updated_at == stamp) & (KnowledgeItem.id > last_id))
        )
    return list((await session.scalars(query)).all())
