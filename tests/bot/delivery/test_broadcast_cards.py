"""An answer's cards broadcast through the fake Graph API arrive as pictures: an image message
with the forward-ready text as its caption inside the 24-hour window, and outside it the
approved template with the card in its image header."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from bot.conversation.publishing import AnswerDraft, publish_answer
from bot.delivery.audience import Audience
from bot.delivery.broadcasts import answer_bodies, answer_images, targeted_broadcast
from domain.db import Database
from domain.models import Cluster, ClusterStatus, Resident, SubscriberProfile, utcnow
from domain.settings import Settings
from matching import Embedder
from tests.bot.channels.test_whatsapp import open_whatsapp, whatsapp_settings
from tests.fakes.graph_api import FakeGraphAPI

pytestmark = pytest.mark.filterwarnings("ignore:PluginImportFixer.find_spec:ImportWarning")
LIONS = "Lions escaped from the national park and are walking in the market tonight"


async def test_an_answer_broadcast_sends_the_card_as_an_image(
    settings: Settings, database: Database, embedder: Embedder
) -> None:
    with FakeGraphAPI() as graph:
        wa_settings = whatsapp_settings(settings, graph, whatsapp_template_broadcast_image=True)
        async with open_whatsapp(wa_settings, database, embedder, graph) as wa:
            services = wa.runtime.services
            now = utcnow()
            async with services.db.session() as session:
                cluster = Cluster(representative_text=LIONS, status=ClusterStatus.NEW,
                                  ask_count=0, first_seen_at=now, last_seen_at=now)
                session.add(cluster)
                for chat, seen in (("254700000001", now - timedelta(hours=1)),
                                   ("254700000002", None)):
                    resident = Resident(channel="whatsapp", chat_id=chat, language="en",
                                        last_inbound_at=seen)
                    session.add(resident)
                    await session.flush()
                    session.add(SubscriberProfile(resident_id=resident.id, role="influencer",
                                                  areas=["Kibera"], languages=["en"]))
                await session.flush()
                cluster_id = cluster.id
            draft = AnswerDraft(verdict="false", explanation="Park rangers: every lion is inside.")
            answer_id = (await publish_answer(services, cluster_id, draft)).answer_id
            bodies = await answer_bodies(services, answer_id)
            plan = await targeted_broadcast(
                services, "lions", Audience(roles=frozenset({"influencer"})), bodies,
                images=await answer_images(services, answer_id))
            assert plan.queued == 2
            deadline = time.monotonic() + 20
            while len(graph.sent) < 2 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    card = f"/claims/{answer_id}/card.png?lang=en"
    by_person = {s.to: s for s in graph.sent}
    assert len(graph.sent) == 2
    inside = by_person["254700000001"]
    assert inside.type == "image" and inside.body["image"]["link"].endswith(card)
    assert inside.text.startswith("Share this with your groups")
    assert "FALSE" in inside.text and "card.png" not in inside.text
    outside = by_person["254700000002"].body["template"]
    header, body = outside["components"]
    assert header == {"type": "header", "parameters": [
        {"type": "image", "image": {"link": inside.body["image"]["link"]}}]}
    assert "FALSE" in body["parameters"][0]["text"]
