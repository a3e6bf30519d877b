"""The dispatch table: an ordered list of handlers, each with a `check` and a `handle`.

As in python-telegram-bot's `Application`, the first handler whose `check` accepts the turn
handles it, and the claim check comes last: anything the bot cannot place is a claim to check.
The order is the safety policy. Buttons and explicit commands act; a message with no text is
told what we can read; a forward, a link or a long text is a claim even when it contains a
command word; an everyday reply ("ok", "sawa", "ठीक है", "👍") is answered kindly and changes
nothing; a guessed intent acts only when harmless, and asks for a confirmation button before
deleting, silencing or (un)subscribing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from bot.conversation import commands
from bot.conversation.claims import ClaimDesk
from bot.conversation.groups import GroupMessage
from bot.conversation.services import Services
from bot.media.desk import MediaFile
from bot.texts import buttons
from bot.texts.buttons import Action
from bot.texts.turn import Turn
from nlu import Intent, ParseResult
from nlu.everyday import GUARDED_INTENTS, Everyday, everyday_kind, mentions_action

# A text longer than this many words is read as a claim whatever else it contains: a resident
# who writes a sentence about the world wants it checked ("Unsubscribe from M-Pesa today or
# lose your money" is a scam to check, not a request).
CLAIM_WORDS = 8
# Asking to delete, stop or (un)subscribe takes few words ("stop sending me updates", "futa
# data yangu"); a longer text that reads so is about something else.
ACTION_WORDS = 6
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)


class Handler(Protocol):
    async def check(self, turn: Turn) -> bool:
        """Whether this handler takes the turn."""
        ...

    async def handle(self, turn: Turn) -> None: ...


class ButtonPress:
    """A button was pressed: its typed payload decides; stale or forged data is expired."""

    def __init__(self, claims: ClaimDesk) -> None:
        self.claims = claims

    async def check(self, turn: Turn) -> bool:
        return turn.message.callback_data is not None

    async def handle(self, turn: Turn) -> None:
        match buttons.decode(turn.message.callback_data):
            case buttons.Pick(request_id, item_id):
                await self.claims.choose(turn, request_id, item_id)
            case buttons.NoneOfThese(request_id):
                await self.claims.none_of_these(turn, request_id)
            case buttons.Feedback(request_id, helpful):
                await commands.feedback(turn, request_id, helpful)
            case buttons.ChooseLanguage(code):
                await commands.language(turn, code)
            case buttons.Subscribe(topic):
                await commands.subscribe(turn, topic)
            case buttons.Unsubscribe(topic):
                await commands.unsubscribe(turn, topic)
            case buttons.Confirm() as answer:
                await commands.confirmed(turn, answer)
            case _:
                await turn.say("button_expired")


CommandAction = Callable[[Turn, str], Awaitable[None]]


class Command:
    """One slash command ("/forget"); WhatsApp's STOP words arrive as "/stop"."""

    def __init__(self, name: str, action: CommandAction) -> None:
        self.name = name
        self.action = action

    async def check(self, turn: Turn) -> bool:
        return turn.message.is_command and _command_name(turn.message.text) == self.name

    async def handle(self, turn: Turn) -> None:
        _, _, argument = turn.message.text.strip().partition(" ")
        await self.action(turn, argument.strip())


class UnknownCommand:
    async def check(self, turn: Turn) -> bool:
        return turn.message.is_command

    async def handle(self, turn: Turn) -> None:
        await commands.help_(turn)


class NoText:
    """A photo without a caption, a sticker, an empty message: say what we can read."""

    async def check(self, turn: Turn) -> bool:
        return not turn.message.text.strip()

    async def handle(self, turn: Turn) -> None:
        kinds = {m.kind for m in turn.message.media}
        if kinds & {"photo", "image"}:
            await turn.say("photo_without_caption")
        elif kinds:
            await turn.say("unsupported_media")
        else:
            await turn.say("empty_message")


class ClaimShaped:
    """Forwards, attachments with a caption, links and long texts are claims to check."""

    def __init__(self, claims: ClaimDesk) -> None:
        self.claims = claims

    async def check(self, turn: Turn) -> bool:
        message = turn.message
        text = message.text
        return bool(
            message.forwarded
            or message.media
            or _LINK.search(text)
            or len(text.split()) > CLAIM_WORDS
        )

    async def handle(self, turn: Turn) -> None:
        await self.claims.check(turn)


