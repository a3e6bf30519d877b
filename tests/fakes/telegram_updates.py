"""Updates shaped exactly like the ones Telegram sends, for the fake Bot API server.

`message_update`, `photo_update` and `button_update` return `{"update_id", "message"}` or
`{"update_id", "callback_query"}` dicts as documented in the Bot API: private chats, `from`
with `language_code`, `forward_origin` for forwards, `photo` as a list of sizes, and
`callback_query` with the bot message it belongs to.
"""

from __future__ import annotations

import itertools
import time
from typing import Any


class TelegramUpdates:
    """Builders mixed into `FakeTelegram`; they share its ids, files and sent messages."""

    bot_user: dict[str, Any]
    _ids: itertools.count[int]
    _update_ids: itertools.count[int]

    def add_file(self, content: bytes, file_path: str | None = None) -> str:
        raise NotImplementedError

    def sent_to(self, chat_id: int | str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def user(self, chat_id: int, language: str = "en") -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Amina", "language_code": language}

    def message_update(self, chat_id: int, text: str | None = None, *, language: str = "en",
                       forwarded: bool = False, **fields: Any) -> dict[str, Any]:
        """`{"update_id", "message": {...}}` from a resident in a private chat."""
        message: dict[str, Any] = {
            "message_id": next(self._ids), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Amina"},
            "from": self.user(chat_id, language),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if forwarded:
            message["forward_origin"] = {"type": "user", "date": int(time.time()) - 3600,
                                         "sender_user": {"id": 777000111, "is_bot": False,
                                                         "first_name": "Someone"}}
        message.update(fields)
        return {"update_id": next(self._update_ids), "message": message}

    def group_update(self, group_id: int, user_id: int, text: str, *, language: str = "en",
                     forwarded: bool = False, reply_to: dict[str, Any] | None = None,
                     mention: bool = False, title: str = "Kibera mothers") -> dict[str, Any]:
        """A member's message in a group the bot is in: a command gets a `bot_command`
        entity, `mention` puts "@<bot username>" first (a `mention` entity), `reply_to` is
        the message (as in another update's "message") this one answers."""
        if mention:
            text = f"@{self.bot_user['username']} {text}".rstrip()
        update = self.message_update(user_id, text, language=language, forwarded=forwarded)
        message = update["message"]
        message["chat"] = {"id": group_id, "type": "supergroup", "title": title}
        if mention:
            length = len(self.bot_user["username"]) + 1
            message["entities"] = [{"type": "mention", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return update

    def photo_update(self, chat_id: int, caption: str | None = None, *,
                     content: bytes = b"\xff\xd8\xff\xe0fake-jpeg", **kw: Any) -> dict[str, Any]:
        file_id = self.add_file(content)
        sizes = [{"file_id": f"{file_id}-s", "file_unique_id": "AQADs", "width": 90, "height": 67,
                  "file_size": 1200},
                 {"file_id": file_id, "file_unique_id": "AQADm", "width": 1280, "height": 960,
                  "file_size": len(content)}]
        fields: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return self.message_update(chat_id, **kw, **fields)

    def file_update(self, chat_id: int, kind: str, content: bytes, *,
                    mime_type: str | None = None, duration: int = 5, file_name: str | None = None,
                    caption: str | None = None, **kw: Any) -> dict[str, Any]:
        """A voice note, audio, video, video note or document carrying `content`."""
        folder = {"voice": "voice", "audio": "music", "video": "videos",
                  "video_note": "video_notes", "document": "documents"}[kind]
        file_id = self.add_file(content, f"{folder}/file_{next(self._ids)}.bin")
        attachment: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"AgAD{file_id[-6:]}",
                                      "file_size": len(content)}
        if kind in ("voice", "audio", "video", "video_note"):
            attachment["duration"] = duration
        if kind in ("video", "video_note"):
            attachment.update({"width": 640, "height": 640} if kind == "video"
                              else {"length": 240})
        if mime_type is not None and kind != "video_note":
            attachment["mime_type"] = mime_type
        if file_name is not None:
            attachment["file_name"] = file_name
        fields: dict[str, Any] = {kind: attachment}
        if caption is not None:
            fields["caption"] = caption
        return self.message_update(chat_id, **kw, **fields)

    def button_update(self, chat_id: int, data: str, *, language: str = "en") -> dict[str, Any]:
        """A press of the button carrying `data` on the latest bot message that has it."""
        shown = [m for m in self.sent_to(chat_id)
                 if any(b.get("callback_data") == data
                        for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                        for b in row)]
        source = shown[-1] if shown else None
        query: dict[str, Any] = {"id": str(4_000_000_000 + next(self._ids)),
                                 "from": self.user(chat_id, language),
                                 "chat_instance": "-5842716934581273", "data": data}
        if source is not None:
            query["message"] = self._message_object(source)
        return {"update_id": next(self._update_ids), "callback_query": query}

    def _message_object(self, record: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": record["message_id"], "from": self.bot_user,
                   "chat": {"id": record["chat_id"], "first_name": "Amina", "type": "private"},
                   "date": record["date"], "text": record["text"]}
        if record.get("reply_markup"):
            message["reply_markup"] = record["reply_markup"]
        return message

