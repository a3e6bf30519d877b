"""The built-in parser's memory of readings is sized by RUMOURBOT_PARSE_CACHE_SIZE: a crisis
day of texts never seen before (each new claim is different) keeps at most that many."""

from __future__ import annotations

from bot.runtime.wiring import parser_from
from domain.settings import Settings
from nlu import BuiltinParser, Intent


async def test_new_texts_past_the_bound_push_out_the_oldest_readings() -> None:
    settings = Settings(_env_file=None, parse_cache_size=50)  # type: ignore[call-arg]
    parser = parser_from(settings)
    assert isinstance(parser, BuiltinParser)
    first = await parser.parse("hello")
    for n in range(300):  # 300 residents, 300 different claims
        reading = await parser.parse(f"Is it true that the market {n} will be closed tomorrow?")
        assert reading.intent == Intent.CHECK_CLAIM
    assert len(parser._readings) == 50  # noqa: SLF001 - the bound is what is tested
    again = await parser.parse("hello")  # forgotten, read afresh: the same reading
    assert (again.intent, again.confidence) == (first.intent, first.confidence)

