"""The WhatsApp channel's pure parts: parsing, rendering, error classification, receipts,
configuration and its documentation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.channels import whatsapp_render as render
from bot.channels.base import Receipt
from bot.channels.whatsapp import receipt
from bot.channels.whatsapp_parse import (
    STOP_COMMAND,
    inbound_messages,
    is_stop_word,
    signature_valid,
    status_updates,
)
from bot.channels.whatsapp_send import GraphError
from domain.messages import Button, OutboundMessage
from domain.settings import Settings
from tests.fakes import graph_api as meta

DOC = Path(__file__).resolve().parents[3] / "docs" / "whatsapp.md"


def test_every_whatsapp_setting_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    fields = [name for name in Settings.model_fields if name.startswith("whatsapp_")]
    assert fields
    for name in fields:
        assert re.search(rf"^\| `?RUMOURBOT_{name.upper()}`? \|", doc, re.MULTILINE), name


def test_signature_is_over_the_exact_bytes() -> None:
    raw = meta.encode(meta.text_payload("1", "hi"))
    assert signature_valid(raw, meta.sign(raw), meta.APP_SECRET)
    assert not signature_valid(raw + b" ", meta.sign(raw), meta.APP_SECRET)
    assert not signature_valid(raw, None, meta.APP_SECRET)
    assert not signature_valid(raw, meta.sign(raw).removeprefix("sha256="), meta.APP_SECRET)


def test_parse_text_forwarded_and_timestamp() -> None:
    payload = meta.text_payload("16505551234", "Does it come in another color?", forwarded=True,
                                timestamp=1749416383)
    [message] = inbound_messages(payload, meta.PHONE_NUMBER_ID)
    assert message.channel == "whatsapp" and message.sender == "16505551234"
    assert message.message_id.startswith("wamid.") and message.forwarded
    assert message.text == "Does it come in another color?"
    assert int(message.received_at.timestamp()) == 1749416383
    assert inbound_messages(payload, "another-number") == []


def test_parse_image_buttons_and_template_quick_replies() -> None:
    [image] = inbound_messages(meta.image_payload("1", caption="look"))
    assert image.text == "look" and image.media[0].kind == "image"
    assert image.media[0].ref == "1003383421387256" and image.media[0].mime_type == "image/jpeg"
    [button] = inbound_messages(meta.button_reply_payload("1", "fb:12:1", "Yes", "wamid.out"))
    assert button.callback_data == "fb:12:1" and button.reply_to_message_id == "wamid.out"
    [row] = inbound_messages(meta.list_reply_payload("1", "pick:12:34", "Claim", "wamid.out"))
    assert row.callback_data == "pick:12:34"
    [quick] = inbound_messages(meta.template_button_payload("1", "fb:3:0", "No", "wamid.out"))
    assert quick.callback_data == "fb:3:0"
    [plain] = inbound_messages(meta.template_button_payload("1", "Yes", "Yes", "wamid.out"))
    assert plain.callback_data is None and plain.text == "Yes"


def test_reactions_are_ignored() -> None:
    payload = meta.message_payload("1", "reaction", {"message_id": "wamid.out", "emoji": "👍"})
    assert inbound_messages(payload) == []


@pytest.mark.parametrize("text", ["STOP", " stop! ", "Stop All", "ACHA", "baja.", "توقف", "रोकें"])
def test_stop_words(text: str) -> None:
    assert is_stop_word(text)
    [message] = inbound_messages(meta.text_payload("1", text))
    assert message.text == STOP_COMMAND


@pytest.mark.parametrize("text", ["stop the rumour about water", "bus stop closed", "बंद", "end"])
def test_sentences_are_not_stop_words(text: str) -> None:
    assert not is_stop_word(text)


def test_status_updates_carry_error_codes() -> None:
    [status] = status_updates(meta.status_payload("wamid.A", "1", "failed", error_code=131050))
    assert (status.message_id, status.status, status.recipient) == ("wamid.A", "failed", "1")
    assert status.error_codes == (131050,)
    assert receipt(status) == Receipt("wamid.A", "failed", "1", opted_out=True)
    [late] = status_updates(meta.status_payload("wamid.B", "1", "failed", error_code=131047))
    assert receipt(late).window_closed and not receipt(late).opted_out
    [read] = status_updates(meta.status_payload("wamid.C", "1", "read"))
    assert receipt(read) == Receipt("wamid.C", "read", "1")


def test_split_text_is_clean() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 300 for i in range(10))
    pieces = render.split_text(text)
    assert all(len(p) <= render.TEXT_LIMIT for p in pieces) and len(pieces) > 2
    assert all(p.startswith("Paragraph") for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())
    unbroken = "x" * 10_000
    assert "".join(render.split_text(unbroken)) == unbroken


def _message(n: int, label: str = "Choice") -> OutboundMessage:
    buttons = tuple(Button(f"{label} number {i} with a rather long label", f"pick:1:{i}")
                    for i in range(n))
    return OutboundMessage(chat_id="1", text="Is it one of these?", buttons=buttons, language="en")


def test_three_buttons_become_reply_buttons_with_short_unique_titles() -> None:
    [body] = render.free_form(_message(3))
    interactive = body["interactive"]
    assert interactive["type"] == "button" and interactive["body"]["text"] == "Is it one of these?"
    titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    assert all(len(t) <= 20 for t in titles) and len(set(titles)) == 3
    assert [b["reply"]["id"] for b in interactive["action"]["buttons"]] == [
        "pick:1:0", "pick:1:1", "pick:1:2"]


def test_more_buttons_become_a_list() -> None:
    [body] = render.free_form(_message(12))
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert all(len(r["title"]) <= 24 and len(r["description"]) <= 72 for r in rows)
    assert len(interactive["action"]["button"]) <= 20


def test_long_text_goes_first_then_the_interactive_part_and_quotes() -> None:
    text = ("A long verdict. " * 200).strip() + "\n\nWas this helpful?"
    message = OutboundMessage(chat_id="1", text=text, reply_to="wamid.IN",
                              buttons=(Button("Yes", "fb:1:1"), Button("No", "fb:1:0")))
    bodies = render.free_form(message)
    assert [b["type"] for b in bodies] == ["text", "interactive"]
    assert bodies[0]["context"] == {"message_id": "wamid.IN"}
    assert bodies[1]["interactive"]["body"]["text"] == "Was this helpful?"


def test_template_parameters_have_no_new_lines() -> None:
    message = OutboundMessage(chat_id="1", text="x", template="broadcast",
                              template_params=("Line one\n\nLine\ttwo     three",))
    body = render.template(message, "verified_update", "sw")
    assert body["template"]["language"] == {"code": "sw"}
    assert body["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "Line one Line two three"}]}]


@pytest.mark.parametrize("code,status,permanent,retry", [
    (131026, 400, True, None), (131050, 400, True, None), (130429, 400, False, 5.0),
    (131056, 400, False, 60.0), (80007, 400, False, 60.0), (131000, 500, False, None),
    (190, 401, False, None), (0, 0, False, None),
])
def test_error_classification(code: int, status: int, permanent: bool, retry: Any) -> None:
    error = GraphError("x", code=code, status=status)
    assert error.permanent is permanent
    assert error.wait_seconds == retry
