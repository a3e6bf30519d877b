"""Statements a city's CMS pushes to us (POST /api/sources/{name}/statements, bearer token).

Nothing is pulled: `fetch` returns nothing and the runner does not schedule push sources. The
payload is validated here so the web route and the tests share one parser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from domain.knowledge import ImportError_, ItemData
from factcheck_connectors.base import ConnectorContext, ConnectorSpec, FetchResult, SourceInvalid

MAX_STATEMENTS = 1000


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, token_hash: str | None) -> bool:
    return bool(token_hash) and hmac.compare_digest(hash_token(token), token_hash or "")


def parse_push(payload: Any, language: str = "en") -> tuple[list[ItemData], list[str]]:
    """`{"statements": [...], "retired": ["id", ...]}` -> (items, retired ids)."""
    if not isinstance(payload, dict):
        raise SourceInvalid("the body must be a JSON object with 'statements'")
    rows = payload.get("statements") or []
    retired = payload.get("retired") or []
    if not isinstance(rows, list) or not isinstance(retired, list):
        raise SourceInvalid("'statements' and 'retired' must be lists")
    if len(rows) > MAX_STATEMENTS:
        raise SourceInvalid(f"at most {MAX_STATEMENTS} statements per request")
    items = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not str(row.get("id") or "").strip():
            raise SourceInvalid(f"statement {number} needs an 'id'")
        row = {"kind": "statement", "verdict": "true", "language": language, **row}
        try:
            items.append(ItemData.from_mapping(row, "source"))
        except (ImportError_, ValueError) as exc:
            raise SourceInvalid(f"statement {number}: {exc}") from exc
    return items, [str(x) for x in retired]


class PushSource:
    kind = "push"
    spec: ClassVar[ConnectorSpec] = ConnectorSpec(
        kind,
        "Statements pushed by the city's CMS",
        ("token", "language"),
        secret_fields=("token",),
        scheduled=False,
    )

    @classmethod
    def from_config(cls, config: Mapping[str, str], context: ConnectorContext) -> PushSource:
        return cls()

    async def fetch(self, client: httpx.AsyncClient, cursor: dict[str, Any]) -> FetchResult:
        return FetchResult([], cursor)
