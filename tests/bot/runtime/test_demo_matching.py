"""The demo knowledge base answers what residents would send about its 30 items.

For every item: its claim verbatim, each stored translation verbatim, and one paraphrase per
language (written for this test, not taken from the items) -> the answer, in the language the
resident writes in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime.app import Runtime
from bot.runtime.demo import load_demo
from bot.texts.replies import render_answer
from domain.models import KnowledgeItem
from tests.conftest import resident_says

DEMO = Path(__file__).parents[3] / "bot" / "runtime" / "demo" / "knowledge.jsonl"

# (demo id, language, how a resident might put it)
PARAPHRASES = [
    (
        "demo-001",
        "en",
        "Starting this Monday the city is cutting off water supply everywhere for two whole weeks",
    ),
    ("demo-001", "sw", "Kuanzia Jumatatu jiji litakata maji yote kwa muda wa wiki mbili"),
    ("demo-002", "en", "The city's tap water is poisoned, it is not safe to drink it"),
    ("demo-002", "sw", "Maji ya bomba ya jiji yametiwa sumu, si salama kuyanywa"),
    ("demo-003", "en", "Tonight the whole city will have no electricity because the grid failed"),
    ("demo-004", "en", "Girls who get the measles vaccine at school become infertile"),
    ("demo-004", "sw", "Wasichana wanaopewa chanjo ya surua shuleni hupata utasa"),
    ("demo-004", "hi", "स्कूल में लगने वाला खसरे का टीका लड़कियों को बांझ बना देता है"),
    ("demo-005", "en", "Cholera is cured by drinking hot lemon water every hour"),
    (
        "demo-006",
        "en",
        "This month all public health centres are giving cholera vaccination for free",
    ),
    ("demo-007", "en", "Patients who are not vaccinated are being refused treatment by hospitals"),
    ("demo-008", "en", "To vote in the municipal election voters have to bring two forms of ID"),
    (
        "demo-008",
        "sw",
        "Katika uchaguzi wa manispaa wapiga kura lazima walete vitambulisho viwili ili kupiga kura",
    ),
    ("demo-009", "en", "They have postponed the municipal election until next year"),
    ("demo-010", "en", "Send an SMS with your ID number and you can vote"),
    ("demo-011", "en", "On election day the polling stations will be open from 6 am until 6 pm"),
    ("demo-012", "en", "A curfew has been declared by the city in all districts from 6 pm tonight"),
    (
        "demo-012",
        "sw",
        "Leo jiji limetangaza amri ya kutotoka nje katika wilaya zote kuanzia saa 12 jioni",
    ),
    (
        "demo-012",
        "ar",
        "المدينة أعلنت حظر التجول في جميع الأحياء ابتداءً من الساعة السادسة مساء اليوم",
    ),
    (
        "demo-013",
        "en",
        "In the northern districts armed men are kidnapping children near the schools",
    ),
    ("demo-014", "en", "To stop the protest the army has been deployed in the city centre"),
    (
        "demo-015",
        "en",
        "Register on this link and the government is giving everyone 5,000 shillings",
    ),
    (
        "demo-015",
        "sw",
        "Serikali inampa shilingi 5,000 kila mtu atakayejisajili kupitia kiungo hiki",
    ),
    (
        "demo-016",
        "en",
        "Someone from the city is calling residents asking for their mobile money PIN "
        "to pay them a refund",
    ),
    (
        "demo-017",
        "en",
        "You will receive free mobile data if you forward this message to 10 groups",
    ),
    (
        "demo-018",
        "en",
        "To apply for the 2,000 street cleaner jobs the city is hiring "
        "you must pay a registration fee",
    ),
    ("demo-019", "en", "From next week bus fares are going to double"),
    ("demo-020", "en", "This weekend the main bridge on River Road will be closed for repairs"),
    ("demo-021", "hi", "अगले सोमवार से दो हफ्ते तक नगर निगम पूरे शहर में पानी की सप्लाई बंद कर देगा"),
    (
        "demo-021",
        "en",
        "From next Monday the municipal corporation will stop water supply "
        "to the whole city for two weeks",
    ),
    ("demo-022", "hi", "सरकार व्हाट्सएप पर भेजे गए लिंक से रजिस्टर करने वाले सबको मुफ्त गैस सिलेंडर दे रही है"),
    (
        "demo-022",
        "en",
        "If you register through the link sent on WhatsApp "
        "the government gives you a free gas cylinder",
    ),
    ("demo-023", "sw", "Chanjo ya polio inayotolewa nyumba kwa nyumba ina virusi vinavyoua watoto"),
    ("demo-023", "en", "The polio vaccine given door to door contains a virus that kills children"),
    ("demo-024", "sw", "Kesho masoko yote ya jiji yatafungwa kwa sababu ya maandamano"),
    ("demo-024", "en", "Because of the protests all the city markets will be closed tomorrow"),
    ("demo-025", "es", "En toda la ciudad el agua del grifo está contaminada con cólera"),
    ("demo-025", "en", "Across the whole city the tap water is contaminated with cholera"),
    ("demo-026", "id", "Malam ini pemerintah kota memberlakukan jam malam mulai pukul 20.00"),
    ("demo-026", "en", "From 8 pm tonight the city government will impose a curfew"),
    ("demo-027", "ar", "ابتداءً من الأحد سيتم قطع المياه عن المدينة بالكامل لمدة أسبوعين"),
    ("demo-027", "en", "Starting Sunday water will be cut off for two weeks across the whole city"),
    ("demo-028", "en", "If you eat garlic you are protected from the new flu strain"),
    ("demo-029", "en", "The Station Avenue underpass has been closed by flooding"),
    ("demo-030", "en", "There is a tracking microchip inside the new national ID cards"),
]


def _verbatim() -> list[tuple[str, str, str]]:
    out = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.append((row["id"], row["language"], row["claim"]))
        for language, fields in (row.get("translations") or {}).items():
            out.append((row["id"], language, fields["claim"]))
    return out


def test_every_item_and_language_has_a_paraphrase() -> None:
    verbatim = {(i, lang) for i, lang, _ in _verbatim()}
    assert {(i, lang) for i, lang, _ in PARAPHRASES} == verbatim
    assert len(verbatim) == 45 and len({i for i, _ in verbatim}) == 30
    texts = {t for _, _, t in _verbatim()}
    assert not texts & {t for _, _, t in PARAPHRASES}


@pytest.mark.parametrize("kind", ["verbatim", "paraphrase"])
async def test_demo_knowledge_base_answers_in_the_residents_language(
    runtime: Runtime, kind: str
) -> None:
    await load_demo(runtime.services, only_if_empty=True)
    await runtime.services.knowledge.refresh()
    async with runtime.services.db.session() as session:
        items = {i.external_id: i for i in (await session.scalars(select(KnowledgeItem)))}
    assert len(items) == 30
    cases = _verbatim() if kind == "verbatim" else PARAPHRASES
    wrong = []
    for n, (demo_id, language, text) in enumerate(cases):  # each from a resident of their own
        replies = await resident_says(runtime, f"demo-{n}", text, hint=language)
        reply = replies[0].text
        if not reply.startswith(render_answer(items[demo_id], language)):
            wrong.append((demo_id, language, text, reply[:80]))
    assert wrong == []


# same topic as a demo item, a different claim: a number, day, place, polarity or predicate
# differs (the demo's own claim is in the comment)
DIFFERENT_CLAIMS = [
    ("en", "The government is giving 50,000 shillings to everyone who registers on this link"),
    ("en", "Tap water in the city is safe to drink, the utility says"),
    ("en", "The city will not cut off the water supply on Monday"),
    ("en", "Polling stations will be open from 8 am to 4 pm on election day"),
    ("en", "Bus fares will be free from next week"),  # will double
    ("en", "Bus fares will be halved from next week"),
    ("en", "The city will cut off all water supply for three weeks starting Monday"),
    ("en", "The city will cut off all water supply for two weeks starting Friday"),
    ("en", "Hot water with lemon causes cholera"),  # cures cholera
    ("en", "The main bridge on Mombasa Road is closed for repairs this weekend"),  # River Road
    ("en", "The main bridge on River Road is open again this weekend"),  # closed
    ("en", "Polling stations will be closed on election day"),
    ("en", "The municipal election has been cancelled"),  # postponed
    ("en", "The curfew from 6 pm tonight has been lifted in all districts"),  # declared
    ("en", "The city is hiring 200 street cleaners"),  # 2,000
    ("en", "Eating garlic does not protect you from the new flu strain"),
    ("en", "The new national ID cards do not contain a tracking microchip"),
    ("sw", "Jiji litakata maji yote kwa wiki tatu kuanzia Jumatatu"),  # wiki mbili
    ("sw", "Jiji halitakata maji kuanzia Jumatatu"),  # will not cut
    ("sw", "Maji ya bomba jijini ni salama kunywa"),  # poisoned, not safe
    ("sw", "Serikali inampa kila mtu shilingi 50,000 atakayejisajili kupitia kiungo hiki"),
    ("es", "El agua del grifo es segura en toda la ciudad"),  # contaminated with cholera
    ("es", "El agua del grifo no está contaminada con cólera"),
    ("id", "Pemerintah kota akan memberlakukan jam malam mulai pukul 22.00"),  # 20.00
    ("hi", "अगले सोमवार से तीन हफ्ते तक पूरे शहर में पानी की सप्लाई बंद रहेगी"),  # two weeks
    ("ar", "قطع المياه عن المدينة بالكامل لمدة أسبوعين ابتداءً من الاثنين"),  # from Sunday
]


async def test_a_different_claim_on_the_same_topic_is_not_answered(runtime: Runtime) -> None:
    await load_demo(runtime.services, only_if_empty=True)
    for language, text in DIFFERENT_CLAIMS:
        decision = await runtime.services.knowledge.decide(text, language)
        assert decision.outcome.value != "answer", (text, decision)
