"""Telegram's output half: texts split to the platform limit, buttons as an inline keyboard,
pictures (share cards) as photos with the text as caption, edits of a sent message, the group
admin check, and PTB errors translated into `DeliveryFailed` at the boundary."""

from __future__ import annotations

import contextlib
import datetime as dtm
import warnings
from collections.abc import AsyncIterator, Sequence

from telegram import Bot, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels.base import DeliveryFailed
from domain.messages import Button, OutboundMessage

MAX_TEXT = 4096  # characters (Telegram counts UTF-16 code units; see `_units`)
MAX_CALLBACK_DATA = 64  # bytes
MAX_BUTTON_LABEL = 64
MAX_CAPTION = 1024  # a photo's caption, in UTF-16 units like texts
ADMIN_STATUSES = (ChatMember.OWNER, ChatMember.ADMINISTRATOR)


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` units, cut at a paragraph, line, or word boundary if possible."""
    chunks: list[str] = []
    rest = text
    while _units(rest) > limit:
        head = _prefix_within(rest, limit)
        cut = max(head.rfind("\n\n"), head.rfind("\n"), head.rfind(" "))
        if cut < len(head) // 2:  # no boundary in the second half: cut hard
            cut = len(head)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _prefix_within(text: str, limit: int) -> str:
    end = min(len(text), limit)
    while _units(text[:end]) > limit:
        end -= 1
    return text[:end]


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row; data longer than Telegram's 64 bytes is refused here, not there."""
    if not buttons:
        return None
    rows = []
    for button in buttons:
        if len(button.data.encode("utf-8")) > MAX_CALLBACK_DATA:
            raise DeliveryFailed(f"button data over {MAX_CALLBACK_DATA} bytes", permanent=True)
        label = button.label if len(button.label) <= MAX_BUTTON_LABEL else button.label[:63] + "…"
        rows.append([InlineKeyboardButton(label, callback_data=button.data)])
    return InlineKeyboardMarkup(rows)


def retry_seconds(error: RetryAfter) -> float:
    """`RetryAfter.retry_after` as seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():  # PTB 22 warns about the int -> timedelta migration
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@contextlib.asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Raise `DeliveryFailed` for every PTB error: permanent, retryable, or retry after."""
    try:
        yield
    except RetryAfter as exc:
        # a "slow down", not a failed attempt: Telegram does not say whether the chat's limit
        # or the bot's was hit, so the chat waits (and waits longer if it repeats) rather than
        # one busy group pausing every resident's answers
        raise DeliveryFailed(
            "telegram: rate limited", retry_after=retry_seconds(exc), throttled="chat"
        ) from exc
    except Forbidden as exc:  # blocked by the user, or deactivated: never retry
        raise DeliveryFailed(f"telegram: forbidden: {exc.message}", permanent=True) from exc
    except BadRequest as exc:
        raise DeliveryFailed(f"telegram: bad request: {exc.message}", permanent=True) from exc
    except NetworkError as exc:  # includes TimedOut
        raise DeliveryFailed(f"telegram: network: {type(exc).__name__}") from exc
    except TelegramError as exc:
        raise DeliveryFailed(f"telegram: {type(exc).__name__}") from exc


def reply_parameters(reply_to: str | None) -> ReplyParameters | None:
    """Quote `reply_to` ("message" or "chat:message"); sent anyway if it was deleted."""
    message_id = (reply_to or "").rsplit(":", 1)[-1]
    if not message_id.isdigit():
        return None
    return ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)


async def send_rich(bot: Bot, message: OutboundMessage) -> str | None:
    """A message with a picture (a photo, the text as its caption when it fits; otherwise the
    photo, then the text), or an edit of one sent before. Returns the platform's message id.

    A picture Telegram cannot fetch does not lose the words: the text goes on its own."""
    markup = keyboard(message.buttons)
    async with translated_errors():
        if message.edits is not None:
            return await _edit(bot, message, markup)
        assert message.image is not None  # noqa: S101 - the caller checked
        fits = _units(message.text) <= MAX_CAPTION
        reply = reply_parameters(message.reply_to)
        try:
            photo = await bot.send_photo(
                chat_id=message.chat_id, photo=message.image.url,
                caption=message.text if fits else None,
                reply_markup=markup if fits else None, reply_parameters=reply)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise
            photo, fits = None, False  # the picture could not be fetched: the words still go
        sent_id = str(photo.message_id) if photo is not None else None
        if fits:
            return sent_id
        chunks = split_text(message.text)
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            sent = await bot.send_message(
                chat_id=message.chat_id, text=chunk, reply_markup=markup if last else None,
                reply_parameters=reply if photo is None and i == 0 else None)
            sent_id = sent_id or str(sent.message_id)
        return sent_id


async def _edit(bot: Bot, message: OutboundMessage, markup: InlineKeyboardMarkup | None) -> str:
    """Change a message sent before (a correction of a channel post): its caption when it has
    a picture, else its text. An unchanged message is not an error."""
    assert message.edits is not None  # noqa: S101 - the caller checked
    message_id = int(message.edits.rsplit(":", 1)[-1])
    try:
        if message.image is not None and _units(message.text) <= MAX_CAPTION:
            await bot.edit_message_caption(chat_id=message.chat_id, message_id=message_id,
                                           caption=message.text, reply_markup=markup)
        else:
            await bot.edit_message_text(chat_id=message.chat_id, message_id=message_id,
                                        text=split_text(message.text)[0], reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
    return str(message_id)


async def chat_admin(bot: Bot, chat_id: str, user_id: str) -> bool:
    """Whether `user_id` is the owner or an administrator of the group (getChatMember)."""
    async with translated_errors():
        member = await bot.get_chat_member(chat_id=int(chat_id), user_id=int(user_id))
    return member.status in ADMIN_STATUSES
