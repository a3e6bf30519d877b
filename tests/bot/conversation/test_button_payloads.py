"""Button payloads keep the wire forms buttons already on residents' phones carry, and a stale
or forged callback decodes to nothing."""

from __future__ import annotations

import pytest

from bot.texts.buttons import (
    MAX_DATA,
    Action,
    ChooseLanguage,
    Confirm,
    Feedback,
    NoneOfThese,
    Payload,
    Pick,
    Subscribe,
    Unsubscribe,
    decode,
)

WIRE: list[tuple[Payload, str]] = [
    (Pick(12, 345), "pick:12:345"),
    (NoneOfThese(7), "none:7"),
    (Feedback(9, True), "fb:9:1"),
    (Feedback(9, False), "fb:9:0"),
    (ChooseLanguage("sw"), "lang:sw"),
    (Subscribe("health"), "sub:health"),
    (Unsubscribe("*"), "unsub:*"),
    (Confirm(Action.FORGET, True), "ok:forget:1"),
    (Confirm(Action.STOP, False), "ok:stop:0"),
    (Confirm(Action.SUBSCRIBE, True, "health"), "ok:sub:1:health"),
    (Confirm(Action.UNSUBSCRIBE, False, "*"), "ok:unsub:0:*"),
]


@pytest.mark.parametrize(("payload", "data"), WIRE, ids=[data for _, data in WIRE])
def test_a_payload_encodes_to_its_wire_form_and_back(payload: Payload, data: str) -> None:
    assert payload.encode() == data
    assert len(data) <= MAX_DATA
    assert decode(data) == payload
    assert type(decode(data)) is type(payload)


@pytest.mark.parametrize(
    "data",
    [
        None, "", "pick", "pick:", "pick:0:3", "pick:1:2:3", "pick:12345678901234567890:1",
        "none:", "none:x", "fb:3:2", "fb:3", "lang:e", "lang:engl", "lang:EN", "sub:",
        "sub:Health", "sub:a:b", "unsub:", "ok:bad:1", "ok:sub:1:", "ok:forget:2",
        "pick:1:2\n", " pick:1:2", "sub:" + "a" * 21, "x" * (MAX_DATA + 1),
    ],
)
def test_stale_or_forged_data_decodes_to_nothing(data: str | None) -> None:
    assert decode(data) is None
