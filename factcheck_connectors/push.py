"""Statements a city's CMS pushes to us (POST /api/sources/{name}/statements, bearer token).

Nothing is pulled: `fetch` returns nothing and the runner does not schedule push sources. The
payload is validated here so the web route and the tests share one parser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from domain.knowledge import ImportError_, ItemData
from domain.text import clean, http_url
from factcheck_connectors.base import ConnectorContext, ConnectorSpec, FetchResult, SourceInvalid

MAX_STATEMENTS = 1000
MAX_RETIRED = 10_000


def _text(limit: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(max_length=limit, min_length=min_length)]


class _Translation(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    claim: _text(5000) | None = None  # type: ignore[valid-type]
    explanation: _text(5000) | None = None  # type: ignore[valid-type]


class _Statement(BaseModel):
    """One statement as the CMS sends it (the OpenAPI document describes the same shape)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    id: _text(500, 1) | int  # type: ignore[valid-type]
    claim: _text(5000) | None = None  # type: ignore[valid-type]
    text: _text(5000) | None = None  # type: ignore[valid-type]
    verdict: _text(40) | None = None  # type: ignore[valid-type]
    rating: _text(40) | None = None  # type: ignore[valid-type]
    explanation: _text(5000) | None = None  # type: ignore[valid-type]
    url: _text(2000) | None = None  # type: ignore[valid-type]
    source_url: _text(2000) | None = None  # type: ignore[valid-type]
    publisher: _text(200) | None = None  # type: ignore[valid-type]
    published_at: _text(40) | None = None  # type: ignore[valid-type]
    date: _text(40) | None = None  # type: ignore[valid-type]
    language: _text(10) | None = None  # type: ignore[valid-type]
    topic: _text(50) | None = None  # type: ignore[valid-type]
    kind: _text(20) | None = None  # type: ignore[valid-type]
    translations: Annotated[dict[_text(10, 1), _Translation], Field(max_length=50)] | None = None  # type: ignore[valid-type]

    @field_validator("url", "source_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value and http_url(value) is None:
            raise ValueError("must be a web address starting with http:// or https://")
        return value


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    statements: Annotated[list[_Statement], Field(max_length=MAX_STATEMENTS)] = []
    retired: Annotated[list[_text(500, 1) | int], Field(max_length=MAX_RETIRED)] = []  # type: ignore[valid-type]


def _storable(value: Any, depth: int = 0) -> Any:
    """The payload with every string made storable (lone surrogates replaced); anything
    nested deeper than a statement can be is cut off (the schema then says what is wrong)."""
    if isinstance(value, str):
        return clean(value)
    if depth > 8:
        return None
    if isinstance(value, list):
        return [_storable(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): _storable(v, depth + 1) for k, v in value.items()}
    return value


def _explain(error: ValidationError) -> str:
    """The first problem, as "statement 3: translations.sw: Input should be ..."."""
    first = error.errors()[0]
    loc = list(first.get("loc", ()))
    where = ""
    if len(loc) >= 2 and loc[0] == "statements" and isinstance(loc[1], int):
        where = f"statement {loc[1] + 1}: "
        loc = loc[2:]
    path = ".".join(str(part) for part in loc if not str(part).startswith(("str", "int")))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}{path + ': ' if path else ''}{message}"[:300]


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
    if isinstance(payload.get("statements"), list) and len(payload["statements"]) > MAX_STATEMENTS:
        raise SourceInvalid(f"at most {MAX_STATEMENTS} statements per request")
    rows = payload.get("statements")
    for number, row in enumerate(rows if isinstance(rows, list) else [], start=1):
        if isinstance(row, dict) and not str(row.get("id") or "").strip():
            raise SourceInvalid(f"statement {number} needs an 'id'")
    try:
        parsed = _Payload.model_validate(_storable(payload))
    except ValidationError as exc:
        raise SourceInvalid(_explain(exc)) from None
    items = []
    for number, statement in enumerate(parsed.statements, start=1):
        if not str(statement.id).strip():
            raise SourceInvalid(f"statement {number} needs an 'id'")
        given = statement.model_dump(exclude_none=True)
        row = {"kind": "statement", "verdict": "true", "language": language, **given}
        try:
            items.append(ItemData.from_mapping(row, "source"))
        except (ImportError_, ValueError) as exc:
            raise SourceInvalid(f"statement {number}: {exc}") from exc
    return items, [str(x) for x in parsed.retired]


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
