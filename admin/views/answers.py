"""The answer editor: verdict, explanation per language, source, preview, publish or correct."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.clusters import requests_of
from admin.panel import Panel, form_str, int_param, requires
from bot.conversation import replies
from bot.conversation.catalogue import TOPICS, resolve_language, text
from bot.conversation.publishing import (
    AnswerDraft,
    PublishError,
    after_publish,
    answer_preview,
    broadcast,
    correct_answer,
    publish_answer,
)
from domain.messages import OutboundMessage
from domain.models import Answer, Cluster, KnowledgeItem, Verdict, utcnow

VERDICTS = {v.value for v in Verdict}


@dataclass
class Editor:
    """The editor's fields, as typed, and what is wrong with them."""

    verdict: str = ""
    claim: str = ""
    source_url: str = ""
    topic: str = ""
    broadcast: bool = False
    explanations: dict[str, str] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def validate(self) -> None:
        if self.verdict not in VERDICTS:
            self.errors.append("Choose a verdict.")
        if not self.claim:
            self.errors.append("The claim is empty.")
        for language in self.required:
            if not self.explanations.get(language):
                self.errors.append(
                    f"Write the explanation in {text('language_name', language)} ({language}): "
                    "residents asked in it."
                )
        if self.source_url and not self.source_url.startswith(("http://", "https://")):
            self.errors.append("The source link must start with http:// or https://.")
        if self.topic and self.topic not in TOPICS:
            self.errors.append("Choose a valid topic.")
        if self.broadcast and not self.topic:
            self.errors.append("Choose a topic to broadcast to its subscribers.")

    def primary(self, default: str) -> str:
        filled = [lang for lang, value in self.explanations.items() if value]
        return default if default in filled else (filled[0] if filled else default)

    def draft(self, default: str, author: str) -> AnswerDraft:
        primary = self.primary(default)
        translations = {
            lang: {"explanation": value}
            for lang, value in self.explanations.items()
            if value and lang != primary
        }
        return AnswerDraft(
            verdict=self.verdict,
            explanation=self.explanations.get(primary, ""),
            language=primary,
            translations=translations,
            source_url=self.source_url or None,
            topic=self.topic or None,
            claim=self.claim,
            author=author,
        )

    def item_fields(self, default: str, publisher: str) -> dict[str, Any]:
        draft = self.draft(default, "")
        return {
            "claim": draft.claim,
            "verdict": draft.verdict,
            "explanation": draft.explanation,
            "source_url": draft.source_url,
            "publisher": publisher,
            "published_at": utcnow(),
            "language": draft.language,
            "translations": draft.translations,
        }


def asked_languages(cluster_languages: set[str]) -> list[str]:
    return sorted({resolve_language(code) for code in cluster_languages if code})


def editor_languages(asked: list[str], default: str) -> list[str]:
    return [default, *[lang for lang in asked if lang != default]]


def editor_from_form(form: FormData, languages: list[str]) -> Editor:
    return Editor(
        verdict=form_str(form, "verdict", 20),
        claim=form_str(form, "claim", 5000),
        source_url=form_str(form, "source_url", 2000),
        topic=form_str(form, "topic", 50),
        broadcast=form.get("broadcast") == "on",
        explanations={lang: form_str(form, f"explanation_{lang}", 5000) for lang in languages},
    )


def editor_from_answer(answer: Answer, item: KnowledgeItem | None, languages: list[str]) -> Editor:
    explanations = {
        lang: ((answer.translations or {}).get(lang) or {}).get("explanation", "")
        for lang in languages
    }
    if item is not None:
        explanations[item.language] = item.explanation
    return Editor(
        verdict=answer.verdict,
        claim=item.claim if item else "",
        source_url=answer.source_url or "",
        topic=(item.topic if item else "") or "",
        explanations=explanations,
    )


def previews(panel: Panel, editor: Editor, languages: list[str]) -> dict[str, OutboundMessage]:
    if editor.verdict not in VERDICTS or not editor.claim:
        return {}
    settings = panel.services.settings
    item = KnowledgeItem(**editor.item_fields(settings.default_language, settings.publisher_name))
    return {
        lang: replies.answer_message("preview", item, 0, lang, header=text("notify_answered", lang))
        for lang in languages
        if editor.explanations.get(lang)
    }


