"""Commands (/start, /help, /language, /subscribe, /unsubscribe, /forget), buttons and intents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from bot.conversation import replies
from bot.conversation.catalogue import TOPICS, languages, resolve_language, topic_label
from bot.conversation.claims import ClaimDesk
from bot.conversation.turn import Turn
from bot.media.store import MediaStore
from bot.runtime.services import Services
from domain.models import Request, utcnow
from domain.residents import forget
from nlu import Intent

TOPIC_ALIASES = {
    "power": "water",
    "electricity": "water",
    "vaccines": "health",
    "vaccine": "health",
    "election": "elections",
    "curfew": "security",
    "scam": "scams",
    "fraud": "scams",
}


def topic_from(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    value = TOPIC_ALIASES.get(value, value)
    return value if value in TOPICS else None


class Commands:
    """Everything a resident can ask the bot to do besides checking a claim."""

    def __init__(self, services: Services, claims: ClaimDesk) -> None:
        self.services = services
        self.claims = claims
        self._commands: dict[str, Callable[[Turn, str], Awaitable[None]]] = {
            "/start": self.start,
            "/help": self.help,
            "/language": self.language,
            "/subscribe": self.subscribe,
            "/unsubscribe": self.unsubscribe,
            "/forget": self.forget,
            "/stop": self.stop,
        }

    async def on_command(self, turn: Turn, text: str) -> None:
        name, _, argument = text.partition(" ")
        handler = self._commands.get(name.split("@")[0].lower(), self.help)
        await handler(turn, argument.strip())

    async def on_intent(self, turn: Turn, intent: Intent, entities: dict[str, str]) -> None:
        handlers: dict[Intent, Callable[[], Awaitable[None]]] = {
            Intent.GREET: lambda: turn.say("greet_reply"),
            Intent.THANKS: lambda: turn.say("thanks_reply"),
            Intent.HELP: lambda: self.help(turn, ""),
            Intent.SUBSCRIBE: lambda: self.subscribe(turn, entities.get("topic", "")),
            Intent.UNSUBSCRIBE: lambda: self.unsubscribe(turn, entities.get("topic", "")),
            Intent.CHANGE_LANGUAGE: lambda: self.language(turn, entities.get("language", "")),
            Intent.FEEDBACK_POSITIVE: lambda: self._latest_feedback(turn, True),
            Intent.FEEDBACK_NEGATIVE: lambda: self._latest_feedback(turn, False),
            Intent.FORGET_ME: lambda: self.forget(turn, ""),
            Intent.STOP: lambda: self.stop(turn, ""),
        }
        handler = handlers.get(intent)
        if handler is None:
            await self.claims.check(turn)
        else:
            await handler()

    async def on_button(self, turn: Turn, data: str) -> None:
        kind, _, rest = data.partition(":")
        parts = rest.split(":")
        claims = self.claims
        try:
            if kind == "pick" and len(parts) == 2:
                await claims.choose(turn, int(parts[0]), int(parts[1]))
            elif kind == "none" and len(parts) == 1:
                await claims.none_of_these(turn, int(parts[0]))
            elif kind == "fb" and len(parts) == 2:
                await self._feedback(turn, int(parts[0]), parts[1] == "1")
            elif kind == "lang":
                await self.language(turn, rest)
            elif kind == "sub":
                await self.subscribe(turn, rest)
            elif kind == "unsub":
                await self.unsubscribe(turn, rest)
            else:
                await turn.say("help")
        except ValueError:  # forged or stale button data
            await turn.say("help")

    async def start(self, turn: Turn, _argument: str) -> None:
        turn.resident.consent_at = turn.resident.consent_at or utcnow()
        turn.resident.opted_out = False
        await turn.reply(replies.language_message(turn.resident.chat_id, "welcome", turn.language))

    async def help(self, turn: Turn, _argument: str) -> None:
        await turn.say("help")

    async def language(self, turn: Turn, argument: str) -> None:
        code = resolve_language(argument, default="") if argument else ""
        if code not in languages():
            await turn.reply(
                replies.language_message(turn.resident.chat_id, "language_prompt", turn.language)
            )
            return
        turn.resident.language = turn.language = code
        await turn.say("language_set")

    async def subscribe(self, turn: Turn, argument: str) -> None:
        topic = topic_from(argument)
        if topic is None:
            await turn.reply(
                replies.topic_message(
                    turn.resident.chat_id, "subscribe_prompt", "sub", turn.language
                )
            )
            return
        if topic not in turn.resident.topics:
            turn.resident.topics = [*turn.resident.topics, topic]
        turn.resident.opted_out = False
        await turn.say("subscribed", topic=topic_label(topic, turn.language))

    async def unsubscribe(self, turn: Turn, argument: str) -> None:
        current = list(turn.resident.topics)
        if not current:
            await turn.say("not_subscribed")
            return
        if argument.strip() in {"*", "all"}:
            turn.resident.topics = []
            await turn.say("unsubscribed_all")
            return
        topic = topic_from(argument)
        if topic is None or topic not in current:
            prompt = replies.topic_message(
                turn.resident.chat_id, "unsubscribe_prompt", "unsub", turn.language, topics=current
            )
            await turn.reply(prompt)
            return
        turn.resident.topics = [t for t in current if t != topic]
        await turn.say("unsubscribed", topic=topic_label(topic, turn.language))

    async def forget(self, turn: Turn, _argument: str) -> None:
        """Delete the resident and everything linked; the confirmation is sent directly."""
        chat_id, language = turn.resident.chat_id, turn.language
        MediaStore(Path(self.services.settings.media_dir)).delete(
            await forget(turn.session, turn.resident))
        await turn.session.flush()
        done = replies.plain(chat_id, "forget_done", language)
        turn.after_commit.append(replace(done, answers_message_now=True))

    async def stop(self, turn: Turn, _argument: str) -> None:
        turn.resident.opted_out = True
        turn.resident.topics = []
        await turn.say("stop_done")

    async def _feedback(self, turn: Turn, request_id: int, helpful: bool) -> None:
        request = await turn.session.get(Request, request_id)
        if request is None or request.resident_id != turn.resident.id:
            await turn.say("help")
            return
        request.helpful = helpful
        await turn.say("feedback_thanks")

    async def _latest_feedback(self, turn: Turn, helpful: bool) -> None:
        from sqlalchemy import select

        query = (
            select(Request)
            .where(Request.resident_id == turn.resident.id, Request.answered_at.is_not(None))
            .order_by(Request.answered_at.desc())
            .limit(1)
        )
        request = (await turn.session.scalars(query)).first()
        if request is None:
            await turn.say("thanks_reply")
            return
        await self._feedback(turn, request.id, helpful)
