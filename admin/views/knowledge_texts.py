"""An item's other texts on its panel page: translations (claim and explanation per language)
and variants (message texts the item is known to answer). Every change is audited in the
transaction that makes it, and the matching index follows before the page comes back."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin import audit
from admin.panel import Panel, form_str, int_param, requires
from bot.texts.catalogue import languages
from domain.models import KnowledgeItem, KnowledgeVariant, VariantSource, utcnow
from domain.variants import MAX_VARIANT_CHARS, add_confirmed, confirm_pending, remove_variant

ORIGIN_LABELS = {
    VariantSource.CLUSTER: "a cluster staff answered with this item",
    VariantSource.STAFF: "added or confirmed by staff",
    VariantSource.RESIDENTS: "residents of several chats picked this item",
    VariantSource.RESIDENT: "one resident picked this item",
}


def variant_state(variant: KnowledgeVariant) -> dict[str, Any]:
    return audit.fields(variant, "text", "language", "status", "source")


def _not_found(panel: Panel, request: Request, what: str = "item") -> Response:
    return panel.render(request, "error.html", status_code=404, message=f"No such {what}.")


@requires("moderator")
async def save_translation(panel: Panel, request: Request) -> Response:
    """Add or change one language's claim and explanation (`remove=1` deletes it)."""
    item_id = int_param(request.path_params["item_id"])
    form = await request.form()
    language = form_str(form, "language", 10)
    claim, explanation = form_str(form, "claim"), form_str(form, "explanation")
    removing = form_str(form, "remove", 1) == "1"
    async with panel.services.db.session() as session:
        item = await session.get(KnowledgeItem, item_id)
        if item is None:
            return _not_found(panel, request)
        problem = _translation_problem(item, language, claim, removing)
        if problem:
            return panel.redirect(request, f"/knowledge/{item_id}", problem)
        translations = {k: dict(v) for k, v in (item.translations or {}).items()}
        before = translations.get(language)
        if removing:
            translations.pop(language, None)
            after = None
        else:
            after = {"claim": claim, **({"explanation": explanation} if explanation else {})}
            translations[language] = after
        item.translations = translations  # a new dict: the JSON column sees the change
        item.updated_at = utcnow()
        name = "remove_translation" if removing else "edit_translation"
        await audit.record(
            session,
            name,
            request.state.staff.username,
            f"item:{item_id}",
            {"language": language, **(before or {})},
            {"language": language, **(after or {})},
        )
    await panel.services.knowledge.refresh()
    done = "removed" if removing else "saved"
    return panel.redirect(request, f"/knowledge/{item_id}", f"Translation {done}.")


def _translation_problem(item: KnowledgeItem, language: str, claim: str, removing: bool) -> str:
    if language not in languages():
        return "Choose a language."
    if removing:
        return "" if language in (item.translations or {}) else "There is no such translation."
    if language == item.language:
        return "That is the item's own language: edit the claim above instead."
    return "" if claim else "The translated claim is empty."


@requires("moderator")
async def add_variant(panel: Panel, request: Request) -> Response:
    item_id = int_param(request.path_params["item_id"])
    form = await request.form()
    text = form_str(form, "text", MAX_VARIANT_CHARS)
    language = form_str(form, "language", 10)
    if language not in languages():
        language = ""
    async with panel.services.db.session() as session:
        item = await session.get(KnowledgeItem, item_id)
        if item is None:
            return _not_found(panel, request)
        added = await add_confirmed(session, item, [(text, language or None)], VariantSource.STAFF)
        if not added:
            return panel.redirect(
                request,
                f"/knowledge/{item_id}",
                "Not added: the text is already known for this item, or too short "
                "to tell one claim from another (at least four words that carry meaning).",
            )
        await audit.record(
            session,
            "add_variant",
            request.state.staff.username,
            f"item:{item_id}",
            None,
            {"variant": added[0].id, **variant_state(added[0])},
        )
    await panel.services.knowledge.refresh()
    return panel.redirect(
        request,
        f"/knowledge/{item_id}",
        "Variant added: a forward of this text is now answered with this item.",
    )


@requires("moderator")
async def change_variant(panel: Panel, request: Request) -> Response:
    """`remove` a wrong variant (no longer matched on) or `confirm` a pending one."""
    item_id = int_param(request.path_params["item_id"])
    variant_id = int_param(request.path_params["variant_id"])
    action = request.path_params["action"]
    if action not in ("remove", "confirm"):
        return _not_found(panel, request, "action")
    async with panel.services.db.session() as session:
        variant = await session.get(KnowledgeVariant, variant_id)
        if variant is None or variant.item_id != item_id:
            return _not_found(panel, request, "variant")
        before = variant_state(variant)
        changed = await (remove_variant if action == "remove" else confirm_pending)(
            session, variant_id
        )
        if changed is None:
            return panel.redirect(request, f"/knowledge/{item_id}", "Nothing to change.")
        await audit.record(
            session,
            f"{action}_variant",
            request.state.staff.username,
            f"item:{item_id}",
            {"variant": variant_id, **before},
            {"variant": variant_id, **variant_state(changed)},
        )
    await panel.services.knowledge.refresh()
    flash = (
        "Variant removed: this text is no longer answered with this item."
        if action == "remove"
        else "Variant confirmed: a forward of this text is now answered with this item."
    )
    return panel.redirect(request, f"/knowledge/{item_id}", flash)


def routes(panel: Panel) -> list[Route]:
    base = "/knowledge/{item_id:int}"
    return [
        Route(f"{base}/translations", partial(save_translation, panel), methods=["POST"]),
        Route(f"{base}/variants", partial(add_variant, panel), methods=["POST"]),
        Route(
            base + "/variants/{variant_id:int}/{action:str}",
            partial(change_variant, panel),
            methods=["POST"],
        ),
    ]