async def _context(
    panel: Panel, cluster_id: int
) -> tuple[Cluster, list[str], list[str], Answer | None, KnowledgeItem | None] | None:
    async with panel.services.db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
        if cluster is None:
            return None
        asked = asked_languages({r.language or "" for r in await requests_of(session, cluster.id)})
        languages = editor_languages(asked, panel.services.settings.default_language)
        answer = await session.get(Answer, cluster.answer_id) if cluster.answer_id else None
        item = (
            await session.get(KnowledgeItem, answer.knowledge_item_id)
            if answer and answer.knowledge_item_id
            else None
        )
    return cluster, languages, asked, answer, item


@requires("viewer")
async def editor_page(panel: Panel, request: Request) -> Response:
    found = await _context(panel, int_param(request.path_params["cluster_id"]))
    if found is None:
        return panel.render(request, "error.html", status_code=404, message="No such cluster.")
    cluster, languages, asked, answer, item = found
    editor = (
        editor_from_answer(answer, item, languages)
        if answer is not None
        else Editor(claim=cluster.representative_text, topic=cluster.topic or "")
    )
    editor.required = asked or languages[:1]
    return panel.render(
        request,
        "answer.html",
        cluster=cluster,
        languages=languages,
        editor=editor,
        answer=answer,
        previews={},
    )


@requires("viewer")
async def editor_submit(panel: Panel, request: Request) -> Response:
    """Preview is open to every role; publishing needs a moderator."""
    found = await _context(panel, int_param(request.path_params["cluster_id"]))
    if found is None:
        return panel.render(request, "error.html", status_code=404, message="No such cluster.")
    cluster, languages, asked, answer, _item = found
    form = await request.form()
    editor = editor_from_form(form, languages)
    editor.required = asked or languages[:1]
    editor.validate()
    action = form_str(form, "action", 20)
    if action == "publish" and not request.state.staff.can("moderator"):
        return panel.render(
            request, "error.html", status_code=403, message="Your role does not allow this action."
        )
    if editor.errors or action != "publish":
        status = 400 if editor.errors and action == "publish" else 200
        return panel.render(
            request,
            "answer.html",
            status_code=status,
            cluster=cluster,
            languages=languages,
            editor=editor,
            answer=answer,
            previews=previews(panel, editor, languages),
        )
    return await _publish(panel, request, cluster, answer, editor)


async def _publish(
    panel: Panel, request: Request, cluster: Cluster, answer: Answer | None, editor: Editor
) -> Response:
    actor = request.state.staff.username
    settings = panel.services.settings
    draft = editor.draft(settings.default_language, actor)
    before: dict[str, Any]
    try:
        async with panel.services.db.session() as session:
            if answer is None:
                result = await publish_answer(panel.services, cluster.id, draft, session=session)
                name, before = "publish", {"status": cluster.status}
            else:
                before = {
                    "verdict": answer.verdict,
                    "explanation": answer.explanation,
                    "translations": answer.translations,
                    "source_url": answer.source_url,
                    "version": answer.version,
                }
                result = await correct_answer(panel.services, answer.id, draft, session=session)
                name = "correct"
            sent = 0
            if editor.broadcast and editor.topic:
                fields = editor.item_fields(settings.default_language, settings.publisher_name)
                body = {
                    lang: answer_preview(fields, lang)
                    for lang, value in editor.explanations.items()
                    if value
                }
                sent = await broadcast(
                    panel.services,
                    f"answer-{result.answer_id}-v{answer.version + 1 if answer else 1}",
                    editor.topic,
                    body,
                    draft.language,
                    session=session,
                )
            await audit.record(
                session,
                name,
                actor,
                f"cluster:{cluster.id}",
                before,
                {
                    "answer": result.answer_id,
                    "item": result.knowledge_item_id,
                    "verdict": draft.verdict,
                    "explanation": draft.explanation,
                    "translations": draft.translations,
                    "source_url": draft.source_url,
                    "notified": result.notified,
                    "broadcast": sent,
                },
            )
    except PublishError as exc:
        editor.errors.append(str(exc))
        return panel.render(
            request,
            "answer.html",
            status_code=400,
            cluster=cluster,
            languages=list(editor.explanations),
            editor=editor,
            answer=answer,
            previews={},
        )
    await after_publish(panel.services)
    verb = "Published" if name == "publish" else "Correction published"
    extra = f", and the update goes to {sent} subscribers" if sent else ""
    return panel.redirect(
        request,
        f"/clusters/{cluster.id}",
        f"{verb}. {result.notified} residents will be notified{extra}.",
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/clusters/{cluster_id:int}/answer", partial(editor_page, panel), methods=["GET"]),
        Route("/clusters/{cluster_id:int}/answer", partial(editor_submit, panel), methods=["POST"]),
    ]
