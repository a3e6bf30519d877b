"""The answer editor: verdict, claim and explanation per language, source, preview, a
confirmation with exact counts, then publish or correct.

Publishing needs only the languages staff have written: a resident whose language is missing
gets the closest written one with a note in theirs, and is sent it again once staff add it.
"""

from __future__ import annotations

from collections import Counter
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
from admin.plurals import plural
from bot.conversation.publishing import (
    AnswerDraft,
    PublishError,
    after_publish,
    answer_preview,
    broadcast,
    closest_language,
    correct_answer,
    find_broadcast,
    item_languages,
    publish_answer,
    reader_language,
    recipients,
    subscribers,
)
from bot.texts import replies
from bot.texts.catalogue import TOPICS, languages, resolve_language, text
from domain.messages import OutboundMessage
from domain.models import Answer, Cluster, KnowledgeItem, Verdict, utcnow
from domain.models import Request as RequestRow

VERDICTS = {v.value for v in Verdict}
SAMPLES_PER_LANGUAGE = 3


@dataclass
class Editor:
    """The editor's fields, as typed, and what is wrong with them."""

    verdict: str = ""
    source_url: str = ""
    topic: str = ""
    broadcast: bool = False
    claims: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def written(self) -> list[str]:
        """Languages with both a claim and an explanation, in the editor's order."""
        return [
            lang for lang in self.explanations if self.explanations[lang] and self.claims.get(lang)
        ]

    def validate(self) -> None:
        if self.verdict not in VERDICTS:
            self.errors.append("Choose a verdict.")
        for lang in self.explanations:
            name = f"{text('language_name', lang)} ({lang})"
            if self.explanations[lang] and not self.claims.get(lang):
                self.errors.append(f"Write the claim in {name} too, or empty its explanation.")
            if self.claims.get(lang) and not self.explanations[lang]:
                self.errors.append(f"Write the explanation in {name} too, or empty its claim.")
        if not self.written and not self.errors:
            self.errors.append("Write the claim and the explanation in at least one language.")
        if self.source_url and not self.source_url.startswith(("http://", "https://")):
            self.errors.append("The source link must start with http:// or https://.")
        if self.topic and self.topic not in TOPICS:
            self.errors.append("Choose a valid topic.")
        if self.broadcast and not self.topic:
            self.errors.append("Choose a topic to broadcast to its subscribers.")

    def primary(self, default: str) -> str:
        written = self.written
        return default if default in written else (written[0] if written else default)

    def draft(self, default: str, author: str) -> AnswerDraft:
        primary = self.primary(default)
        translations = {
            lang: {"claim": self.claims[lang], "explanation": self.explanations[lang]}
            for lang in self.written
            if lang != primary
        }
        return AnswerDraft(
            verdict=self.verdict,
            explanation=self.explanations.get(primary, ""),
            language=primary,
            translations=translations,
            source_url=self.source_url or None,
            topic=self.topic or None,
            claim=self.claims.get(primary, ""),
            author=author,
        )

    def item(self, default: str, publisher: str) -> KnowledgeItem:
        draft = self.draft(default, "")
        return KnowledgeItem(
            claim=draft.claim,
            verdict=draft.verdict,
            explanation=draft.explanation,
            source_url=draft.source_url,
            publisher=publisher,
            published_at=utcnow(),
            language=draft.language,
            translations=draft.translations,
        )

    def item_fields(self, default: str, publisher: str) -> dict[str, Any]:
        item = self.item(default, publisher)
        return {
            name: getattr(item, name)
            for name in (
                "claim",
                "verdict",
                "explanation",
                "source_url",
                "publisher",
                "published_at",
                "language",
                "translations",
            )
        }


def asked_languages(cluster_languages: set[str]) -> list[str]:
    return sorted({resolve_language(code) for code in cluster_languages if code})


def editor_languages(asked: list[str], default: str) -> list[str]:
    """The default language, the askers' languages, then the catalogue's others."""
    first = [default, *[lang for lang in asked if lang != default]]
    return first + [lang for lang in languages() if lang not in first]


