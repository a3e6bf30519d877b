"""The Rasa service as an intent parser: one POST to `/model/parse`, the built-in as backstop.

Rasa runs in its own env (see scripts/rasa.sh). Whenever it is unreachable, slow (past
`timeout`), refuses the token or answers nonsense, the message is parsed by the built-in
classifier instead; the outage is logged once and the recovery once, never per message.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from nlu.builtin import (
    LONG_MESSAGE_THRESHOLD,
    LONG_MESSAGE_WORDS,
    MAX_CLASSIFIED_CHARS,
    BuiltinParser,
)
from nlu.language import detect_language
from nlu.types import Intent, ParseResult

logger = logging.getLogger(__name__)

# Matches the FallbackClassifier threshold in nlu/rasa/config.yml: below it Rasa answers
# `nlu_fallback`, which, like any intent this product does not know, means "check the claim".
RASA_CONFIDENCE_THRESHOLD = 0.5


class RasaParser:
    """Parses with a Rasa server, falling back to `fallback` when Rasa cannot answer."""

    source = "rasa"

    def __init__(
        self,
        url: str,
        token: str | None,
        fallback: BuiltinParser,
        timeout: float = 0.3,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/model/parse"
        self._params = {"token": token} if token else {}
        self._fallback = fallback
        self._timeout = httpx.Timeout(timeout)
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self._failing = False

    async def aclose(self) -> None:
        """Close the HTTP client if this parser created it."""
        if self._owns_client:
            await self._client.aclose()

    async def parse(self, text: str) -> ParseResult:
        if not isinstance(text, str) or not any(char.isalnum() for char in text):
            return await self._fallback.parse(text)  # nothing for a model to read
        try:
            payload = await self._post(text[:MAX_CLASSIFIED_CHARS])
            result = to_result(payload, text)
        except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            self._note_failure(exc)
            return await self._fallback.parse(text)
        self._note_success()
        return result

    async def _post(self, text: str) -> dict[str, Any]:
        response = await self._client.post(
            self._endpoint, params=self._params, json={"text": text}, timeout=self._timeout
        )
        response.raise_for_status()
        payload = response.json()
        if not isinstance(payload, dict):
            raise ValueError("Rasa answered something other than a JSON object")
        return payload

    def _note_failure(self, exc: Exception) -> None:
        if not self._failing:  # the token is in the query string: never log the URL
            logger.warning("Rasa unavailable (%s); using the built-in parser", type(exc).__name__)
        self._failing = True

    def _note_success(self) -> None:
        if self._failing:
            logger.info("Rasa is answering again")
        self._failing = False


def to_result(payload: dict[str, Any], text: str) -> ParseResult:
    """Our reading of a `/model/parse` answer, with the product's fallback rules applied."""
    intent_data = payload.get("intent") or {}
    if not isinstance(intent_data, dict):
        raise ValueError("Rasa's answer has no intent object")
    intent = Intent.from_name(intent_data.get("name"))
    confidence = float(intent_data.get("confidence") or 0.0)
    long_paste = len(text.split()) > LONG_MESSAGE_WORDS and confidence < LONG_MESSAGE_THRESHOLD
    if intent is None or confidence < RASA_CONFIDENCE_THRESHOLD or long_paste:
        intent = Intent.CHECK_CLAIM
    entities = {
        str(item["entity"]): str(item["value"])
        for item in reversed(payload.get("entities") or [])
        if isinstance(item, dict) and item.get("entity") and item.get("value") is not None
    }
    return ParseResult(intent, round(confidence, 4), entities, detect_language(text), "rasa")
