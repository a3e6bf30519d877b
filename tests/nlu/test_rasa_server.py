"""Against a real Rasa server (started by tests/nlu/conftest.py from .rasa-venv)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nlu import BuiltinParser, Intent, RasaParser

from .conftest import RasaServer, free_port
from .samples import EDGE_CASES, LONG_CHAIN, PHRASE_IDS, PHRASES

pytestmark = pytest.mark.rasa


@pytest.fixture
async def rasa(rasa_server: RasaServer, builtin_parser: BuiltinParser) -> AsyncIterator[RasaParser]:
    parser = RasaParser(rasa_server.url, rasa_server.token, builtin_parser, timeout=10.0)
    yield parser
    await parser.aclose()


@pytest.mark.parametrize(("language", "intent", "text"), PHRASES, ids=PHRASE_IDS)
async def test_each_intent_in_each_language(
    rasa: RasaParser, language: str, intent: Intent, text: str
) -> None:
    result = await rasa.parse(text)
    assert (result.intent, result.source) == (intent, "rasa")


async def test_entities_come_back_normalised(rasa: RasaParser) -> None:
    result = await rasa.parse("switch to Kiswahili")
    assert result.intent is Intent.CHANGE_LANGUAGE
    assert result.entities.get("language") == "sw"


async def test_a_long_chain_message_is_a_claim(rasa: RasaParser) -> None:
    assert (await rasa.parse(LONG_CHAIN)).intent is Intent.CHECK_CLAIM


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
async def test_odd_input_gets_a_reading(rasa: RasaParser, text: str) -> None:
    result = await rasa.parse(text)
    assert 0.0 <= result.confidence <= 1.0


async def test_wrong_token_falls_back(
    rasa_server: RasaServer, builtin_parser: BuiltinParser
) -> None:
    parser = RasaParser(rasa_server.url, "wrong-token", builtin_parser, timeout=10.0)
    try:
        result = await parser.parse("thank you so much")
    finally:
        await parser.aclose()
    assert (result.intent, result.source) == (Intent.THANKS, "builtin")


async def test_rasa_down_falls_back(rasa_server: RasaServer, builtin_parser: BuiltinParser) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    parser = RasaParser(nobody, rasa_server.token, builtin_parser, timeout=0.3)
    try:
        result = await parser.parse("stop sending me these")
    finally:
        await parser.aclose()
    assert (result.intent, result.source) == (Intent.UNSUBSCRIBE, "builtin")
