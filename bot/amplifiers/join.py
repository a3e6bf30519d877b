"""Following a link: `/start <code>` with an invitation code registers the role, areas and
languages; with an answer's share code (a shared card's link) it counts the new resident as
reached through that card and sends them the welcome and the answer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.amplifiers.invitations import accept
from bot.sharing.codes import answer_of
from bot.texts import replies
from bot.texts.catalogue import text
from bot.texts.language import Source
from bot.texts.turn import Turn
from domain.messages import OutboundMessage
from domain.models import Answer, ItemStatus, KnowledgeItem, ShareArrival, utcnow


async def record_arrival(session: AsyncSession, answer_id: int, resident_id: int) -> bool:
    """Count `resident_id` once as reached through `answer_id`'s shared card; False when
    they were counted already."""
    found = await session.scalar(
        select(ShareArrival.id).where(
            ShareArrival.answer_id == answer_id, ShareArrival.resident_id == resident_id
        )
    )
    if found is not None:
        return False
    session.add(ShareArrival(answer_id=answer_id, resident_id=resident_id, arrived_at=utcnow()))
    await session.flush()
    return True


async def arrive(turn: Turn, answer_id: int) -> None:
    """A shared card's link was followed: the welcome, then the answer in the resident's
    language; a new resident is counted for the answer (once), someone we knew is not."""
    answer = await turn.session.get(Answer, answer_id)
    item = await turn.session.get(KnowledgeItem, answer.knowledge_item_id) if answer else None
    # a withdrawn answer (its item no longer active) is never sent, nor counted
    published = (
        answer is not None
        and answer.published_at is not None
        and item is not None
        and item.status == ItemStatus.ACTIVE
    )
    if published and turn.first_contact:
        await record_arrival(turn.session, answer_id, turn.resident.id)
    turn.resident.consent_at = turn.resident.consent_at or utcnow()
    turn.resident.opted_out = False
    await turn.reply(replies.language_message(turn.resident.chat_id, "welcome", turn.language))
    if not published or item is None:
        return
    body = replies.render_answer(item, turn.language)
    await turn.reply(
        OutboundMessage(chat_id=turn.resident.chat_id, text=body, language=turn.language)
    )


async def join(turn: Turn, code: str) -> bool:
    """True when `code` was an invitation (the person joined and was told so) or an answer's
    share code (they were welcomed and sent the answer).

    An unknown or revoked code gets a polite line and the usual welcome follows (False)."""
    answer_id = answer_of(code)
    if answer_id is not None:
        await arrive(turn, answer_id)
        return True
    invitation = await accept(turn.session, turn.resident, code.strip())
    if invitation is None:
        await turn.say("join_invalid")
        return False
    resident = turn.resident
    if invitation.languages and resident.language_source in (None, Source.HINT.value):
        # staff know the person's language better than their phone's setting does; what
        # they choose or write themselves later still wins
        resident.language = turn.language = invitation.languages[0]
        resident.language_source = Source.HINT.value
    try:
        role = text(f"role.{invitation.role}", turn.language)
    except KeyError:  # a role the city added, without a translation
        role = invitation.role.replace("_", " ")
    areas = ", ".join(invitation.areas)
    where = text("joined_areas", turn.language, areas=areas) if areas else ""
    await turn.say("joined", role=role, areas=where)
    return True
