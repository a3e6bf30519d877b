"""Candidates can be told apart on every channel: the body lists each claim in full, numbered,
with its verdict; the buttons carry the numbers (WhatsApp: a list of rows when more than three
options, titles 24 and descriptions 72 characters; Telegram: an inline keyboard; text channels:
numbered lines)."""

from __future__ import annotations

from bot.channels import whatsapp_render as render
from bot.channels.telegram_send import keyboard
from bot.texts import replies
from domain.models import KnowledgeItem

CLAIMS = [
    ("The city will cut off all water supply for two weeks starting Monday", "false"),
    ("The city has banned all public gatherings in the market until further notice", "misleading"),
    ("The city will give free bus rides to every resident during the strike", "true"),
]


def items(count: int) -> list[KnowledgeItem]:
    return [
        KnowledgeItem(id=n, claim=claim, verdict=verdict, explanation="", language="en")
        for n, (claim, verdict) in enumerate(CLAIMS[:count], start=1)
    ]


def test_whatsapp_more_than_three_options_are_list_rows_with_numbers() -> None:
    message = replies.suggestion_message("254700000001", 7, items(3), "en")
    [body] = render.free_form(message)
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    shown = interactive["body"]["text"]
    for number, (claim, _) in enumerate(CLAIMS, start=1):
        assert f"{number}. " in shown and claim in shown  # each claim in full, numbered
    assert "1. ❌ FALSE: “The city will cut off" in shown
    assert "2. ⚠️ MISLEADING: “The city has banned" in shown
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["title"][:2] for r in rows[:3]] == ["1.", "2.", "3."]
    assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
    assert rows[-1]["title"] == "None of these" and rows[-1]["id"] == "none:7"


def test_whatsapp_up_to_three_options_are_numbered_reply_buttons() -> None:
    message = replies.suggestion_message("254700000001", 8, items(2), "en")
    [body] = render.free_form(message)
    buttons = body["interactive"]["action"]["buttons"]
    titles = [b["reply"]["title"] for b in buttons]
    assert titles[0].startswith("1. ") and titles[1].startswith("2. ") and len(set(titles)) == 3
    assert all(len(t) <= 20 for t in titles)
    assert (
        "1. ❌ FALSE: “The city will cut off all water supply"
        in body["interactive"]["body"]["text"]
    )


def test_telegram_and_text_channels_carry_the_numbers() -> None:
    message = replies.suggestion_message("42", 9, items(3), "en")
    markup = keyboard(message.buttons)
    assert markup is not None
    labels = [row[0].text for row in markup.inline_keyboard]
    assert [label[:2] for label in labels[:3]] == ["1.", "2.", "3."]
    plain = message.as_plain_text()
    assert "\n1. The city will cut off" in plain and "1. 1." not in plain
    assert "\n4. None of these" in plain
