"""Claim matching: find the known fact-check a forwarded message repeats (see docs/matching.md)."""

from matching.embedders import Embedder, build_embedder
from matching.engine import (
    Candidate,
    Decision,
    IndexItem,
    MatchingEngine,
    MatchKind,
    Outcome,
    Thresholds,
)
from matching.normalise import canonical_url, extract_urls, normalise_text

__all__ = [
    "Candidate",
    "Decision",
    "Embedder",
    "IndexItem",
    "MatchKind",
    "MatchingEngine",
    "Outcome",
    "Thresholds",
    "build_embedder",
    "canonical_url",
    "extract_urls",
    "normalise_text",
]
