"""`rumourbot chat`: the whole journey in a terminal, through the same conversation core.

Each session is its own resident on its own channel name (`chat-<session>`, or
`<channel>-<session>` with `--channel`), with message ids of its own: two chats on one database,
or a chat beside `rumourbot run`, never share a resident, never collide in the inbox, and never
deliver each other's replies. This process dispatches only its own channel and runs none of the
workers' jobs (recovery, connectors, retention), which belong to the running service.

With `--script FILE`, every line is one message (`[button N]` presses button N of the latest
message that had buttons); `--json` prints one JSON object per turn: what was sent, every reply
with its buttons, the decision (answer / suggest / queue, item ids and scores) and the resident's
state afterwards.

A line that is the path of an existing local file (or `/file PATH`) sends that file, as a
resident's photo, screenshot, voice note or video: it goes through the same media pipeline as
Telegram's and WhatsApp's files (kind from its first bytes, size limits, polite refusals), and
this process reads it at once (only this session's files, never the service's).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.channels.collecting import CollectingChannel
from bot.media.errors import MediaUnavailable
from bot.media.uploads import LocalUploads, read_limited, refusal
from bot.runtime.app import Runtime
from bot.runtime.wiring import background
from domain.messages import Button, InboundMessage, Media, OutboundMessage
from domain.models import OutboxMessage, OutboxStatus, Request, Resident
from domain.settings import Settings

BUTTON = re.compile(r"\[button\s+(\d+)\]", re.IGNORECASE)
FILE_COMMAND = re.compile(r"/file\s+(.+)", re.IGNORECASE)
MAX_PATH = 4096
DELIVERY_TIMEOUT = 15.0


class TerminalChannel(CollectingChannel):
    """The session's channel: records replies, and hands the media worker the files sent."""

    def __init__(self, name: str, uploads: LocalUploads | None = None) -> None:
        super().__init__(name)
        self.uploads = uploads

    async def download(self, media: Media, max_bytes: int) -> bytes:
        if self.uploads is None:
            raise MediaUnavailable("this chat takes no files")
        return await self.uploads.download(media, max_bytes)

    def attach(self, path: Path) -> Media:
        """The file at `path` as a resident's attachment (or why it is refused)."""
        if self.uploads is None:
            raise MediaUnavailable("this chat takes no files")
        try:
            data = read_limited(path, self.uploads.largest)
        except OSError:
            return refusal("!unreadable")
        return self.uploads.accept(data)


