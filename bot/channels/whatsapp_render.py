"""Rendering an `OutboundMessage` as WhatsApp Cloud API request bodies (pure, no I/O).

Free-form (inside the 24-hour window): text split at 4,096 characters; up to 3 buttons become
an interactive "button" message, more become an interactive "list"; a picture (a share card)
is an image message by link, with the text as its caption when it fits in 1,024 characters
(otherwise the image, then the text). Outside the window: one pre-approved template with the
message's parameters as body parameters, and the picture as its header when the template has
an image header.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.texts.catalogue import text as catalogue_text
from domain.messages import Button, OutboundMessage

Body = dict[str, Any]

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
LIST_BUTTON_LIMIT = 20
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
MAX_LIST_ROWS = 10
ID_LIMIT = 256
TEMPLATE_PARAM_LIMIT = 1000
CAPTION_LIMIT = 1024


def shorten(value: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis when needed."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut and cut.rfind(" ") >= limit // 2:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def split_text(value: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, line, sentence or word ends."""
    pieces: list[str] = []
    rest = value.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max((window.rfind(sep) for sep in ("\n\n", "\n")), default=-1)
        if cut < limit // 2:
            cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
            cut = cut + 1 if cut >= limit // 2 else window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces or [""]


def free_form(message: OutboundMessage) -> list[Body]:
    """The request bodies (without `to`) for a message inside the customer-service window."""
    if message.image is not None:
        return _with_image(message)
    if not message.buttons:
        bodies = [_text(piece) for piece in split_text(message.text)]
    else:
        lead, prompt = _split_for_interactive(message.text)
        bodies = [_text(piece) for piece in split_text(lead)] if lead else []
        bodies.append(_interactive(prompt, message.buttons, message.language))
    if message.reply_to:
        bodies[0]["context"] = {"message_id": message.reply_to}
    return bodies


def template(message: OutboundMessage, name: str, language_code: str) -> Body:
    """A template message; `template_params` fill the body's {{1}}, {{2}}, ... in order."""
    body: Body = {"type": "template",
                  "template": {"name": name, "language": {"code": language_code}}}
    params = [{"type": "text", "text": _template_param(p)} for p in message.template_params]
    components: list[Body] = []
    if message.image is not None and message.image.template_header:
        components.append({"type": "header", "parameters": [
            {"type": "image", "image": {"link": message.image.url}}]})
    if params:
        components.append({"type": "body", "parameters": params})
    if components:
        body["template"]["components"] = components
    return body


def _with_image(message: OutboundMessage) -> list[Body]:
    """The picture with the text as its caption, or the picture and then the text."""
    assert message.image is not None  # noqa: S101 - the caller checked
    image: Body = {"link": message.image.url}
    fits = not message.buttons and 0 < len(message.text.strip()) <= CAPTION_LIMIT
    if fits:
        image["caption"] = message.text.strip()
    bodies: list[Body] = [{"type": "image", "image": image}]
    if message.reply_to:
        bodies[0]["context"] = {"message_id": message.reply_to}
    if not fits and message.text.strip():
        bodies += free_form(replace(message, image=None, reply_to=None))
    return bodies


def _text(piece: str) -> Body:
    return {"type": "text", "text": {"preview_url": False, "body": piece}}


def _split_for_interactive(value: str) -> tuple[str, str]:
    """(text sent first as plain messages, body of the interactive message ≤ 1,024 chars)."""
    value = value.strip()
    if len(value) <= INTERACTIVE_BODY_LIMIT:
        return "", value
    lead, _, last = value.rpartition("\n\n")
    if lead and len(last.strip()) <= INTERACTIVE_BODY_LIMIT:
        return lead.strip(), last.strip()
    return value, shorten(value.rsplit("\n", 1)[-1], INTERACTIVE_BODY_LIMIT)


def _interactive(prompt: str, buttons: tuple[Button, ...], language: str | None) -> Body:
    prompt = prompt or "…"
    if len(buttons) <= MAX_REPLY_BUTTONS:
        titles = _unique_titles([b.label for b in buttons], BUTTON_TITLE_LIMIT)
        action: Body = {"buttons": [
            {"type": "reply", "reply": {"id": b.data[:ID_LIMIT], "title": title}}
            for b, title in zip(buttons, titles, strict=True)
        ]}
        return {"type": "interactive",
                "interactive": {"type": "button", "body": {"text": prompt}, "action": action}}
    rows = buttons[:MAX_LIST_ROWS]
    titles = _unique_titles([b.label for b in rows], ROW_TITLE_LIMIT)
    section_rows = []
    for button, title in zip(rows, titles, strict=True):
        row: Body = {"id": button.data[:ID_LIMIT], "title": title}
        if title != " ".join(button.label.split()):
            row["description"] = shorten(button.label, ROW_DESCRIPTION_LIMIT)
        section_rows.append(row)
    label = shorten(catalogue_text("list_button", language), LIST_BUTTON_LIMIT)
    return {"type": "interactive", "interactive": {
        "type": "list", "body": {"text": prompt},
        "action": {"button": label, "sections": [{"rows": section_rows}]},
    }}


def _unique_titles(labels: list[str], limit: int) -> list[str]:
    """Shortened titles; WhatsApp rejects two equal titles in one message, so number repeats."""
    titles: list[str] = []
    for label in labels:
        title = shorten(label, limit) or "…"
        number = 2
        while title in titles:
            suffix = f" {number}"
            title = shorten(label, limit - len(suffix)) + suffix
            number += 1
        titles.append(title)
    return titles


def _template_param(value: str) -> str:
    """Template parameters may not contain new lines, tabs or runs of spaces."""
    return shorten(value, TEMPLATE_PARAM_LIMIT) or "-"
