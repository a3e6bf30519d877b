"""The input half of the WhatsApp channel: verify a webhook and turn its JSON into our types.

Pure functions, no I/O: the signature check over the raw body, and the parsing of Meta's
`whatsapp_business_account` payload (entry[].changes[].value) into `InboundMessage`s and
delivery `StatusUpdate`s. Anything malformed is skipped, never raised.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.messages import InboundMessage, Media
from domain.models import utcnow
from domain.text import InvalidText, clean

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "x-hub-signature-256"
STOP_COMMAND = "/stop"
# The whole message, in any case, means "stop messaging me". One place for every language.
STOP_WORDS = frozenset({
    "stop", "stop all", "unsubscribe",  # en
    "acha", "sitisha",  # sw
    "baja", "parar", "detener",  # es
    "berhenti", "berhenti langganan",  # id
    "रोकें", "रोको", "बंद करो",  # hi
    "توقف", "إيقاف", "ايقاف",  # ar
})
MEDIA_TYPES = frozenset({"image", "video", "audio", "voice", "document", "sticker"})
IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral"})
BUTTON_DATA = re.compile(r"^[a-z]+:[\w:*.-]*$")


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery receipt for a message we sent: sent, delivered, read or failed."""

    message_id: str
    status: str
    recipient: str
    error_codes: tuple[int, ...] = ()


def signature_valid(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest().encode()
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)  # bytes: a non-ASCII header is just wrong


def is_stop_word(text: str) -> bool:
    """True when the whole message is an opt-out word ("STOP", "Baja.", "توقف")."""
    cleaned = unicodedata.normalize("NFC", text).strip().strip(".!?¡¿।").strip().casefold()
    return " ".join(cleaned.split()) in STOP_WORDS


def changes(payload: Any, phone_number_id: str | None = None) -> list[dict[str, Any]]:
    """The `value` objects of a payload, for our phone number only."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return []
    values = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") != "messages" or not isinstance(value, dict):
                continue
            metadata = _dict(value.get("metadata"))
            if phone_number_id and str(metadata.get("phone_number_id", "")) != phone_number_id:
                continue
            values.append(value)
    return values


def inbound_messages(payload: Any, phone_number_id: str | None = None) -> list[InboundMessage]:
    """Every resident message in the payload, as `InboundMessage`s."""
    found = []
    for value in changes(payload, phone_number_id):
        for raw in _dicts(value.get("messages")):
            try:
                message = parse_message(raw)
            except InvalidText:  # one bad entry (an over-long wamid) must not lose the others
                message = None
            if message is not None:
                found.append(message)
    return found


def status_updates(payload: Any, phone_number_id: str | None = None) -> list[StatusUpdate]:
    """Every delivery receipt in the payload."""
    found = []
    for value in changes(payload, phone_number_id):
        for raw in _dicts(value.get("statuses")):
            wamid, status = raw.get("id"), raw.get("status")
            if not isinstance(wamid, str) or not isinstance(status, str):
                continue
            errors = _dicts(raw.get("errors"))
            codes = tuple(e["code"] for e in errors if isinstance(e.get("code"), int))
            if len(wamid) > 200 or not wamid.isprintable():
                continue
            recipient = clean(str(raw.get("recipient_id", "")))[:100]
            found.append(StatusUpdate(wamid, clean(status)[:20], recipient, codes))
    return found


def parse_message(raw: dict[str, Any]) -> InboundMessage | None:
    """One entry of `messages[]`; None for types we deliberately ignore or malformed entries."""
    sender, wamid, kind = raw.get("from"), raw.get("id"), raw.get("type")
    if not isinstance(sender, str) or not isinstance(wamid, str) or not isinstance(kind, str):
        return None
    if kind in IGNORED_TYPES:
        return None
    context = _dict(raw.get("context"))
    fields = _content(kind, raw)
    if fields is None:
        return None
    text = fields.pop("text", "")
    if not fields.get("callback_data") and is_stop_word(text):
        text = STOP_COMMAND
    return InboundMessage(
        channel=CHANNEL, sender=sender, message_id=wamid, text=text,
        forwarded=bool(context.get("forwarded") or context.get("frequently_forwarded")),
        reply_to_message_id=context.get("id") if isinstance(context.get("id"), str) else None,
        received_at=_timestamp(raw.get("timestamp")), **fields,
    )


def _content(kind: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """text / media / callback_data for one message type."""
    body = _dict(raw.get(kind))
    if kind == "text":
        return {"text": body["body"]} if isinstance(body.get("body"), str) else None
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        if not isinstance(reply, dict) or not isinstance(reply.get("id"), str):
            return None
        return {"text": _str(reply.get("title")), "callback_data": reply["id"]}
    if kind == "button":  # a quick-reply button of a template message
        payload, label = _str(body.get("payload")), _str(body.get("text"))
        if BUTTON_DATA.match(payload):
            return {"text": label, "callback_data": payload}
        return {"text": label or payload}
    if kind in MEDIA_TYPES:
        media = Media(kind, _str(body.get("id")), _str(body.get("mime_type")) or None)
        return {"text": _str(body.get("caption")), "media": (media,)}
    # location, contacts, order, unsupported, ...: nothing we can check; the core answers politely
    return {"text": "", "media": (Media(kind, ""),)}


def _timestamp(value: Any) -> datetime:
    """Meta's Unix timestamp string; never later than now (the 24-hour window counts from it)."""
    now = utcnow()
    try:
        when = datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return min(when, now)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
