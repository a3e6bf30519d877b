"""RasaParser against a fake Rasa speaking the real `/model/parse` wire format."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest

from nlu import BuiltinParser, Intent, RasaParser, build_parser

Handler = Callable[[httpx.Request], httpx.Response]


def rasa_answer(name: str, confidence: float, entities: list[dict[str, object]] | None = None
                ) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["text"]
        body = {"text": text, "intent": {"name": name, "confidence": confidence},
                "entities": entities or [], "intent_ranking": []}
        return httpx.Response(200, json=body)

    return handle


def parser_for(handler: Handler, fallback: BuiltinParser, token: str | None = "s3cret"
               ) -> RasaParser:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return RasaParser("http://rasa.test:5005/", token, fallback=fallback, client=client)


async def test_reads_a_rasa_answer(builtin_parser: BuiltinParser) -> None:
    seen: list[httpx.Request] = []
    answer = rasa_answer("subscribe", 0.97, [{"entity": "topic", "value": "water"}])

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    parser = parser_for(handle, builtin_parser)
    result = await parser.parse("habari, nataka kujiunga")
    assert (result.intent, result.confidence, result.source) == (Intent.SUBSCRIBE, 0.97, "rasa")
    assert result.entities == {"topic": "water"}
    assert result.language == "sw"
    assert seen[0].url.path == "/model/parse"
    assert seen[0].url.params["token"] == "s3cret"


@pytest.mark.parametrize(
    ("name", "confidence"), [("nlu_fallback", 0.5), ("order_pizza", 0.99), ("greet", 0.2)]
)
async def test_unknown_or_unsure_is_a_claim(
    builtin_parser: BuiltinParser, name: str, confidence: float
) -> None:
    parser = parser_for(rasa_answer(name, confidence), builtin_parser)
    result = await parser.parse("hello")
    assert (result.intent, result.source) == (Intent.CHECK_CLAIM, "rasa")


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("slow", request=request)


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize(
    "handler",
    [
        _timeout,
        _refused,
        lambda request: httpx.Response(401, json={"message": "auth"}),
        lambda request: httpx.Response(500, text="oops"),
        lambda request: httpx.Response(200, text="not json"),
        lambda request: httpx.Response(200, json=["a list"]),
        lambda request: httpx.Response(200, json={"intent": {"confidence": "high"}}),
        lambda request: httpx.Response(200, json={"intent": ["greet"]}),
    ],
    ids=["timeout", "refused", "401", "500", "not-json", "list", "bad-confidence", "bad-intent"],
)
async def test_falls_back_to_the_builtin(builtin_parser: BuiltinParser, handler: Handler) -> None:
    parser = parser_for(handler, builtin_parser)
    result = await parser.parse("thank you so much")
    assert (result.intent, result.source) == (Intent.THANKS, "builtin")


async def test_logs_an_outage_once_and_the_recovery_once(
    builtin_parser: BuiltinParser, caplog: pytest.LogCaptureFixture
) -> None:
    up = {"value": False}

    def handle(request: httpx.Request) -> httpx.Response:
        return rasa_answer("greet", 0.9)(request) if up["value"] else _refused(request)

    parser = parser_for(handle, builtin_parser)
    with caplog.at_level(logging.INFO, logger="nlu.rasa_client"):
        for _ in range(3):
            await parser.parse("hello")
        up["value"] = True
        for _ in range(3):
            await parser.parse("hello")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "s3cret" not in " ".join(messages)


async def test_blank_input_never_reaches_rasa(builtin_parser: BuiltinParser) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise AssertionError("Rasa should not be asked")

    parser = parser_for(handle, builtin_parser)
    assert (await parser.parse("")).intent is Intent.CHECK_CLAIM
    assert (await parser.parse("👍")).source == "builtin"


async def test_build_parser_chooses_by_url() -> None:
    assert isinstance(build_parser(None, None), BuiltinParser)
    parser = build_parser("http://127.0.0.1:5005", "t", timeout=0.1)
    assert isinstance(parser, RasaParser)
    await parser.aclose()
