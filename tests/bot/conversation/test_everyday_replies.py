"""Everyday replies after a queued question change nothing, in every language we serve.

A resident who writes "ok", "sawa", "ठीक है", "حسنا", "vale", "baik", "👍" or "9" after "we will
message you when they answer" must stay subscribed, keep their data, and still be told when
staff answer. One runtime for the whole table: one resident per language group, one turn per
reply.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.conversation.flood import FloodGuard
from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.runtime.app import Runtime
from domain.models import Request, Resident
from tests.conftest import resident_types

COMMON = [
    "👍",
    "🙏",
    "❤️",
    "👍🏽",
    "🙏🙏",
    "😊",
    "😂",
    "👌",
    "✅",
    "🤔",
    "😢",
    "🙂",
    "👏",
    "!!!",
    "?",
    "9",
    "1",
    "2",
    "0",
    "12",
    "100",
]
# (language group, stored language, the queued question, everyday replies)
TABLE: list[tuple[str, str, str, list[str]]] = [
    (
        "en",
        "en",
        "Is it true that the main bridge on the river road collapsed this morning?",
        [
            "ok",
            "okay",
            "OK",
            "Ok.",
            "okay thanks",
            "thanks",
            "thank you",
            "thank you so much",
            "thx",
            "ty",
            "yes",
            "yeah",
            "no",
            "nope",
            "fine",
            "good",
            "great",
            "cool",
            "alright",
            "sure",
            "noted",
            "got it",
            "i see",
            "hmm",
            "wow",
            "oh",
            "lol",
            "haha",
            "hi",
            "hello",
            "hey",
            "good morning",
            "good evening",
            "hi there",
            "ok thank you",
            "very good",
            "thanks a lot",
            "god bless",
            "ok ok",
            "yes thanks",
            "ok i will wait",
            "done",
        ],
    ),
    (
        "sw",
        "sw",
        "Je, ni kweli kwamba daraja kubwa la mto limeanguka asubuhi ya leo?",
        [
            "sawa",
            "Sawa.",
            "sawa sawa",
            "asante",
            "asante sana",
            "asanteni",
            "ndio",
            "ndiyo",
            "hapana",
            "acha",
            "poa",
            "safi",
            "nimeelewa",
            "vizuri",
            "haya",
            "shukrani",
            "habari",
            "jambo",
            "mambo",
            "salama",
            "habari yako",
            "sawa asante",
            "ok asante",
            "asante sana sana",
            "hujambo",
            "shikamoo",
            "kweli",
            "mzuri",
            "shwari",
            "poa sana",
            "habari za asubuhi",
            "ndio asante",
            "aisee",
            "sawa nimeelewa",
            "haya asante",
        ],
    ),
    (
        "hi",
        "hi",
        "क्या यह सच है कि आज सुबह नदी वाला बड़ा पुल गिर गया?",
        [
            "ठीक है",
            "ठीक",
            "हाँ",
            "हां",
            "नहीं",
            "अच्छा",
            "ओके",
            "धन्यवाद",
            "शुक्रिया",
            "बहुत धन्यवाद",
            "जी",
            "जी हाँ",
            "समझ गया",
            "बढ़िया",
            "सही",
            "नमस्ते",
            "नमस्कार",
            "हेलो",
            "ठीक है धन्यवाद",
            "अच्छा ठीक है",
            "हाँ जी",
            "बहुत बढ़िया",
            "जी धन्यवाद",
            "ओके धन्यवाद",
            "सही है",
            "अच्छा जी",
            "नहीं जी",
            "हाँ ठीक है",
            "समझ गई",
            "बहुत शुक्रिया",
        ],
    ),
    (
        "hi-latn",
        "hi",
        "kya yeh sach hai ki aaj subah nadi wala bada pul gir gaya?",
        [
            "theek hai",
            "thik hai",
            "theek",
            "haan",
            "han",
            "nahi",
            "nahin",
            "accha",
            "acha",
            "achha",
            "shukriya",
            "dhanyavaad",
            "dhanyawad",
            "ji",
            "haan ji",
            "ok ji",
            "namaste",
            "namaskar",
            "theek hai ji",
            "accha theek hai",
            "bahut shukriya",
            "samajh gaya",
            "sahi",
            "badhiya",
            "ok shukriya",
            "haan theek hai",
            "nahi ji",
            "thik hai shukriya",
            "bahut badhiya",
            "ji shukriya",
        ],
    ),
    (
        "ar",
        "ar",
        "هل صحيح أن الجسر الكبير على طريق النهر انهار صباح اليوم؟",
        [
            "حسنا",
            "حسناً",
            "حسنًا",
            "تمام",
            "نعم",
            "لا",
            "شكرا",
            "شكراً",
            "شكرا جزيلا",
            "جزاك الله خيرا",
            "مشكور",
            "اوكي",
            "أوكي",
            "طيب",
            "ماشي",
            "مفهوم",
            "فهمت",
            "أكيد",
            "ممتاز",
            "جميل",
            "مرحبا",
            "السلام عليكم",
            "سلام",
            "أهلا",
            "صباح الخير",
            "مساء الخير",
            "تمام شكرا",
            "حسنا شكرا",
            "نعم شكرا",
            "شكرا لك",
        ],
    ),
    (
        "es",
        "es",
        "¿Es verdad que el puente grande de la carretera del río se cayó esta mañana?",
        [
            "vale",
            "Vale.",
            "gracias",
            "muchas gracias",
            "mil gracias",
            "sí",
            "si",
            "no",
            "bueno",
            "ok",
            "perfecto",
            "claro",
            "entendido",
            "de acuerdo",
            "genial",
            "bien",
            "muy bien",
            "hola",
            "buenos días",
            "buenas tardes",
            "buenas noches",
            "vale gracias",
            "sí gracias",
            "ok gracias",
            "muchísimas gracias",
            "bueno gracias",
            "hola buenos días",
            "claro que sí",
            "perfecto gracias",
            "gracias a dios",
        ],
    ),
    (
        "id",
        "id",
        "Apakah benar jembatan besar di jalan sungai runtuh pagi ini?",
        [
            "baik",
            "oke",
            "ok",
            "ya",
            "iya",
            "tidak",
            "nggak",
            "gak",
            "siap",
            "sip",
            "mantap",
            "paham",
            "mengerti",
            "terima kasih",
            "makasih",
            "trims",
            "terima kasih banyak",
            "halo",
            "hai",
            "selamat pagi",
            "selamat siang",
            "selamat malam",
            "assalamualaikum",
            "oke terima kasih",
            "baik terima kasih",
            "ya terima kasih",
            "siap terima kasih",
            "oh begitu",
            "sudah",
            "makasih banyak",
        ],
    ),
]
MENU_OR_CONFIRM = ("ok:", "sub:", "unsub:", "lang:")


async def resident(rt: Runtime, chat: str) -> Resident | None:
    async with rt.services.db.session() as session:
        return await session.scalar(select(Resident).where(Resident.chat_id == chat))


def test_the_table_has_over_three_hundred_everyday_replies() -> None:
    total = sum(len(replies) + len(COMMON) for *_, replies in TABLE)
    assert total >= 300
    assert {language for _, language, _, _ in TABLE} == {"en", "sw", "hi", "ar", "es", "id"}


async def test_everyday_replies_after_a_queued_question_change_nothing(runtime: Runtime) -> None:
    runtime.services.flood = FloodGuard(slow_after=10_000, block_after=20_000)
    changed: list[str] = []
    for group, language, question, everyday in TABLE:
        chat = f"every-{group}"
        await resident_types(runtime, chat, "/subscribe health")
        [queued] = await resident_types(runtime, chat, question)
        assert queued.language == language, (group, queued.text)
        for text in [*everyday, *COMMON]:
            replies = await resident_types(runtime, chat, text)
            after = await resident(runtime, chat)
            if after is None or after.opted_out or after.topics != ["health"]:
                changed.append(f"{group}: {text!r} changed the resident")
                break
            for reply in replies:
                if any(b.data.startswith(MENU_OR_CONFIRM) for b in reply.buttons):
                    changed.append(f"{group}: {text!r} got a menu: {reply.text[:60]}")
                if reply.language != language:
                    changed.append(f"{group}: {text!r} answered in {reply.language}")
    assert changed == []
    # and every one of them is still told when staff answer their first question
    async with runtime.services.db.session() as session:
        firsts = {
            resident.chat_id: request.cluster_id
            for request, resident in (
                await session.execute(
                    select(Request, Resident)
                    .join(Resident, Request.resident_id == Resident.id)
                    .order_by(Request.id.desc())
                )
            ).all()
        }
    chats = [f"every-{group}" for group, _, _, _ in TABLE]
    before = {chat: len(runtime.webchat_outbox.sent[chat]) for chat in chats}
    answered: set[int] = set()
    for chat in chats:
        cluster_id = firsts[chat]
        assert cluster_id is not None
        if cluster_id in answered:  # two groups' questions in one cluster: answered once
            continue
        draft = AnswerDraft(verdict="false", explanation="The bridge is open; engineers checked.")
        await publish_answer(runtime.services, cluster_id, draft)
        answered.add(cluster_id)
    for chat in chats:
        sent = await runtime.webchat_outbox.wait_for(chat, before[chat] + 1, timeout=10)
        assert any("engineers checked" in m.text for m in sent[before[chat] :]), chat
