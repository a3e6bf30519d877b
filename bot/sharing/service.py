"""Share cards for the web routes and broadcasts: rendered once per answer version, cached."""

from __future__ import annotations

from collections import OrderedDict

from bot.sharing.cards import FORMATS, CardRenderer
from bot.sharing.content import ShareSource, card_content
from bot.sharing.fonts import Fonts
from bot.sharing.text import Typesetter
from domain.settings import Settings


class ShareCards:
    """PNG cards by (key, format); `key` names the answer version and language."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._renderer: CardRenderer | None = None
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    @property
    def renderer(self) -> CardRenderer:
        if self._renderer is None:  # fonts are loaded on first use, not at start-up
            self._renderer = CardRenderer(Typesetter(Fonts(self.settings.fonts_dir)))
        return self._renderer

    def png(self, key: str, source: ShareSource, format_name: str = "square") -> bytes:
        cached = self._cache.get((key, format_name))
        if cached is not None:
            self._cache.move_to_end((key, format_name))
            return cached
        data = self.renderer.png(card_content(self.settings, source), FORMATS[format_name])
        self._cache[(key, format_name)] = data
        while len(self._cache) > self.settings.card_cache_size:
            self._cache.popitem(last=False)
        return data