class EverydayReply:
    """ok, thanks, sawa, asante, ठीक है, حسنا, vale, baik, 👍, 9: a kind word, nothing changed."""

    REPLIES = {
        Everyday.ACKNOWLEDGEMENT: "ack_reply",
        Everyday.THANKS: "thanks_reply",
        Everyday.GREETING: "greet_reply",
    }

    async def check(self, turn: Turn) -> bool:
        return everyday_kind(turn.message.text) is not None

    async def handle(self, turn: Turn) -> None:
        kind = everyday_kind(turn.message.text) or Everyday.ACKNOWLEDGEMENT
        await turn.say(self.REPLIES[kind])


class IntentReading:
    """What the intent parser reads, when it reads something other than a claim.

    Harmless intents act at once; the four that delete, silence or (un)subscribe are acted on
    only when the text names the action, and then only after a confirmation button.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def check(self, turn: Turn) -> bool:
        reading = await self._read(turn)
        if reading is None or reading.intent is Intent.CHECK_CLAIM:
            return False
        if reading.intent in GUARDED_INTENTS and len(turn.message.text.split()) > ACTION_WORDS:
            return False
        return mentions_action(turn.message.text, reading.intent)

    async def handle(self, turn: Turn) -> None:
        reading = turn.reading
        assert reading is not None  # set by `check`
        entities = reading.entities
        topic = entities.get("topic", "")
        match reading.intent:
            case Intent.GREET:
                await turn.say("greet_reply")
            case Intent.THANKS:
                await turn.say("thanks_reply")
            case Intent.HELP:
                await commands.help_(turn)
            case Intent.CHANGE_LANGUAGE:
                await commands.language(turn, "")  # the menu: the choice is the resident's tap
            case Intent.FEEDBACK_POSITIVE | Intent.FEEDBACK_NEGATIVE:
                await commands.latest_feedback(turn, reading.intent is Intent.FEEDBACK_POSITIVE)
            case Intent.SUBSCRIBE:
                await commands.confirm(turn, Action.SUBSCRIBE, topic)
            case Intent.UNSUBSCRIBE:
                await commands.confirm(turn, Action.UNSUBSCRIBE, topic)
            case Intent.FORGET_ME:
                await commands.confirm(turn, Action.FORGET)
            case Intent.STOP:
                await commands.confirm(turn, Action.STOP)
            case _:
                await commands.help_(turn)

    async def _read(self, turn: Turn) -> ParseResult | None:
        parser = self.services.parser
        if parser is None:
            return None
        if turn.reading is None:
            limit = self.services.settings.max_message_chars
            turn.reading = await parser.parse(turn.message.text[:limit])
        return turn.reading


class ClaimCheck:
    """The fallback: anything not placed above is a claim to check."""

    def __init__(self, claims: ClaimDesk) -> None:
        self.claims = claims

    async def check(self, turn: Turn) -> bool:
        return True

    async def handle(self, turn: Turn) -> None:
        await self.claims.check(turn)


def _command_name(text: str) -> str:
    return text.strip().split(" ", 1)[0].split("@")[0].lower()


def default_handlers(services: Services, claims: ClaimDesk) -> list[Handler]:
    """The product's dispatch table, in order."""
    return [
        GroupMessage(services, claims),  # a group's messages: quiet unless it can help
        ButtonPress(claims),
        Command("/start", commands.start),
        Command("/help", commands.help_),
        Command("/language", commands.language),
        Command("/subscribe", commands.subscribe),
        Command("/unsubscribe", commands.unsubscribe),
        Command("/forget", commands.forget_me),
        Command("/stop", commands.stop),
        UnknownCommand(),
        MediaFile(),  # a photo, voice note or video: read by the media worker, then checked
        NoText(),
        ClaimShaped(claims),
        EverydayReply(),
        IntentReading(services),
        ClaimCheck(claims),
    ]


async def dispatch(handlers: Sequence[Handler], turn: Turn) -> None:
    """Hand the turn to the first handler that accepts it."""
    for handler in handlers:
        if await handler.check(turn):
            await handler.handle(turn)
            return
