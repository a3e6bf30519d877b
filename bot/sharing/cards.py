"""Share card images: 1080x1080 (posts) and 1080x1920 (status and stories), as PNG.

Top to bottom: the city's logo and name, the verdict stamp (a coloured band with a drawn
symbol and the verdict in the card's language), the claim, two lines of explanation, the
source and date, and a footer with the bot's link. Every text block is fitted to its box by
`Typesetter.fit`, so nothing overflows whatever the claim's length; right-to-left languages
mirror the layout.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from bot.sharing.text import Block, Box, Style, Typesetter

log = logging.getLogger(__name__)

SQUARE = (1080, 1080)
STORY = (1080, 1920)
FORMATS = {"square": SQUARE, "story": STORY}
MARGIN = 72
BACKGROUND = (255, 255, 255)
INK = (26, 26, 26)
MUTED = (84, 84, 84)
FOOTER = (20, 40, 70)
VERDICT_COLOURS: dict[str, tuple[int, int, int]] = {
    "false": (183, 28, 28),
    "misleading": (191, 84, 0),
    "missing_context": (128, 90, 0),
    "true": (27, 94, 32),
    "unverified": (69, 90, 100),
}


@dataclass(frozen=True)
class CardContent:
    """Everything a card shows, already in the card's language."""

    verdict: str  # a Verdict value: picks the colour and symbol
    verdict_label: str
    claim: str
    explanation: str
    source_line: str
    city_name: str
    footer: str  # "Seen a rumour? Ask us: <link>"
    rtl: bool = False
    logo_path: str | None = None


@dataclass(frozen=True)
class Layout:
    size: tuple[int, int]
    safe: Box
    stamp: Box
    footer: Box
    blocks: dict[str, Block]
    logo: Box | None