def editor_from_form(form: FormData, langs: list[str]) -> Editor:
    return Editor(
        verdict=form_str(form, "verdict", 20),
        source_url=form_str(form, "source_url", 2000),
        topic=form_str(form, "topic", 50),
        broadcast=form.get("broadcast") == "on",
        claims={lang: form_str(form, f"claim_{lang}", 2000) for lang in langs},
        explanations={lang: form_str(form, f"explanation_{lang}", 5000) for lang in langs},
    )


def editor_from_answer(answer: Answer, item: KnowledgeItem | None, langs: list[str]) -> Editor:
    editor = Editor(
        verdict=answer.verdict,
        source_url=answer.source_url or "",
        topic=(item.topic if item else "") or "",
        claims=dict.fromkeys(langs, ""),
        explanations=dict.fromkeys(langs, ""),
    )
    if item is not None:
        for lang in item_languages(item):
            claim, explanation = item.text_in(lang)
            editor.claims[lang], editor.explanations[lang] = claim, explanation
    return editor


def previews(panel: Panel, editor: Editor, asked: list[str]) -> dict[str, OutboundMessage]:
    """What a resident reading each language gets: the written ones, and for each asked
    language not written, the closest one with the note residents will read."""
    if editor.verdict not in VERDICTS or not editor.written:
        return {}
    settings = panel.services.settings
    item = editor.item(settings.default_language, settings.publisher_name)
    shown: dict[str, OutboundMessage] = {}
    for lang in [*editor.written, *[a for a in asked if a not in editor.written]]:
        target = closest_language(lang, editor.written, item.language)
        header = text("notify_answered", lang)
        if target != lang:
            header += "\n" + text(
                "answer_language_note", lang, available=text("language_name", target)
            )
        shown[lang] = replies.answer_message("preview", item, 0, target, header=header)
    return shown


@dataclass
class Context:
    cluster: Cluster
    languages: list[str]
    asked: list[str]
    answer: Answer | None
    item: KnowledgeItem | None
    samples: dict[str, list[str]]


async def _context(panel: Panel, cluster_id: int) -> Context | None:
    async with panel.services.db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
        if cluster is None:
            return None
        messages: list[RequestRow] = await requests_of(session, cluster.id)
        asked = asked_languages({r.language or "" for r in messages})
        samples: dict[str, list[str]] = {}
        for message in messages:
            lang = resolve_language(message.language)
            if message.text and len(samples.setdefault(lang, [])) < SAMPLES_PER_LANGUAGE:
                if message.text not in samples[lang]:
                    samples[lang].append(message.text)
        langs = editor_languages(asked, panel.services.settings.default_language)
        answer = await session.get(Answer, cluster.answer_id) if cluster.answer_id else None
        item = (
            await session.get(KnowledgeItem, answer.knowledge_item_id)
            if answer and answer.knowledge_item_id
            else None
        )
    return Context(cluster, langs, asked, answer, item, samples)


