"""The page at `/`: what an operator does next on a new installation, then the web chat.

Until the installation has a panel account and something in its knowledge base, `/` lists the
steps left (create an admin, connect a channel, add sources) in plain words; afterwards, and
whenever the demo is on, it goes to the web chat as before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.conversation.services import Services
from domain.http import page_csp
from domain.models import AdminUser, KnowledgeItem

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True),
)


@dataclass(frozen=True)
class SetupState:
    has_admin: bool
    channels: tuple[str, ...]
    items: int

    @property
    def done(self) -> bool:
        return self.has_admin and self.items > 0


class FirstRun:
    """Serves `/`: the first-run page, or a redirect to the web chat once set up."""

    def __init__(self, services: Services, channels: tuple[str, ...]) -> None:
        self.services = services
        self.channels = channels

    async def state(self) -> SetupState:
        async with self.services.db.session() as session:
            admins = await session.scalar(select(func.count()).select_from(AdminUser))
            items = await session.scalar(select(func.count()).select_from(KnowledgeItem))
        return SetupState(bool(admins), self.channels, int(items or 0))

    async def page(self, _request: Request) -> Response:
        if self.services.settings.demo_data:
            return RedirectResponse("/chat")
        state = await self.state()
        if state.done:
            return RedirectResponse("/chat")
        nonce = secrets.token_urlsafe(16)
        html = TEMPLATES.get_template("firstrun.html").render(
            state=state, nonce=nonce, public_url=self.services.settings.public_url
        )
        # The other security headers come from the app's SecurityHeaders middleware.
        headers = {"Content-Security-Policy": page_csp(nonce), "Cache-Control": "no-store"}
        return HTMLResponse(html, headers=headers)