@dataclass
class ChatSession:
    """One resident talking to the bot; `send` returns what the turn produced."""

    runtime: Runtime
    channel: CollectingChannel
    chat_id: str
    language_hint: str | None = None
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    buttons: list[Button] = field(default_factory=list)
    _count: int = 0
    _shown: int = 0

    async def send(
        self, line: str, press: int | None = None, file: Path | None = None
    ) -> dict[str, Any]:
        """Send `line` (or press button `press`, counted from 1, or send `file`); the turn's
        outcome."""
        self._count += 1
        message_id = f"{self.session}-{self._count}"
        pressed: Button | None = None
        if press is not None:
            if not 0 < press <= len(self.buttons):
                return {
                    "turn": self._count,
                    "sent": {"button": press},
                    "error": f"no button {press}",
                    "replies": [],
                    "decision": None,
                    "resident": await self._resident(),
                }
            pressed = self.buttons[press - 1]
        media: tuple[Media, ...] = ()
        if file is not None and isinstance(self.channel, TerminalChannel):
            media = (await asyncio.to_thread(self.channel.attach, file),)
        await self.runtime.conversation.handle(
            InboundMessage(
                channel=self.channel.name,
                sender=self.chat_id,
                message_id=message_id,
                text="" if pressed or media else line,
                media=media,
                callback_data=pressed.data if pressed else None,
                language_hint=self.language_hint,
            )
        )
        if media:
            await self._delivered()  # "I am listening..." first
            while await self.runtime.conversation.media.run_once(channel=self.channel.name):
                pass
        await self._delivered()
        replies = self.channel.sent[self.chat_id][self._shown :]
        self._shown += len(replies)
        for reply in replies:
            if reply.buttons:
                self.buttons = list(reply.buttons)
        return {
            "turn": self._count,
            "sent": {"button": press, "label": pressed.label} if pressed
            else {"file": str(file)} if media else line,
            "replies": [_reply(r) for r in replies],
            "decision": await self._decision(message_id),
            "resident": await self._resident(),
        }

    async def _delivered(self) -> None:
        """Wait until nothing this session's resident is owed is still waiting to be sent."""
        waiting = (OutboxStatus.PENDING, OutboxStatus.SENDING)
        query = select(func.count()).where(
            OutboxMessage.channel == self.channel.name, OutboxMessage.status.in_(waiting)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DELIVERY_TIMEOUT
        while loop.time() < deadline:
            async with self.runtime.services.db.session() as session:
                if not await session.scalar(query):
                    return
            self.runtime.services.dispatcher.wake()
            await asyncio.sleep(0.02)

    async def _decision(self, message_id: str) -> dict[str, Any] | None:
        async with self.runtime.services.db.session() as session:
            request = await session.scalar(
                select(Request)
                .join(Resident, Request.resident_id == Resident.id)
                .where(
                    Resident.channel == self.channel.name,
                    Resident.chat_id == self.chat_id,
                    Request.platform_message_id == message_id,
                )
            )
            if request is None:
                return None
            return {
                "request": request.id,
                "outcome": request.outcome,
                "confidence": request.confidence,
                "candidates": request.candidates,
                "matched_item": request.matched_item_id,
                "cluster": request.cluster_id,
            }

    async def _resident(self) -> dict[str, Any]:
        async with self.runtime.services.db.session() as session:
            resident = await session.scalar(
                select(Resident).where(
                    Resident.channel == self.channel.name, Resident.chat_id == self.chat_id
                )
            )
            if resident is None:
                return {"exists": False}
            return {
                "exists": True,
                "language": resident.language,
                "language_source": resident.language_source,
                "topics": list(resident.topics or []),
                "opted_out": resident.opted_out,
            }


def _reply(message: OutboundMessage) -> dict[str, Any]:
    return {
        "text": message.text,
        "language": message.language,
        "buttons": [
            {"number": n, "label": b.label, "data": b.data}
            for n, b in enumerate(message.buttons, start=1)
        ],
    }


def session_channel(channel: str, session: str) -> str:
    """This session's own channel name (at most 20 characters, like every channel name)."""
    return f"{channel[:11]}-{session}"


async def _lines_from_stdin() -> AsyncIterator[str]:
    while (line := await asyncio.to_thread(_input, "> ")) is not None:
        yield line


def _input(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


async def _lines_from(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


def parse_line(line: str, interactive: bool, buttons: int) -> tuple[str, int | None]:
    """(text, button number): `[button N]` presses N; interactively, a bare number too."""
    line = line.strip()
    found = BUTTON.fullmatch(line)
    if found:
        return "", int(found[1])
    if interactive and line.isdigit() and 0 < int(line) <= buttons:
        return "", int(line)
    return line, None


def file_of(line: str) -> Path | None:
    """The local file a line sends: `/file PATH`, or a line that is an existing file's path.
    `/file` with a missing path still names it (the resident is told it cannot be opened)."""
    line = line.strip()
    if not line or len(line) > MAX_PATH or "\n" in line:
        return None
    command = FILE_COMMAND.fullmatch(line)
    if command:
        return Path(command[1].strip().strip("'\"")).expanduser()
    try:
        path = Path(line.strip("'\"")).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def _print_turn(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"  ({result['error']})")
    for reply in result.get("replies", []):
        print(f"\n{reply['text']}")
        for button in reply["buttons"]:
            print(f"  [{button['number']}] {button['label']}")
    sys.stdout.flush()


async def run_terminal_chat(
    settings: Settings,
    script: list[str] | None = None,
    as_json: bool = False,
    language: str | None = None,
    channel: str = "chat",
    runtime: Runtime | None = None,
) -> int:
    """Talk to the bot from stdin, or play `script`; returns the number of turns. `runtime`
    (tests) replaces the process's own; this function takes it over."""
    runtime = runtime or Runtime(settings)
    session = uuid.uuid4().hex[:8]
    own = TerminalChannel(session_channel(channel, session), LocalUploads(settings))
    runtime.channels = []  # no Telegram or WhatsApp receiving here
    runtime.services.channels.clear()
    runtime.services.dispatcher.channels.clear()
    runtime.services.add_channel(own)  # the only channel this process dispatches
    chat = ChatSession(runtime, own, f"resident-{session}", language, session)
    turns = 0
    await runtime.startup()
    try:
        async with background(runtime.services, deliver=True):
            if script is None and not as_json:
                print("Type a message to check, a number to press a button, or Ctrl-D to quit.")
            lines = _lines_from(script) if script is not None else _lines_from_stdin()
            async for raw in lines:
                if not raw.strip():
                    continue
                text, press = parse_line(raw, script is None, len(chat.buttons))
                file = file_of(text) if press is None else None
                result = await chat.send(text, press, file)
                turns += 1
                if as_json:
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                else:
                    _print_turn(result)
            await runtime.conversation.wait_idle()
    finally:
        await runtime.services.db.dispose()
    return turns