def _render(
    panel: Panel,
    request: Request,
    ctx: Context,
    editor: Editor,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    first = ctx.languages[: 1 + len([a for a in ctx.asked if a != ctx.languages[0]])]
    return panel.render(
        request,
        "answer.html",
        status_code=status_code,
        first_languages=first,
        other_open=any(
            editor.claims.get(lang) or editor.explanations.get(lang)
            for lang in ctx.languages
            if lang not in first
        ),
        cluster=ctx.cluster,
        languages=ctx.languages,
        asked=ctx.asked,
        samples=ctx.samples,
        editor=editor,
        answer=ctx.answer,
        previews=previews(panel, editor, ctx.asked),
        **extra,
    )


@requires("viewer")
async def editor_page(panel: Panel, request: Request) -> Response:
    ctx = await _context(panel, int_param(request.path_params["cluster_id"]))
    if ctx is None:
        return panel.render(request, "error.html", status_code=404, message="No such cluster.")
    if ctx.answer is not None:
        editor = editor_from_answer(ctx.answer, ctx.item, ctx.languages)
    else:
        editor = Editor(
            topic=ctx.cluster.topic or "",
            claims=dict.fromkeys(ctx.languages, ""),
            explanations=dict.fromkeys(ctx.languages, ""),
        )
    return _render(panel, request, ctx, editor, previews_shown=False)


@dataclass
class AudienceRow:
    group: str  # "askers" / "earlier recipients" / "subscribers"
    channel: str
    language: str  # the resident's
    shown: str  # the language they will read
    count: int


async def audience(panel: Panel, ctx: Context, editor: Editor) -> list[AudienceRow]:
    """Exactly who this publish will message, by channel and language."""
    settings = panel.services.settings
    item = editor.item(settings.default_language, settings.publisher_name)
    written = item_languages(item)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    async with panel.services.db.session() as session:
        if ctx.answer is None:
            people = await recipients(session, ctx.cluster.id, None, None)
            group = "residents who asked"
        else:
            people = await recipients(
                session, ctx.answer.cluster_id, ctx.answer.knowledge_item_id, ctx.answer.id
            )
            group = "residents told an earlier version"
            if ctx.item is not None and _translation_only(ctx.item, editor, settings):
                added = written - item_languages(ctx.item)
                people = [(r, q) for r, q in people if reader_language(r, q) in added]
                group = "residents waiting for their language"
        for resident, latest in people:
            lang = reader_language(resident, latest)
            shown = closest_language(lang, written, item.language)
            counts[(group, resident.channel, lang, shown)] += 1
        if editor.broadcast and editor.topic:
            for resident in await subscribers(session, editor.topic):
                lang = resolve_language(resident.language, item.language)
                shown = closest_language(lang, written, item.language)
                counts[(f"subscribers to {editor.topic}", resident.channel, lang, shown)] += 1
    return [AudienceRow(*key, count) for key, count in sorted(counts.items())]


def _translation_only(item: KnowledgeItem, editor: Editor, settings: Any) -> bool:
    from bot.conversation.publishing import _only_adds_languages

    return _only_adds_languages(item, editor.draft(settings.default_language, ""))


@requires("viewer")
async def editor_submit(panel: Panel, request: Request) -> Response:
    """Preview is open to every role; publishing (confirm, then send) needs a moderator."""
    ctx = await _context(panel, int_param(request.path_params["cluster_id"]))
    if ctx is None:
        return panel.render(request, "error.html", status_code=404, message="No such cluster.")
    form = await request.form()
    editor = editor_from_form(form, ctx.languages)
    editor.validate()
    action = form_str(form, "action", 20)
    if action in {"publish", "confirm"} and not request.state.staff.can("moderator"):
        return panel.render(
            request, "error.html", status_code=403, message="Your role does not allow this action."
        )
    if editor.errors:
        status = 400 if action in {"publish", "confirm"} else 200
        return _render(panel, request, ctx, editor, status, previews_shown=True)
    if action == "publish":
        rows = await audience(panel, ctx, editor)
        return _render(
            panel,
            request,
            ctx,
            editor,
            confirming=True,
            audience=rows,
            total=sum(r.count for r in rows),
            previews_shown=True,
        )
    if action == "confirm":
        return await _publish(panel, request, ctx, editor)
    return _render(panel, request, ctx, editor, previews_shown=True)


async def _publish(panel: Panel, request: Request, ctx: Context, editor: Editor) -> Response:
    actor = request.state.staff.username
    settings = panel.services.settings
    draft = editor.draft(settings.default_language, actor)
    cluster, answer = ctx.cluster, ctx.answer
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
                body = {lang: answer_preview(fields, lang) for lang in editor.written}
                version = answer.version + 1 if answer else 1
                key = f"answer-{result.answer_id}-v{version}"
                if await find_broadcast(session, key) is None:
                    sent = await broadcast(
                        panel.services,
                        key,
                        editor.topic,
                        body,
                        draft.language,
                        session=session,
                        answer_id=result.answer_id,
                        author=actor,
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
        editor.errors.append(str(exc).capitalize() + ".")
        return _render(panel, request, ctx, editor, 400, previews_shown=True)
    await after_publish(panel.services)
    verb = "Published" if name == "publish" else "Correction published"
    extra = f", and the update goes to {plural(sent, 'subscriber')}" if sent else ""
    return panel.redirect(
        request,
        f"/clusters/{cluster.id}",
        f"{verb}. {plural(result.notified, 'resident')} will be notified{extra}.",
    )


def routes(panel: Panel) -> list[Route]:
    return [
        Route("/clusters/{cluster_id:int}/answer", partial(editor_page, panel), methods=["GET"]),
        Route("/clusters/{cluster_id:int}/answer", partial(editor_submit, panel), methods=["POST"]),
    ]
