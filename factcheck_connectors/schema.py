"""schema.org ClaimReview <-> our knowledge items, both directions.

Reading follows https://schema.org/ClaimReview and Google's fact-check markup guide:
claimReviewed, reviewRating (alternateName, ratingValue/bestRating/worstRating), itemReviewed
(a Claim with author and appearance), author (the fact-checker), datePublished, url, inLanguage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from domain.knowledge import ItemData, parse_date, parse_verdict
from domain.models import ItemKind, KnowledgeItem, Verdict
from domain.text import http_url
from domain.topics import city_topics

RATING_VALUE = {
    Verdict.FALSE: 1,
    Verdict.MISLEADING: 2,
    Verdict.MISSING_CONTEXT: 3,
    Verdict.UNVERIFIED: 3,
    Verdict.TRUE: 5,
}
RATING_NAME = {
    Verdict.FALSE: "False",
    Verdict.MISLEADING: "Misleading",
    Verdict.MISSING_CONTEXT: "Missing context",
    Verdict.TRUE: "True",
    Verdict.UNVERIFIED: "Unverified",
}
_WORDS = re.compile(r"[^\w\s]+")
_KEYWORDS = (  # checked in order: "not true" must win over "true"
    ("not true", Verdict.FALSE),
    ("false", Verdict.FALSE),
    ("fake", Verdict.FALSE),
    ("misleading", Verdict.MISLEADING),
    ("missing context", Verdict.MISSING_CONTEXT),
    ("lacks context", Verdict.MISSING_CONTEXT),
    ("partly", Verdict.MISSING_CONTEXT),
    ("unproven", Verdict.UNVERIFIED),
    ("true", Verdict.TRUE),
    ("correct", Verdict.TRUE),
)


def verdict_from_rating(
    text: str | None, value: Any = None, best: Any = None, worst: Any = None
) -> Verdict:
    """A textual rating first ("Pants on Fire!", "Mostly false"), then the numeric scale."""
    words = _WORDS.sub(" ", (text or "")).strip().lower()
    words = " ".join(words.split())
    if words:
        exact = parse_verdict(words)
        if exact != Verdict.UNVERIFIED or words in {"unverified", "unproven", "being checked"}:
            return exact
        for keyword, verdict in _KEYWORDS:
            if keyword in words:
                return verdict
    return _from_scale(value, best, worst)


def _from_scale(value: Any, best: Any, worst: Any) -> Verdict:
    try:
        val, hi, lo = float(value), float(best or 5), float(worst or 1)
    except (TypeError, ValueError):
        return Verdict.UNVERIFIED
    if hi <= lo:
        return Verdict.UNVERIFIED
    share = (val - lo) / (hi - lo)
    if share <= 0.2:
        return Verdict.FALSE
    if share <= 0.4:
        return Verdict.MISLEADING
    if share < 0.8:
        return Verdict.MISSING_CONTEXT
    return Verdict.TRUE


def _type_names(obj: dict[str, Any]) -> set[str]:
    raw = obj.get("@type") or obj.get("type") or []
    names = raw if isinstance(raw, list) else [raw]
    return {str(n).rsplit("/", 1)[-1] for n in names}


def find_claim_reviews(data: Any) -> Iterator[dict[str, Any]]:
    """Every ClaimReview object in parsed JSON-LD: lists, @graph, DataFeed elements, nesting."""
    if isinstance(data, list):
        for element in data:
            yield from find_claim_reviews(element)
        return
    if not isinstance(data, dict):
        return
    if "ClaimReview" in _type_names(data):
        yield data
        return
    for key in ("@graph", "dataFeedElement", "item", "mainEntity", "itemListElement", "review"):
        if key in data:
            yield from find_claim_reviews(data[key])


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("alternateName") or value.get("url")
    text = str(value).strip() if value not in (None, "") else ""
    return text or None


def _language(value: Any, default: str) -> str:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("alternateName") or value.get("name")
    text = str(value or "").strip()
    return (text.split("-")[0].lower() or default)[:10]


def _text(value: Any) -> str:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value") or value.get("text") or value.get("name")
    return re.sub(r"\s+", " ", str(value or "")).strip()


def item_from_claim_review(
    review: dict[str, Any],
    origin: str,
    default_language: str = "en",
    default_publisher: str | None = None,
) -> ItemData | None:
    """One ClaimReview as an item, or None when it has no claim text."""
    claim = _text(review.get("claimReviewed"))
    reviewed = _first(review.get("itemReviewed"))
    reviewed = reviewed if isinstance(reviewed, dict) else {}
    if not claim:
        claim = _text(reviewed.get("name") or reviewed.get("text"))
    if not claim:
        return None
    rating = _first(review.get("reviewRating"))
    rating = rating if isinstance(rating, dict) else {}
    verdict = verdict_from_rating(
        _text(rating.get("alternateName") or rating.get("name")),
        rating.get("ratingValue"),
        rating.get("bestRating"),
        rating.get("worstRating"),
    )
    url = _text(review.get("url")) or _text(review.get("@id")) or None
    explanation = _text(
        review.get("reviewBody")
        or review.get("description")
        or review.get("headline")
        or review.get("name")
    )
    claimant = _name(reviewed.get("author"))
    if claimant and not explanation:
        explanation = f"Claim by {claimant}."
    external = url or hashlib.sha256(claim.encode()).hexdigest()[:32]
    keywords = review.get("keywords")
    # a keyword that names one of the city's topics; other keywords are not topics
    topic = city_topics().find(_text(keywords).split(",")[0]) if keywords else None
    return ItemData(
        claim=claim[:5000],
        verdict=verdict.value,
        explanation=explanation[:5000],
        source_url=url[:2000] if url else None,
        publisher=(
            _name(review.get("author")) or _name(review.get("publisher")) or default_publisher
        ),
        published_at=parse_date(
            _text(review.get("datePublished")) or _text(reviewed.get("datePublished"))
        ),
        language=_language(review.get("inLanguage"), default_language),
        topic=topic[:50] if topic else None,
        kind=ItemKind.FACT_CHECK,
        origin=origin,
        external_id=external[:500],
    )


def claim_review_for(
    item: KnowledgeItem, url: str, publisher: str, publisher_url: str, answer_id: int | None = None
) -> dict[str, Any]:
    """Our item as a ClaimReview object (what fact-check aggregators read)."""
    verdict = (
        Verdict(item.verdict) if item.verdict in Verdict._value2member_map_ else Verdict.UNVERIFIED
    )
    review: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": url,
        "claimReviewed": item.claim,
        "reviewBody": item.explanation,
        "inLanguage": item.language,
        "author": {"@type": "Organization", "name": publisher, "url": publisher_url},
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": RATING_VALUE[verdict],
            "bestRating": 5,
            "worstRating": 1,
            "alternateName": RATING_NAME[verdict],
        },
        "itemReviewed": {"@type": "Claim"},
    }
    if http_url(item.source_url):  # the evidence staff linked to
        review["citation"] = item.source_url
    if item.published_at:
        review["datePublished"] = item.published_at.isoformat()
    if item.topic:
        review["keywords"] = item.topic
    if answer_id is not None:
        review["identifier"] = str(answer_id)
    return review
