"""Telegram's input half: one PTB `Update` becomes one `InboundMessage` (or nothing).

Private chats are served whole. In a group only what may concern the bot is let in: a
forwarded message, a member asking (a mention of the bot, or `/check` as a reply), and the
`/quiet` and `/unquiet` commands. Everything else (the group's chatter) becomes nothing here:
never stored, never answered, never queued. Nothing past this module sees Telegram objects.
"""

from __future__ import annotations

from telegram import CallbackQuery, Message, MessageEntity, Update

from domain.messages import GROUP, InboundMessage, Media

CHANNEL = "telegram"
# attachments without a file of their own: shown to the conversation as unsupported media
_NON_FILE_KINDS = ("location", "venue", "contact", "poll", "dice", "game", "story")


PHOTO_BYTES = 10_000_000
GROUP_COMMANDS = ("/check", "/quiet", "/unquiet")
CHECK = "/check"


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
    if chat.type in (chat.GROUP, chat.SUPERGROUP):
        return _from_group(message, channel)
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


def _from_group(message: Message, channel: str) -> InboundMessage | None:
    """A group message that concerns the bot, or None (chatter, other bots' commands)."""
    text = message.text or message.caption or ""
    username = _bot_username(message)
    command, argument = _command(message, text, username)
    reply = message.reply_to_message
    quoted = (reply.text or reply.caption or "") if reply is not None else ""
    forwarded, asked, target = message.forward_origin is not None, False, message
    if command is not None:
        if command not in GROUP_COMMANDS:
            return None  # /start, /help, another bot's command: the bot stays quiet
        text = command
        if command == CHECK:  # what to check: the words after it, or the message replied to
            asked, text = True, argument or quoted
            if not argument and reply is not None:
                forwarded, target = reply.forward_origin is not None, reply
    elif _mentions(message, text, username):
        asked, text = True, _without_mention(text, username)
        if not text and reply is not None:
            text, target = quoted, reply
    elif not forwarded:
        return None
    user = message.from_user
    author = message.sender_chat.id if message.sender_chat is not None else (
        user.id if user is not None else None)
    return InboundMessage(
        channel=channel,
        sender=str(message.chat.id),
        message_id=f"{message.chat.id}:{message.message_id}",
        text=text,
        forwarded=forwarded,
        language_hint=user.language_code if user is not None else None,
        reply_to_message_id=str(target.message_id),
        received_at=message.date,
        chat_kind=GROUP,
        author=str(author) if author is not None else None,
        asked=asked,
    )


def _bot_username(message: Message) -> str | None:
    try:
        name = message.get_bot().username
    except RuntimeError:  # a message built without a bot (tests), or before initialize()
        return None
    return name.lower() if name else None


def _command(message: Message, text: str, username: str | None) -> tuple[str | None, str]:
    """("/check", "the words after it") when the message starts with a command for this bot."""
    entities = message.entities or message.caption_entities or ()
    if not any(e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities):
        return None, ""
    head, _, argument = text.strip().partition(" ")
    name, _, target = head.partition("@")
    if target and (username is None or target.lower() != username):
        return "", ""  # addressed to another bot in the group
    return name.lower(), argument.strip()


def _mentions(message: Message, text: str, username: str | None) -> bool:
    if username is None:
        return False
    entities = message.entities or message.caption_entities or ()
    for entity in entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            if (entity.user.username or "").lower() == username:
                return True
        if entity.type == MessageEntity.MENTION:
            if _entity_text(text, entity).lstrip("@").lower() == username:
                return True
    return False


def _entity_text(text: str, entity: MessageEntity) -> str:
    """An entity's text: Telegram counts offsets in UTF-16 code units."""
    units = text.encode("utf-16-le")
    return units[2 * entity.offset: 2 * (entity.offset + entity.length)].decode(
        "utf-16-le", errors="ignore")


def _without_mention(text: str, username: str | None) -> str:
    if username is None:
        return text
    words = [w for w in text.split() if w.strip(",.:;!?").lstrip("@").lower() != username]
    return " ".join(words).strip()


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
