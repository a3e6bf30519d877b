"""Telegram payloads -> InboundMessage, and the output half's rendering and error translation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.channels.base import DeliveryFailed
from bot.channels.telegram_parse import inbound_from_update
from bot.channels.telegram_send import keyboard, split_text, translated_errors
from domain.messages import Button, Media
from tests.fakes.telegram_api import TOKEN

BOT = Bot(TOKEN)
CHAT = {"id": 4242, "type": "private", "first_name": "Amina"}
USER = {"id": 4242, "is_bot": False, "first_name": "Amina", "language_code": "sw"}


def update(**message: Any) -> Update:
    body = {"message_id": 17, "date": 1764000000, "chat": CHAT, "from": USER, **message}
    return Update.de_json({"update_id": 9001, "message": body}, BOT)


def test_text_message() -> None:
    inbound = inbound_from_update(update(text="Is the water poisoned?"))
    assert inbound is not None
    assert (inbound.channel, inbound.sender, inbound.message_id) == ("telegram", "4242", "4242:17")
    assert inbound.text == "Is the water poisoned?" and inbound.media == ()
    assert inbound.language_hint == "sw" and not inbound.forwarded
    assert inbound.received_at == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


def test_forwarded_message() -> None:
    origin = {
        "type": "user",
        "date": 1763990000,
        "sender_user": {"id": 1, "is_bot": False, "first_name": "X"},
    }
    inbound = inbound_from_update(update(text="Share this!", forward_origin=origin))
    assert inbound is not None and inbound.forwarded


def test_forwarded_from_a_hidden_user_or_channel() -> None:
    for origin in (
        {"type": "hidden_user", "date": 1, "sender_user_name": "Someone"},
        {
            "type": "channel",
            "date": 1,
            "message_id": 5,
            "chat": {"id": -100123, "type": "channel", "title": "News"},
        },
    ):
        inbound = inbound_from_update(update(text="Share this!", forward_origin=origin))
        assert inbound is not None and inbound.forwarded


def test_photo_with_caption_takes_the_largest_size() -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 1280},
    ]
    inbound = inbound_from_update(update(photo=photo, caption="Look at this"))
    assert inbound is not None
    assert inbound.text == "Look at this"
    assert inbound.media == (Media("photo", "large", "image/jpeg"),)


def test_photo_takes_the_largest_size_under_the_download_limit() -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 900},
        {"file_id": "medium", "file_unique_id": "m", "width": 800, "height": 800,
         "file_size": 90_000},
        {"file_id": "large", "file_unique_id": "l", "width": 2560, "height": 2560,
         "file_size": 3_000_000},
    ]
    inbound = inbound_from_update(update(photo=photo), max_photo_bytes=100_000)
    assert inbound is not None
    assert inbound.media == (Media("photo", "medium", "image/jpeg", 90_000),)


@pytest.mark.parametrize(
    ("field", "payload", "kind"),
    [
        (
            "document",
            {"file_id": "d1", "file_unique_id": "u", "mime_type": "application/pdf"},
            "document",
        ),
        ("document", {"file_id": "d1", "file_unique_id": "u", "mime_type": "image/png"}, "image"),
        ("voice", {"file_id": "d1", "file_unique_id": "u", "duration": 2}, "voice"),
        (
            "video",
            {"file_id": "d1", "file_unique_id": "u", "width": 1, "height": 1, "duration": 1},
            "video",
        ),
        (
            "sticker",
            {
                "file_id": "d1",
                "file_unique_id": "u",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
            "sticker",
        ),
    ],
)
def test_attachments(field: str, payload: dict[str, Any], kind: str) -> None:
    inbound = inbound_from_update(update(**{field: payload}))
    assert inbound is not None and inbound.text == ""
    assert [m.kind for m in inbound.media] == [kind] and inbound.media[0].ref == "d1"


def test_a_gif_is_one_animation() -> None:
    gif = {
        "file_id": "g",
        "file_unique_id": "u",
        "width": 1,
        "height": 1,
        "duration": 1,
        "mime_type": "video/mp4",
    }
    inbound = inbound_from_update(update(animation=gif, document=gif))
    assert inbound is not None and [m.kind for m in inbound.media] == ["animation"]


def test_location_is_unsupported_media() -> None:
    inbound = inbound_from_update(update(location={"latitude": 1.0, "longitude": 2.0}))
    assert inbound is not None and [m.kind for m in inbound.media] == ["location"]


def test_reply_to_message() -> None:
    replied = {"message_id": 5, "date": 1764000000, "chat": CHAT, "text": "earlier"}
    inbound = inbound_from_update(update(text="yes", reply_to_message=replied))
    assert inbound is not None and inbound.reply_to_message_id == "5"


def test_button_press() -> None:
    message = {
        "message_id": 30,
        "date": 1764000000,
        "chat": CHAT,
        "from": {"id": 1, "is_bot": True, "first_name": "Bot"},
        "text": "Pick one",
    }
    query = {
        "id": "987654321",
        "from": USER,
        "message": message,
        "chat_instance": "-1",
        "data": "pick:3:7",
    }
    inbound = inbound_from_update(Update.de_json({"update_id": 1, "callback_query": query}, BOT))
    assert inbound is not None
    assert (inbound.sender, inbound.message_id) == ("4242", "cb:987654321")
    assert (inbound.callback_data, inbound.callback_id) == ("pick:3:7", "987654321")
    assert inbound.language_hint == "sw" and not inbound.is_command


def test_group_chats_edits_and_channel_posts_are_ignored() -> None:
    group = {"id": -100, "type": "supergroup", "title": "Neighbours"}
    assert inbound_from_update(update(text="hi", chat=group)) is None
    edited = {"message_id": 1, "date": 1, "edit_date": 2, "chat": CHAT, "text": "x"}
    assert (
        inbound_from_update(Update.de_json({"update_id": 2, "edited_message": edited}, BOT)) is None
    )
    post = {"message_id": 1, "date": 1, "chat": {"id": -1, "type": "channel"}, "text": "x"}
    assert inbound_from_update(Update.de_json({"update_id": 3, "channel_post": post}, BOT)) is None


def test_command() -> None:
    inbound = inbound_from_update(update(text="/subscribe health"))
    assert inbound is not None and inbound.is_command


# -- output --------------------------------------------------------------------------------
def test_split_text_keeps_short_texts_whole() -> None:
    assert split_text("hello") == ["hello"]
    assert split_text("") == [""]


def test_split_text_cuts_at_boundaries_and_loses_nothing() -> None:
    text = "\n\n".join("word " * 300 for _ in range(5)).strip()
    chunks = split_text(text)
    assert len(chunks) == 2 and all(len(c) <= 4096 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_split_text_counts_utf16_units_and_cuts_hard_without_spaces() -> None:
    emoji = "😀" * 3000  # 6000 UTF-16 units
    chunks = split_text(emoji)
    assert "".join(chunks) == emoji
    assert all(len(c.encode("utf-16-le")) // 2 <= 4096 for c in chunks)


def test_arabic_text_is_sent_as_is() -> None:
    assert split_text("هذا الخبر غير صحيح") == ["هذا الخبر غير صحيح"]


def test_keyboard_one_button_per_row() -> None:
    markup = keyboard((Button("Yes", "fb:1:1"), Button("No", "fb:1:0")))
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["fb:1:1"],
        ["fb:1:0"],
    ]
    assert keyboard(()) is None


def test_keyboard_refuses_callback_data_over_64_bytes() -> None:
    with pytest.raises(DeliveryFailed) as info:
        keyboard((Button("x", "pick:" + "9" * 60),))
    assert info.value.permanent


@pytest.mark.parametrize(
    ("error", "permanent", "retry_after"),
    [
        (RetryAfter(7), False, 7.0),
        (Forbidden("Forbidden: bot was blocked by the user"), True, None),
        (BadRequest("Bad Request: chat not found"), True, None),
        (TimedOut(), False, None),
        (NetworkError("connection reset"), False, None),
    ],
)
async def test_errors_are_translated(
    error: Exception, permanent: bool, retry_after: float | None
) -> None:
    with pytest.raises(DeliveryFailed) as info:
        async with translated_errors():
            raise error
    assert (info.value.permanent, info.value.retry_after) == (permanent, retry_after)
    assert info.value.__cause__ is error
    # a 429 is tried again later without counting as one of the row's failed attempts
    assert info.value.throttled == ("chat" if isinstance(error, RetryAfter) else None)
