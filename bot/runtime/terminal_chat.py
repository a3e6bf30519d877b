"""`rumourbot chat`: the whole journey in a terminal, through the same conversation core."""

from __future__ import annotations

import asyncio
import itertools
import sys

from bot.runtime.app import Runtime
from domain.messages import InboundMessage
from domain.settings import Settings

CHAT_ID = "terminal"


async def _read_line(prompt: str) -> str | None:
    line = await asyncio.to_thread(_input, prompt)
    return line


def _input(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


async def run_terminal_chat(settings: Settings) -> None:
    runtime = Runtime(settings)
    runtime.channels = []  # the terminal is the only channel here
    outbox = runtime.webchat_outbox
    counter = itertools.count(1)
    shown = 0
    print("Type a message to check, a number to press a button, or Ctrl-D to quit.")
    async with runtime.running():
        buttons: list[str] = []
        while (line := await _read_line("> ")) is not None:
            line = line.strip()
            data = (
                buttons[int(line) - 1] if line.isdigit() and 0 < int(line) <= len(buttons) else None
            )
            await runtime.conversation.handle(
                InboundMessage(
                    channel=outbox.name,
                    sender=CHAT_ID,
                    message_id=f"t{next(counter)}",
                    text="" if data else line,
                    callback_data=data,
                )
            )
            sent = await outbox.wait_for(CHAT_ID, shown + 1, timeout=5.0)
            await asyncio.sleep(0.05)
            sent = outbox.sent[CHAT_ID]
            for message in sent[shown:]:
                print(f"\n{message.text}")
                buttons = [b.data for b in message.buttons]
                for number, button in enumerate(message.buttons, start=1):
                    print(f"  [{number}] {button.label}")
            shown = len(sent)
            sys.stdout.flush()
