"""Following an invitation link: `/start <code>` registers the role, areas and languages."""

from __future__ import annotations

from bot.amplifiers.invitations import accept
from bot.conversation.catalogue import text
from bot.conversation.language import Source
from bot.conversation.turn import Turn


async def join(turn: Turn, code: str) -> bool:
    """True when `code` was an invitation and the person joined (and was told so).

    An unknown or revoked code gets a polite line and the usual welcome follows (False)."""
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
