"""Telegram's output half: texts split to the platform limit, buttons as an inline keyboard,
and PTB errors translated into `DeliveryFailed` at the boundary."""

from __future__ import annotations

import contextlib
import datetime as dtm
import warnings
from collections.abc import AsyncIterator, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.channels.base import DeliveryFailed
from domain.messages import Button

MAX_TEXT = 4096  # characters (Telegram counts UTF-16 code units; see `_units`)
MAX_CALLBACK_DATA = 64  # bytes
MAX_BUTTON_LABEL = 64


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` units, cut at a paragraph, line, or word boundary if possible."""
    chunks: list[str] = []
    rest = text
    while _units(rest) > limit:
        head = _prefix_within(rest, limit)
        cut = max(head.rfind("\n\n"), head.rfind("\n"), head.rfind(" "))
        if cut < len(head) // 2:  # no boundary in the second half: cut hard
            cut = len(head)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _prefix_within(text: str, limit: int) -> str:
    end = min(len(text), limit)
    while _units(text[:end]) > limit:
        end -= 1
    return text[:end]


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row; data longer than Telegram's 64 bytes is refused here, not there."""
    if not buttons:
        return None
    rows = []
    for button in buttons:
        if len(button.data.encode("utf-8")) > MAX_CALLBACK_DATA:
            raise DeliveryFailed(f"button data over {MAX_CALLBACK_DATA} bytes", permanent=True)
        label = button.label if len(button.label) <= MAX_BUTTON_LABEL else button.label[:63] + "…"
        rows.append([InlineKeyboardButton(label, callback_data=button.data)])
    return InlineKeyboardMarkup(rows)


def retry_seconds(error: RetryAfter) -> float:
    """`RetryAfter.retry_after` as seconds, whichever type this PTB version returns."""
    with warnings.catch_warnings():  # PTB 22 warns about the int -> timedelta migration
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@contextlib.asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Raise `DeliveryFailed` for every PTB error: permanent, retryable, or retry after."""
    try:
        yield
    except RetryAfter as exc:
        raise DeliveryFailed("telegram: rate limited", retry_after=retry_seconds(exc)) from exc
    except Forbidden as exc:  # blocked by the user, or deactivated: never retry
        raise DeliveryFailed(f"telegram: forbidden: {exc.message}", permanent=True) from exc
    except BadRequest as exc:
        raise DeliveryFailed(f"telegram: bad request: {exc.message}", permanent=True) from exc
    except NetworkError as exc:  # includes TimedOut
        raise DeliveryFailed(f"telegram: network: {type(exc).__name__}") from exc
    except TelegramError as exc:
        raise DeliveryFailed(f"telegram: {type(exc).__name__}") from exc
