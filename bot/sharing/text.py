"""Text blocks on a card: wrapped at word boundaries, shrunk to fit a box, never past it.

A block tries sizes from its largest down to its smallest; when even the smallest does not
fit in its lines, the last line ends in an ellipsis. Right-to-left blocks align to the right
and lay their runs out right to left; each run is shaped by libraqm in its own direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageDraw

from bot.sharing.fonts import LANGUAGE_TAGS, Fonts, Run

ELLIPSIS = "…"


@dataclass(frozen=True)
class Style:
    max_size: int
    min_size: int
    bold: bool = False
    max_lines: int = 20
    line_spacing: float = 1.45
    colour: tuple[int, int, int] = (26, 26, 26)


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclass(frozen=True)
class Line:
    text: str
    runs: tuple[Run, ...]
    width: int


@dataclass(frozen=True)
class Block:
    """Lines at one size, placed in a box (top-aligned); `height` is what they use."""

    lines: tuple[Line, ...]
    size: int
    style: Style
    box: Box
    rtl: bool
    truncated: bool

    @property
    def line_height(self) -> int:
        return round(self.size * self.style.line_spacing)

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)

    def line_boxes(self) -> list[Box]:
        """Where each line's advance lies (its ink may not pass the block's box)."""
        boxes = []
        for index, line in enumerate(self.lines):
            top = self.box.top + index * self.line_height
            left = self.box.right - line.width if self.rtl else self.box.left
            boxes.append(Box(left, top, left + line.width, top + self.line_height))
        return boxes


def line_capacity(width: int, size: int) -> int:
    """More characters than a line `width` wide can hold at `size` (none is under size / 5)."""
    return width * 5 // max(size, 1) + 1


def baseline_of(box: Box, size: int) -> int:
    """Where the baseline of a line of text at `size` lies in its line box."""
    return box.top + box.height // 2 + round(size * 0.33)


class Typesetter:
    def __init__(self, fonts: Fonts) -> None:
        self.fonts = fonts

    def measure(self, runs: tuple[Run, ...], size: int, bold: bool) -> int:
        return sum(round(self._length(run, size, bold)) for run in runs)

    def _length(self, run: Run, size: int, bold: bool) -> float:
        face = self.fonts.face(run.script, size, bold)
        length = face.getlength(
            run.text, direction="rtl" if run.rtl else "ltr", language=LANGUAGE_TAGS[run.script]
        )
        return float(length)

    def line(self, text: str, size: int, bold: bool) -> Line:
        runs = tuple(self.fonts.runs(text))
        return Line(text, runs, self.measure(runs, size, bold))

    def wrap(self, text: str, size: int, bold: bool, width: int, limit: int = 1000) -> list[str]:
        """Words into lines no wider than `width` (a word wider than a line is cut), stopping
        once there are more than `limit` lines.

        A candidate line is measured as its words plus spaces (shaping never crosses a space
        in these scripts), then each finished line exactly, so a long text costs one
        measurement per word rather than one per word per line."""
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        space = self._word(" ", size, bold)
        capacity = line_capacity(width, size)
        for word in text.split():
            if len(lines) > limit:
                break
            length = self._word(word, size, bold) if len(word) <= capacity else width + 1.0
            if current and used + space + length <= width - 1:
                current.append(word)
                used += space + length
                continue
            if current:
                lines.extend(self._exact(current, size, bold, width))
            current, used = [], 0.0
            while len(lines) <= limit and length > width:
                head = self._longest_prefix(word[:capacity], size, bold, width)
                lines.append(head)
                word = word[len(head) :]
                length = self._word(word, size, bold) if len(word) <= capacity else width + 1.0
            current, used = ([word], length) if word else ([], 0.0)
        if current:
            lines.extend(self._exact(current, size, bold, width))
        return lines

    def _word(self, word: str, size: int, bold: bool) -> float:
        return self.measure(tuple(self.fonts.runs(word)), size, bold)

    def _exact(self, words: list[str], size: int, bold: bool, width: int) -> list[str]:
        """`words` as one line, or two when the exact measure is wider than the sum said."""
        line = " ".join(words)
        if len(words) == 1 or self.line(line, size, bold).width <= width:
            return [line]
        return [" ".join(words[:-1]), words[-1]]

    def _longest_prefix(self, word: str, size: int, bold: bool, width: int) -> str:
        low, high = 1, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            if self.line(word[:middle], size, bold).width <= width:
                low = middle
            else:
                high = middle - 1
        return word[:low]

    def fit(self, text: str, style: Style, box: Box, rtl: bool, max_lines: int = 0) -> Block:
        """The largest size at which `text` fits `box` (and `max_lines`), else the smallest,
        cut with an ellipsis."""
        limit = max_lines or style.max_lines
        text = " ".join(text.split())
        size = style.max_size
        while True:
            allowed = min(limit, box.height // round(size * style.line_spacing))
            capacity = line_capacity(box.width, size) * (allowed + 1)
            cut = len(text) > capacity  # more than the box can hold at this size, surely
            lines = self.wrap(text[:capacity], size, style.bold, box.width, allowed)
            if (len(lines) <= allowed and not cut) or size <= style.min_size:
                break
            size = max(style.min_size, size - max(2, size // 12))
        truncated = len(lines) > allowed or cut
        if truncated:
            lines = lines[: max(allowed, 0)]
            if lines:
                lines[-1] = self._with_ellipsis(lines[-1], size, style.bold, box.width)
        placed = tuple(self.line(value, size, style.bold) for value in lines)
        return Block(placed, size, style, box, rtl, truncated)

    def _with_ellipsis(self, line: str, size: int, bold: bool, width: int) -> str:
        words = line.split()
        while words:
            candidate = " ".join(words) + ELLIPSIS
            if self.line(candidate, size, bold).width <= width:
                return candidate
            words.pop()
        return ELLIPSIS

    def draw(self, draw: ImageDraw.ImageDraw, block: Block) -> None:
        for line, box in zip(block.lines, block.line_boxes(), strict=True):
            self.draw_line(draw, line, block.size, block.style, box, block.rtl)

    def draw_line(
        self,
        draw: ImageDraw.ImageDraw,
        line: Line,
        size: int,
        style: Style,
        box: Box,
        rtl: bool,
    ) -> None:
        """Runs left to right (or right to left in an RTL block) on one shared baseline."""
        x = box.right if rtl else box.left
        baseline = baseline_of(box, size)
        for run in line.runs:
            width = round(self._length(run, size, style.bold))
            left = x - width if rtl else x
            draw.text(
                (left, baseline),
                run.text,
                font=self.fonts.face(run.script, size, style.bold),
                fill=style.colour,
                anchor="ls",
                direction="rtl" if run.rtl else "ltr",
                language=LANGUAGE_TAGS[run.script],
            )
            x = left if rtl else x + width
