"""The matching package's error hierarchy; lower-level errors are translated at the boundary."""

from __future__ import annotations


class MatchingError(Exception):
    """Base class of every error the matching package raises on purpose."""


class EmbedderError(MatchingError):
    """The embedding provider failed (model missing, HTTP error, malformed answer)."""


class EmbedderUnavailable(EmbedderError):
    """The provider cannot be used here (optional package not installed, service unreachable)."""


class DatasetError(MatchingError):
    """An evaluation file is missing or not in the canonical format."""
