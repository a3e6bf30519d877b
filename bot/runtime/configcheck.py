"""`rumourbot config check`: what is on, what is missing, and what is unsafe.

Reads only the settings (and whether the sources file exists); it opens no connection, so it
can run before anything else works. Secrets are judged, never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from domain.settings import Settings

MIN_SECRET = 16
KNOWN_DEFAULTS = {
    "admin", "changeme", "change-me", "default", "password", "postgres", "rumourbot",
    "secret", "test", "token", "verify", "example",
}  # fmt: skip
PLACEHOLDER_WORDS = ("change", "replace", "example", "your-", "xxx")


@dataclass
class Report:
    on: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = ["On:"] + [f"  {line}" for line in self.on]
        for title, items in (("Missing:", self.missing), ("Unsafe:", self.unsafe)):
            out.append(title)
            out += [f"  - {item}" for item in items] or ["  nothing"]
        return out


def weak(secret: SecretStr | str | None) -> bool:
    """Short, one or two repeated characters, a well-known default, or a placeholder."""
    if secret is None:
        return False
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    lowered = value.lower()
    short = len(value) < MIN_SECRET
    repetitive = len(set(value)) <= 2
    default = lowered.strip("-_.0123456789") in KNOWN_DEFAULTS
    placeholder = any(word in lowered for word in PLACEHOLDER_WORDS)
    return short or repetitive or default or placeholder


def check(settings: Settings, web_processes: int = 1) -> Report:
    report = Report()
    _database(settings, report)
    _telegram(settings, report, web_processes)
    _whatsapp(settings, report)
    _others(settings, report)
    return report


def _database(settings: Settings, report: Report) -> None:
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite"):
        report.on.append(f"database: SQLite file {url.database} (one process; back it up)")
    else:
        report.on.append(f"database: PostgreSQL {url.host}:{url.port or 5432}/{url.database}")
        if url.password is not None and weak(str(url.password)):
            report.unsafe.append("the database password is short or a well-known default")
        if settings.redis_url is None:
            report.missing.append(
                "RUMOURBOT_REDIS_URL: with several processes on PostgreSQL, platform limits and "
                "flood counts need Redis to be shared"
            )
    if settings.redis_url:
        report.on.append("redis: on (shared rate limits, flood counts, wake-ups)")


def _telegram(settings: Settings, report: Report, web_processes: int) -> None:
    mode = settings.telegram_effective_mode
    report.on.append(f"telegram: {mode}")
    if mode == "webhook":
        webhook = settings.telegram_webhook_url or ""
        if urlsplit(webhook).scheme != "https":
            report.unsafe.append(
                "RUMOURBOT_TELEGRAM_WEBHOOK_URL is not https: Telegram needs HTTPS, and "
                "updates would cross the network unencrypted"
            )
        if settings.telegram_webhook_secret is None:
            report.missing.append(
                "RUMOURBOT_TELEGRAM_WEBHOOK_SECRET: webhooks are refused without it"
            )
        elif weak(settings.telegram_webhook_secret):
            report.unsafe.append("RUMOURBOT_TELEGRAM_WEBHOOK_SECRET is short or a default")
    if mode == "polling" and web_processes > 1:
        report.unsafe.append(
            f"telegram polling with {web_processes} web processes: each would fetch the same "
            "updates (Telegram answers 409 Conflict); use a webhook, or one web process"
        )


def _whatsapp(settings: Settings, report: Report) -> None:
    if settings.whatsapp_access_token is None:
        report.on.append("whatsapp: off")
        return
    report.on.append("whatsapp: on (webhook at /whatsapp/webhook)")
    for name in ("whatsapp_phone_number_id", "whatsapp_app_secret", "whatsapp_verify_token"):
        if getattr(settings, name) is None:
            report.missing.append(f"RUMOURBOT_{name.upper()}: required with a WhatsApp token")
    for name in ("whatsapp_app_secret", "whatsapp_verify_token"):
        if weak(getattr(settings, name)):
            report.unsafe.append(f"RUMOURBOT_{name.upper()} is short or a default")
    if not settings.whatsapp_template_answer:
        report.missing.append(
            "RUMOURBOT_WHATSAPP_TEMPLATE_ANSWER: without it, answers given after the resident's "
            "24-hour window cannot be sent"
        )


def _others(settings: Settings, report: Report) -> None:
    public = urlsplit(settings.public_url)
    report.on.append(f"public address: {settings.public_url}")
    webhooks = settings.telegram_effective_mode == "webhook" or settings.whatsapp_access_token
    if webhooks and public.scheme != "https":
        report.unsafe.append(
            "RUMOURBOT_PUBLIC_URL is http while webhooks are on: put the bot behind a reverse "
            "proxy with TLS and set an https address (docs/deploy.md)"
        )
    if settings.telegram_effective_mode == "off" and settings.whatsapp_access_token is None:
        report.missing.append(
            "a channel: neither Telegram nor WhatsApp is configured, so residents can only use "
            "the web chat (RUMOURBOT_TELEGRAM_TOKEN, or the RUMOURBOT_WHATSAPP_* settings)"
        )
    if settings.demo_data:
        report.unsafe.append(
            "RUMOURBOT_DEMO_DATA is on: residents would be answered from the fictional Demo "
            "City's fact-checks (`rumourbot demo remove` takes them out)"
        )
    if settings.admin_secret_key is None:
        report.on.append("panel signing key: generated and kept in the database")
    elif weak(settings.admin_secret_key):
        report.unsafe.append("RUMOURBOT_ADMIN_SECRET_KEY is short or a default (use 32+ random)")
    else:
        report.on.append("panel signing key: from RUMOURBOT_ADMIN_SECRET_KEY")
    if settings.rasa_url:
        report.on.append(f"intents: Rasa at {settings.rasa_url}")
        if settings.rasa_token is None or weak(settings.rasa_token):
            report.unsafe.append("RUMOURBOT_RASA_TOKEN is unset, short or a default")
    else:
        report.on.append("intents: built-in classifier")
    sources = Path(settings.sources_file)
    if sources.exists():
        report.on.append(f"sources: {sources}")
    else:
        report.missing.append(
            f"sources file {sources}: no fact-check feeds are followed (docs/connectors.md); "
            "`rumourbot import FILE` and panel answers still fill the knowledge base"
        )
    report.on.append("google fact check: " + ("on" if settings.google_factcheck_api_key else "off"))
    report.on.append(f"embedder: {settings.embedder}")
