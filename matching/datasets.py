"""Readers for the canonical evaluation format (``targets.jsonl``, ``*.queries.jsonl``, qrels)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from matching.errors import DatasetError

__all__ = ["Query", "Target", "read_qrels", "read_queries", "read_targets"]


@dataclass(frozen=True)
class Target:
    id: str
    claim: str
    title: str | None
    url: str | None
    lang: str | None


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    lang: str | None


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DatasetError(f"{path}:{n}: not JSON") from exc
    except OSError as exc:
        raise DatasetError(f"cannot read {path}") from exc


def _opt(row: dict[str, object], key: str) -> str | None:
    value = row.get(key)
    return str(value) if value not in (None, "") else None


def read_targets(path: Path) -> list[Target]:
    """Fact-checks; the matched text is ``claim``, falling back to ``title`` then ``text``."""
    out = []
    for row in _jsonl(path):
        claim = _opt(row, "claim") or _opt(row, "title") or _opt(row, "text") or ""
        title = _opt(row, "title")
        out.append(
            Target(
                str(row["id"]),
                claim,
                title if title != claim else None,
                _opt(row, "url"),
                _opt(row, "lang"),
            )
        )
    return out


def read_queries(path: Path) -> list[Query]:
    return [Query(str(r["id"]), str(r.get("text") or ""), _opt(r, "lang")) for r in _jsonl(path)]


def read_qrels(path: Path) -> dict[str, set[str]]:
    """``qid -> relevant doc ids`` from a TREC qrels file (only positive judgements kept)."""
    rel: dict[str, set[str]] = defaultdict(set)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}") from exc
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise DatasetError(f"{path}:{n}: expected 'qid 0 docid rel'")
        if int(parts[3]) > 0:
            rel[parts[0]].add(parts[2])
    return dict(rel)
