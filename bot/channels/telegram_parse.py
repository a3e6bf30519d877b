"""Telegram's input half: one PTB `Update` becomes one `InboundMessage` (or nothing).

Only private chats are served: a tipline answering in groups would speak to everyone there.
Nothing past this module sees Telegram objects.
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update

from domain.messages import InboundMessage, Media

CHANNEL = "telegram"
# attachments without a file of their own: shown to the conversation as unsupported media
_NON_FILE_KINDS = ("location", "venue", "contact", "poll", "dice", "game", "story")


PHOTO_BYTES = 10_000_000


def inbound_from_update(update: Update, channel: str = CHANNEL,
                        max_photo_bytes: int = PHOTO_BYTES) -> InboundMessage | None:
    """The resident's message or button press in `update`; None for anything we do not serve."""
    if update.callback_query is not None:
        return _from_callback(update.callback_query, channel)
    if update.message is not None:
        return _from_message(update.message, channel, max_photo_bytes)
    return None  # edited messages, channel posts, member updates, ...


def _from_message(message: Message, channel: str,
                  max_photo_bytes: int = PHOTO_BYTES) -> InboundMessage | None:
    chat = message.chat
    if chat.type != chat.PRIVATE:
        return None
    user = message.from_user
    reply = message.reply_to_message
    return InboundMessage(
        channel=channel,
        sender=str(chat.id),
        message_id=f"{chat.id}:{message.message_id}",
        text=message.text or message.caption or "",
        media=media_of(message, max_photo_bytes),
        forwarded=message.forward_origin is not None,
        language_hint=user.language_code if user is not None else None,
        reply_to_message_id=str(reply.message_id) if reply is not None else None,
        received_at=message.date,
    )


def _from_callback(query: CallbackQuery, channel: str) -> InboundMessage | None:
    message = query.message
    if message is not None and message.chat.type != message.chat.PRIVATE:
        return None
    sender = message.chat.id if message is not None else query.from_user.id
    return InboundMessage(
        channel=channel,
        sender=str(sender),
        message_id=f"cb:{query.id}",
        callback_data=query.data or "",
        callback_id=query.id,
        language_hint=query.from_user.language_code,
    )


def media_of(message: Message, max_photo_bytes: int = PHOTO_BYTES) -> tuple[Media, ...]:
    """References to the message's attachments (of a photo, the largest size under the limit;
    Telegram lists the sizes smallest first)."""
    found: list[Media] = []
    if message.photo:
        fitting = [p for p in message.photo if (p.file_size or 0) <= max_photo_bytes]
        best = fitting[-1] if fitting else message.photo[0]
        found.append(Media("photo", best.file_id, "image/jpeg", best.file_size))
    if message.document is not None and message.animation is None:  # GIFs carry both
        mime = message.document.mime_type
        kind = "image" if mime and mime.startswith("image/") else "document"
        found.append(Media(kind, message.document.file_id, mime, message.document.file_size))
    for kind in ("voice", "audio", "video", "video_note", "animation", "sticker"):
        attachment = getattr(message, kind)
        if attachment is not None:
            found.append(Media(kind, attachment.file_id, getattr(attachment, "mime_type", None),
                               getattr(attachment, "file_size", None)))
    found += [Media(kind, "") for kind in _NON_FILE_KINDS if getattr(message, kind) is not None]
    return tuple(found)
