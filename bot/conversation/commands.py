"""What a resident can ask the bot to do besides checking a claim.

Each action is called by the dispatch table (`handlers.py`): explicit commands and buttons act
at once; a guessed intent that would delete, silence or (un)subscribe only asks first
(`confirm`), and acts when the resident presses "yes".
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.amplifiers.join import join
from bot.texts import language as languages_policy
from bot.texts import replies
from bot.texts.buttons import Action, Confirm, Subscribe, Unsubscribe
from bot.texts.catalogue import TOPICS, text, topic_label
from bot.texts.turn import Turn
from domain.messages import Button, OutboundMessage
from domain.models import Request, utcnow
from domain.residents import forget

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
CONFIRM_KEYS = {
    Action.FORGET: ("confirm_forget", "confirm_forget_yes"),
    Action.STOP: ("confirm_stop", "confirm_stop_yes"),
    Action.SUBSCRIBE: ("confirm_subscribe", "confirm_yes"),
    Action.UNSUBSCRIBE: ("confirm_unsubscribe", "confirm_yes"),
}


def topic_from(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    value = TOPIC_ALIASES.get(value, value)
    return value if value in TOPICS else None


async def start(turn: Turn, argument: str = "") -> None:
    if argument and await join(turn, argument):  # an invitation link was followed
        return
    turn.resident.consent_at = turn.resident.consent_at or utcnow()
    turn.resident.opted_out = False
    await turn.reply(replies.language_message(turn.resident.chat_id, "welcome", turn.language))


async def help_(turn: Turn, _argument: str = "") -> None:
    await turn.say("help")


async def language(turn: Turn, argument: str = "") -> None:
    code = languages_policy.served(argument)
    if code is None:
        await turn.reply(
            replies.language_message(turn.resident.chat_id, "language_prompt", turn.language)
        )
        return
    languages_policy.choose(turn.resident, code)
    turn.language = code
    await turn.say("language_set")


async def subscribe(turn: Turn, argument: str = "") -> None:
    topic = topic_from(argument)
    if topic is None:
        await turn.reply(
            replies.topic_message(
                turn.resident.chat_id, "subscribe_prompt", Subscribe, turn.language
            )
        )
        return
    if topic not in turn.resident.topics:
        turn.resident.topics = [*turn.resident.topics, topic]
    turn.resident.opted_out = False
    await turn.say("subscribed", topic=topic_label(topic, turn.language))


async def unsubscribe(turn: Turn, argument: str = "") -> None:
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
            turn.resident.chat_id, "unsubscribe_prompt", Unsubscribe, turn.language, topics=current
        )
        await turn.reply(prompt)
        return
    turn.resident.topics = [t for t in current if t != topic]
    await turn.say("unsubscribed", topic=topic_label(topic, turn.language))


async def forget_me(turn: Turn, _argument: str = "") -> None:
    """Delete the resident and everything linked; the confirmation is sent directly."""
    chat_id, lang = turn.resident.chat_id, turn.language
    turn.forgotten_files = await forget(turn.session, turn.resident)
    await turn.session.flush()
    done = replies.plain(chat_id, "forget_done", lang)
    turn.after_commit.append(replace(done, answers_message_now=True))


async def stop(turn: Turn, _argument: str = "") -> None:
    turn.resident.opted_out = True
    turn.resident.topics = []
    await turn.say("stop_done")


async def confirm(turn: Turn, action: Action, argument: str = "") -> None:
    """Ask "are you sure?" before an action read from the resident's words."""
    if action is Action.UNSUBSCRIBE and not turn.resident.topics:
        await turn.say("not_subscribed")
        return
    if action in (Action.SUBSCRIBE, Action.UNSUBSCRIBE) and topic_from(argument) is None:
        await (subscribe if action is Action.SUBSCRIBE else unsubscribe)(turn, "")
        return  # the topic menu: each button is an explicit choice
    question, yes = CONFIRM_KEYS[action]
    topic = topic_from(argument) or ""
    values = {"topic": topic_label(topic, turn.language)} if topic else {}
    lang = turn.language
    buttons = (
        Button(text(yes, lang), Confirm(action, True, topic).encode()),
        Button(text("confirm_no", lang), Confirm(action, False, topic).encode()),
    )
    await turn.reply(
        OutboundMessage(
            chat_id=turn.resident.chat_id,
            text=text(question, lang, **values),
            buttons=buttons,
            language=lang,
        )
    )


async def confirmed(turn: Turn, answer: Confirm) -> None:
    """The resident answered a confirmation: act on "yes", change nothing on "no"."""
    if not answer.yes:
        await turn.say("confirm_cancelled")
        return
    actions = {
        Action.FORGET: forget_me,
        Action.STOP: stop,
        Action.SUBSCRIBE: subscribe,
        Action.UNSUBSCRIBE: unsubscribe,
    }
    await actions[answer.action](turn, answer.argument)


async def feedback(turn: Turn, request_id: int, helpful: bool) -> None:
    request = await turn.session.get(Request, request_id)
    if request is None or request.resident_id != turn.resident.id:
        await turn.say("button_expired")
        return
    request.helpful = helpful
    await turn.say("feedback_thanks")


async def latest_feedback(turn: Turn, helpful: bool) -> None:
    """Feedback in words ("that helped"): for the latest answer they received."""
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
    await feedback(turn, request.id, helpful)
