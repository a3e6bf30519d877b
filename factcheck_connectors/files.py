"""Statements or fact-checks from a CSV or JSONL file, local or at a URL.

Columns are those of `rumourbot import` (claim, verdict, explanation, url, publisher, date,
language, topic, kind, id). The file is the whole truth: rows that disappear are retired.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from domain.knowledge import ImportError_, ItemData
from factcheck_connectors.base import (
    ConnectorContext,
    ConnectorSpec,
    FetchResult,
    SourceInvalid,
    conditional_headers,
    get,
    validators,
)

MAX_TRACKED_IDS = 50_000


def parse_rows(body: bytes, fmt: str) -> Iterator[dict[str, Any]]:
    text = body.decode("utf-8-sig", errors="replace")
    if fmt == "csv":
        yield from csv.DictReader(io.StringIO(text))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise SourceInvalid(f"line {number} is not valid JSON") from exc
            if not isinstance(row, dict):
                raise SourceInvalid(f"line {number} is not a JSON object")
            yield row


def read_local(path: Path, max_bytes: int) -> bytes:
    path = path.expanduser()
    if not path.is_file():
        raise SourceInvalid(f"{path} does not exist or is not a file")
    if path.stat().st_size > max_bytes:
        raise SourceInvalid(f"{path} is too large ({path.stat().st_size} bytes)")
    return path.read_bytes()


class FileSource:
    kind = "csv"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind,
        "CSV / JSONL file (path or URL)",
        ("location", "format", "kind"),
        required=("location",),
    )

    def __init__(self, location: str, fmt: str, item_kind: str, max_bytes: int) -> None:
        self.location, self.format, self.item_kind, self.max_bytes = (
            location,
            fmt,
            item_kind,
            max_bytes,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> FileSource:
        location = str(config.get("location") or config.get("path") or config.get("url") or "")
        if not location.strip():
            raise SourceInvalid("a csv source needs 'location' (a file path or an http(s) URL)")
        fmt = str(config.get("format") or "").lower() or (
            "jsonl" if location.lower().endswith((".jsonl", ".ndjson")) else "csv"
        )
        if fmt not in {"csv", "jsonl"}:
            raise SourceInvalid("'format' must be csv or jsonl")
        item_kind = str(config.get("kind") or "statement")
        return cls(location.strip(), fmt, item_kind, context.max_bytes)

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        body, cache = await self._read(client, cursor)
        if body is None:
            return FetchResult([], cursor)
        digest = hashlib.sha256(body).hexdigest()
        if digest == cursor.get("digest"):
            return FetchResult([], {**cursor, **cache})
        items = self._items(body)
        ids = [i.external_id for i in items if i.external_id]
        previous = set(cursor.get("ids") or [])
        retired = sorted(previous - set(ids))
        new_cursor: dict[str, Any] = {**cache, "digest": digest}
        if len(ids) <= MAX_TRACKED_IDS:
            new_cursor["ids"] = ids
        return FetchResult(items, new_cursor, retired)

    async def _read(
        self, client: httpx.AsyncClient, cursor: dict[str, Any]
    ) -> tuple[bytes | None, dict[str, Any]]:
        if self.location.startswith(("http://", "https://")):
            fetched = await get(
                client, self.location, headers=conditional_headers(cursor), max_bytes=self.max_bytes
            )
            return (None if fetched.not_modified else fetched.body), validators(fetched)
        return await asyncio.to_thread(read_local, Path(self.location), self.max_bytes), {}

    def _items(self, body: bytes) -> list[ItemData]:
        items = []
        for number, row in enumerate(parse_rows(body, self.format), start=1):
            row = {k: v for k, v in row.items() if k is not None}
            row.setdefault("kind", self.item_kind)
            try:
                item = ItemData.from_mapping(row, "source")
            except (ImportError_, ValueError) as exc:
                raise SourceInvalid(f"row {number}: {exc}") from exc
            if not item.external_id:
                item.external_id = hashlib.sha256(item.claim.encode()).hexdigest()[:32]
            items.append(item)
        return items
