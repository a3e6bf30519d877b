"""Explicit commands and confirmed intents in every language; typed buttons; the resident's
language remembered (explicit choice, detection, platform hint, stickiness); broadcasts and
corrections in the stored language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversation.flood import FloodGuard
from bot.conversation.publishing import AnswerDraft, broadcast, correct_answer, publish_answer
from bot.runtime.app import Runtime
from bot.texts.language import country_prior, from_accept_language, observe
from domain.messages import OutboundMessage
from domain.models import Request, Resident
from tests.conftest import resident_presses, resident_says, resident_types

LANGUAGES = ("en", "sw", "hi", "ar", "es", "id")
FORGET = {
    "en": "please delete all my data",
    "sw": "futa data yangu",
    "hi": "मेरा डेटा मिटा दो",
    "ar": "احذف بياناتي",
    "es": "borra mis datos",
    "id": "hapus data saya",
}
STOP = {
    "en": "stop",
    "sw": "sitisha",
    "hi": "बस करो",
    "ar": "توقف",
    "es": "basta",
    "id": "berhenti",
}
YES_DELETE = {
    "en": "Yes, delete",
    "sw": "Ndiyo, futa",
    "hi": "हाँ, मिटा दें",
    "ar": "نعم، احذف",
    "es": "Sí, borrar",
    "id": "Ya, hapus",
}


async def resident(rt: Runtime, chat: str) -> Resident | None:
    async with rt.services.db.session() as session:
        return await session.scalar(select(Resident).where(Resident.chat_id == chat))


def button(message: OutboundMessage, prefix: str) -> str:
    return next(b.data for b in message.buttons if b.data.startswith(prefix))


@pytest.fixture
def unhurried(runtime: Runtime) -> Runtime:
    runtime.services.flood = FloodGuard(slow_after=10_000, block_after=20_000)
    return runtime


async def test_explicit_commands_in_every_language(unhurried: Runtime) -> None:
    rt = unhurried
    for code in LANGUAGES:
        chat = f"cmd-{code}"
        [chosen] = await resident_types(rt, chat, f"/language {code}")
        assert chosen.language == code
        await resident_types(rt, chat, "/subscribe health")
        assert (await resident(rt, chat)).topics == ["health"]  # type: ignore[union-attr]
        await resident_types(rt, chat, "/unsubscribe health")
        assert (await resident(rt, chat)).topics == []  # type: ignore[union-attr]
        [stopped] = await resident_types(rt, chat, "/stop")
        assert stopped.language == code and (await resident(rt, chat)).opted_out  # type: ignore[union-attr]
        await resident_types(rt, chat, "/start")
        assert not (await resident(rt, chat)).opted_out  # type: ignore[union-attr]
        await resident_types(rt, chat, "/forget")
        assert await resident(rt, chat) is None


async def test_guessed_deletes_and_stops_wait_for_a_yes_in_the_residents_language(
    unhurried: Runtime,
) -> None:
    rt = unhurried
    for code in LANGUAGES:
        chat = f"intent-{code}"
        await resident_types(rt, chat, f"/language {code}")
        [ask] = await resident_types(rt, chat, FORGET[code])
        assert ask.buttons[0].label == YES_DELETE[code], (code, ask.text)
        [kept] = await resident_presses(rt, chat, button(ask, "ok:forget:0"))
        assert kept.language == code and await resident(rt, chat) is not None
        [ask_stop] = await resident_types(rt, chat, STOP[code])
        await resident_presses(rt, chat, button(ask_stop, "ok:stop:1"))
        assert (await resident(rt, chat)).opted_out, code  # type: ignore[union-attr]
        [ask] = await resident_types(rt, chat, FORGET[code])
        await resident_presses(rt, chat, button(ask, "ok:forget:1"))
        assert await resident(rt, chat) is None, code


async def test_a_claim_with_a_command_word_is_checked_as_a_claim(unhurried: Runtime) -> None:
    rt = unhurried
    await resident_types(rt, "scam", "/subscribe scams")
    for text in (
        "Unsubscribe from M-Pesa today or lose your money",
        "Delete WhatsApp now, the government reads every chat from Monday",
        "stop drinking tap water https://example.org/poison",
    ):
        [reply] = await resident_types(rt, "scam", text)
        assert "city's team" in reply.text, text
    after = await resident(rt, "scam")
    assert after is not None and after.topics == ["scams"] and not after.opted_out


async def test_forged_and_stale_buttons_have_expired(unhurried: Runtime) -> None:
    rt = unhurried
    await resident_types(rt, "forger", "/subscribe health")
    for data in ("pick:999:1", "none:424242", "fb:77:1", "ok:forget:7", "sub:", "💥", "x" * 500):
        [reply] = await resident_presses(rt, "forger", data)
        assert "expired" in reply.text, data
    after = await resident(rt, "forger")
    assert after is not None and after.topics == ["health"]


async def test_language_is_detected_then_sticky(unhurried: Runtime) -> None:
    rt = unhurried
    chat = "sticky"
    [first] = await resident_types(rt, chat, "Je, ni kweli kwamba maji ya bomba yana sumu leo?")
    assert first.language == "sw"
    english = "Is it true that the schools in the east will close for a month?"
    [one_off] = await resident_types(rt, chat, english)
    assert one_off.language == "sw"  # one English message does not flip a Swahili resident
    stored = await resident(rt, chat)
    assert stored is not None and stored.language == "sw" and stored.language_source == "detected"
    await resident_types(
        rt, chat, "Is it true that the market will be closed on Friday by the police?"
    )
    [third] = await resident_types(
        rt, chat, "Is it true that buses are free for everyone next week?"
    )
    assert third.language == "en"  # several in a row: they now write English


async def test_a_one_word_first_message_does_not_fix_the_language(unhurried: Runtime) -> None:
    rt = unhurried
    [sawa] = await resident_types(rt, "oneword", "sawa")
    assert sawa.language == "sw" and "Sawa" in sawa.text
    # their first real message is English: answered in English at once, not after three
    english = "I heard the bridge on the main road collapsed this morning"
    [claim] = await resident_types(rt, "oneword", english)
    assert claim.language == "en"
    stored = await resident(rt, "oneword")
    assert stored is not None and (stored.language, stored.language_source) == ("en", "detected")


async def test_an_explicit_choice_always_wins(unhurried: Runtime) -> None:
    rt = unhurried
    await resident_types(rt, "chooser", "/language es")
    for _ in range(4):
        [reply] = await resident_types(
            rt, "chooser", "Je, ni kweli kwamba shule zitafungwa kesho asubuhi?"
        )
        assert reply.language == "es"
    stored = await resident(rt, "chooser")
    assert stored is not None and stored.language_source == "explicit"


async def test_the_platform_hint_until_the_resident_writes(unhurried: Runtime) -> None:
    rt = unhurried
    [thumb] = await resident_types(rt, "hinted", "👍", hint="hi")
    assert thumb.language == "hi"
    stored = await resident(rt, "hinted")
    assert stored is not None and (stored.language, stored.language_source) == ("hi", "hint")
    # a forward is someone else's words: it does not replace what the platform says
    [forward] = await resident_says(
        rt,
        "hinted",
        "Share now: the city will cut all water for two weeks",
        hint="hi",
        forwarded=True,
    )
    assert forward.language == "hi"
    # what they write themselves does
    [typed] = await resident_types(
        rt, "hinted", "Je, ni kweli kwamba daraja limeanguka leo asubuhi?"
    )
    assert typed.language == "sw"


def test_platform_hints() -> None:
    assert from_accept_language("sw-KE,sw;q=0.9,en;q=0.8") == "sw"
    assert from_accept_language("fr-FR,fr;q=0.9,ar;q=0.5") == "ar"
    assert from_accept_language("en;q=0.1, hi") == "hi"
    assert from_accept_language("de-DE") is None and from_accept_language(None) is None
    assert from_accept_language("q=;;,,;q=abc") is None
    assert country_prior("254712345678") == "sw" and country_prior("+6281234") == "id"
    assert country_prior("919812345678") == "hi" and country_prior("971501234567") == "ar"
    assert country_prior("34612345678") == "es" and country_prior("447700900123") is None


async def test_broadcasts_and_corrections_in_the_stored_language(unhurried: Runtime) -> None:
    rt = unhurried
    rumour = {
        "sw": "Je, ni kweli kwamba simba wametoroka hifadhini na wako sokoni usiku huu?",
        "ar": "هل صحيح أن الأسود هربت من الحديقة وهي الآن في السوق الليلة؟",
    }
    for code, text in rumour.items():
        await resident_types(rt, f"sub-{code}", text)
        await resident_types(rt, f"sub-{code}", "/subscribe security")
    async with rt.services.db.session() as session:
        residents = {r.chat_id: r.language for r in (await session.scalars(select(Resident)))}
        clusters = sorted({r.cluster_id for r in await session.scalars(select(Request))})
    assert residents == {"sub-sw": "sw", "sub-ar": "ar"}
    sent = await broadcast(
        rt.services,
        "curfew-1",
        "security",
        {
            "en": "No curfew tonight.",
            "sw": "Hakuna amri ya kutotoka nje usiku huu.",
            "ar": "لا حظر تجول الليلة.",
        },
    )
    assert sent == 2
    # each has the reply to the rumour and to /subscribe, then the broadcast
    sw = await rt.webchat_outbox.wait_for("sub-sw", 3)
    ar = await rt.webchat_outbox.wait_for("sub-ar", 3)
    assert "Hakuna amri" in sw[-1].text and "لا حظر" in ar[-1].text
    translations = {
        "sw": {"explanation": "Walinzi wamethibitisha simba wote wapo hifadhini."},
        "ar": {"explanation": "أكد الحراس أن جميع الأسود داخل الحديقة."},
    }
    draft = AnswerDraft(
        verdict="false",
        explanation="Rangers confirm all lions are inside.",
        translations=translations,
    )
    result = await publish_answer(rt.services, clusters[0], draft)
    draft.explanation = "Rangers counted again: all lions are inside."
    draft.translations = {
        "sw": {"explanation": "Walinzi wamehesabu tena: simba wote wapo."},
        "ar": {"explanation": "عدّ الحراس مرة أخرى: جميع الأسود في الداخل."},
    }
    await correct_answer(rt.services, result.answer_id, draft)
    for chat, words in (("sub-sw", "wamehesabu tena"), ("sub-ar", "عدّ الحراس")):
        if len(clusters) == 1 or chat == "sub-sw":  # the answer, then its correction
            messages = await rt.webchat_outbox.wait_for(chat, 5)
            assert any(words in m.text for m in messages), chat
            assert all("Rangers" not in m.text for m in messages), chat


def test_a_country_prior_yields_to_what_the_resident_forwards() -> None:
    """A Kenyan number forwarding an English chain message is answered in English from then on;
    a platform's language setting, stronger than a country code, is kept against a forward."""
    kenyan = Resident(channel="whatsapp", chat_id="254700000001", topics=[])
    assert observe(kenyan, None, 1, None, prior="sw") == "sw"  # "👍" first: the prior
    english = "the city will cut off all water supply for two weeks starting Monday"
    assert observe(kenyan, "en", len(english.split()), None, forwarded=True, prior="sw") == "en"
    assert kenyan.language_source == "detected"
    hinted = Resident(channel="telegram", chat_id="7", topics=[])
    assert observe(hinted, None, 1, "hi") == "hi"
    assert observe(hinted, "en", len(english.split()), "hi", forwarded=True) == "hi"