class CardRenderer:
    def __init__(self, typesetter: Typesetter) -> None:
        self.typesetter = typesetter

    def layout(self, content: CardContent, size: tuple[int, int]) -> Layout:
        width, height = size
        story = height > width
        scale = 1.25 if story else 1.0
        safe = Box(MARGIN, MARGIN, width - MARGIN, height - MARGIN)
        fit = self.typesetter.fit
        rtl = content.rtl
        logo = _logo(content.logo_path)
        header_height = round(96 * scale)
        logo_box = None
        name_box = Box(safe.left, safe.top, safe.right, safe.top + header_height)
        if logo is not None:
            logo_width = round(logo.width * header_height / logo.height)
            if rtl:
                logo_box = Box(safe.right - logo_width, safe.top, safe.right, name_box.bottom)
                name_box = Box(safe.left, safe.top, logo_box.left - 24, name_box.bottom)
            else:
                logo_box = Box(safe.left, safe.top, safe.left + logo_width, name_box.bottom)
                name_box = Box(logo_box.right + 24, safe.top, safe.right, name_box.bottom)
        name = fit(content.city_name, Style(round(36 * scale), 24, True, colour=INK), name_box, rtl)
        name = _centred_vertically(name, name_box)
        stamp_top = name_box.bottom + round(40 * scale)
        stamp = Box(0, stamp_top, width, stamp_top + round(132 * scale))
        label_box = Box(
            safe.left + (0 if rtl else stamp.height),
            stamp.top,
            safe.right - (stamp.height if rtl else 0),
            stamp.bottom,
        )
        label_style = Style(round(64 * scale), 30, True, max_lines=1, colour=BACKGROUND)
        label = _centred_vertically(fit(content.verdict_label, label_style, label_box, rtl), stamp)
        footer_height = round(120 * scale)
        footer_box = Box(safe.left, height - footer_height, safe.right, height)
        footer_style = Style(round(32 * scale), 20, True, max_lines=2, colour=BACKGROUND)
        footer = _centred_vertically(fit(content.footer, footer_style, footer_box, rtl), footer_box)
        source_style = Style(round(28 * scale), 20, max_lines=2, colour=MUTED)
        source = fit(content.source_line, source_style, _area(safe, 28 * scale, 2), rtl)
        explanation_style = Style(round(36 * scale), 26, max_lines=2, colour=INK)
        explanation = fit(content.explanation, explanation_style, _area(safe, 36 * scale, 2), rtl)
        gap = round(36 * scale)
        text_top = stamp.bottom + round(48 * scale)
        text_bottom = footer_box.top - gap
        claim_bottom = text_bottom - source.height - explanation.height - 2 * gap
        claim_box = Box(safe.left, text_top, safe.right, claim_bottom)
        claim_style = Style(round(60 * scale), 30, True, colour=INK, line_spacing=1.35)
        claim = fit(content.claim, claim_style, claim_box, rtl)
        # the three blocks as one group, centred in the space between stamp and footer
        spare = claim_bottom - text_top - claim.height
        claim = _moved(claim, text_top + spare // 2)
        explanation = _moved(explanation, claim.box.bottom + gap)
        source = _moved(source, explanation.box.bottom + gap)
        blocks = {
            "city": name,
            "verdict": label,
            "claim": claim,
            "explanation": explanation,
            "source": source,
            "footer": footer,
        }
        return Layout(size, safe, stamp, footer_box, blocks, logo_box)

    def render(self, content: CardContent, size: tuple[int, int]) -> Image.Image:
        layout = self.layout(content, size)
        image = Image.new("RGB", size, BACKGROUND)
        draw = ImageDraw.Draw(image)
        colour = VERDICT_COLOURS.get(content.verdict, VERDICT_COLOURS["unverified"])
        draw.rectangle((0, layout.stamp.top, size[0], layout.stamp.bottom - 1), fill=colour)
        draw.rectangle((0, layout.footer.top, size[0], size[1]), fill=FOOTER)
        _symbol(draw, content.verdict, _symbol_box(layout, content.rtl), colour)
        logo = _logo(content.logo_path)
        if logo is not None and layout.logo is not None:
            fitted = logo.resize((layout.logo.width, layout.logo.height))
            image.paste(fitted, (layout.logo.left, layout.logo.top), fitted)
        for block in layout.blocks.values():
            self.typesetter.draw(draw, block)
        return image

    def png(self, content: CardContent, size: tuple[int, int]) -> bytes:
        buffer = io.BytesIO()
        self.render(content, size).save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


def _moved(block: Block, top: int) -> Block:
    box = Box(block.box.left, top, block.box.right, top + block.height)
    return Block(block.lines, block.size, block.style, box, block.rtl, block.truncated)


def _area(safe: Box, size: float, lines: int) -> Box:
    """A box as wide as the safe area, tall enough for `lines` lines at `size`."""
    return Box(safe.left, 0, safe.right, round(size * 1.45) * lines)


def _centred_vertically(block: Block, area: Box) -> Block:
    return _moved(block, area.top + (area.height - block.height) // 2)


def _symbol_box(layout: Layout, rtl: bool) -> Box:
    stamp, safe = layout.stamp, layout.safe
    side = stamp.height - 36
    top = stamp.top + 18
    left = safe.right - side if rtl else safe.left
    return Box(left, top, left + side, top + side)


def _symbol(
    draw: ImageDraw.ImageDraw, verdict: str, box: Box, colour: tuple[int, int, int]
) -> None:
    """A white disc with the verdict's mark drawn as strokes (no font needed for it)."""
    draw.ellipse((box.left, box.top, box.right, box.bottom), fill=BACKGROUND)
    s, x, y = box.width, box.left, box.top
    stroke = max(6, s // 9)

    def at(fx: float, fy: float) -> tuple[float, float]:
        return (x + fx * s, y + fy * s)

    if verdict == "true":
        draw.line([at(0.27, 0.52), at(0.43, 0.68), at(0.74, 0.34)], fill=colour, width=stroke)
    elif verdict == "false":
        draw.line([at(0.31, 0.31), at(0.69, 0.69)], fill=colour, width=stroke)
        draw.line([at(0.69, 0.31), at(0.31, 0.69)], fill=colour, width=stroke)
    elif verdict in ("misleading", "missing_context"):
        draw.line([at(0.5, 0.22), at(0.5, 0.60)], fill=colour, width=stroke)
        dot = stroke * 0.7
        cx, cy = at(0.5, 0.75)
        draw.ellipse((cx - dot, cy - dot, cx + dot, cy + dot), fill=colour)
    else:  # unverified: three dots, "still being checked"
        for fx in (0.3, 0.5, 0.7):
            cx, cy = at(fx, 0.5)
            draw.ellipse(
                (cx - stroke / 1.5, cy - stroke / 1.5, cx + stroke / 1.5, cy + stroke / 1.5),
                fill=colour,
            )


@lru_cache(maxsize=8)
def _logo(path: str | None) -> Image.Image | None:
    """The city's logo as RGBA, or None when unset or unreadable (logged once)."""
    if not path:
        return None
    try:
        with Image.open(Path(path)) as opened:
            logo = opened.convert("RGBA")
    except (OSError, ValueError) as exc:
        log.warning("city logo %s cannot be read: %s", path, type(exc).__name__)
        return None
    logo.thumbnail((480, 240))
    return logo
