"""Spike alerts: when a rumour's residents per hour pass the threshold (and run well above the
cluster's usual rate), the staff on duty are told on a channel they already use: a Telegram
chat or group of staff (the bot posts there) and/or e-mail. One alert per cluster and level;
each level doubles the threshold (10, 20, 40 residents an hour by default).

The level is claimed in the database (unique per cluster and level) before anything is sent,
so several workers checking at once alert once. Telegram is called directly (the Bot API's
sendMessage): staff chats are not residents and have no outbox rows. E-mail goes through the
standard library's SMTP client (STARTTLS when configured), in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import httpx
from sqlalchemy import select

from admin.clusters import ClusterRow, summarise
from admin.deps import PanelServices
from admin.plurals import plural
from domain.models import OPEN_STATUSES, Cluster, ClusterAlert, Request, utcnow
from domain.settings import Settings
from domain.sql import insert_ignoring_duplicates

log = logging.getLogger(__name__)
MAX_LEVEL = 10


@dataclass(frozen=True)
class Alert:
    cluster_id: int
    level: int
    text: str
    link: str


def level_of(row: ClusterRow, settings: Settings) -> int:
    """0 below the threshold; else 1 + how many times the threshold doubled."""
    threshold = settings.alert_residents_per_hour
    if row.last_hour < threshold or row.last_hour < settings.alert_growth * row.usual_per_hour:
        return 0
    level = 1
    while level < MAX_LEVEL and row.last_hour >= threshold * 2**level:
        level += 1
    return level


def alerts_configured(settings: Settings) -> bool:
    return bool(settings.alert_telegram_chat or settings.alert_email_to)


async def check_spikes(services: PanelServices, now: datetime | None = None) -> list[Alert]:
    """Find clusters past a new level, claim each level once, and alert the staff."""
    settings = services.settings
    if not alerts_configured(settings):
        return []
    now = now or utcnow()
    async with services.db.session() as session:
        active = (
            select(Request.cluster_id)
            .where(Request.received_at >= now - timedelta(hours=1))
            .where(Request.cluster_id.is_not(None))
            .distinct()
        )
        clusters = list(
            (
                await session.scalars(
                    select(Cluster).where(
                        Cluster.id.in_(active), Cluster.status.in_(list(OPEN_STATUSES))
                    )
                )
            ).all()
        )
        alerts = []
        for row in await summarise(session, clusters, now):
            level = level_of(row, settings)
            if level == 0:
                continue
            claimed = await insert_ignoring_duplicates(
                session,
                ClusterAlert.__table__,  # type: ignore[arg-type]
                {
                    "cluster_id": row.cluster.id,
                    "level": level,
                    "residents_last_hour": row.last_hour,
                    "channels": sorted(row.channels),
                    "created_at": now,
                },
            )
            if claimed:
                alerts.append(describe(row, level, settings))
    for alert in alerts:
        await deliver(settings, alert)
    return alerts


def describe(row: ClusterRow, level: int, settings: Settings) -> Alert:
    link = f"{settings.public_url.rstrip('/')}/admin/clusters/{row.cluster.id}"
    text = (
        f"Rumour rising (level {level}): {plural(row.last_hour, 'resident')} asked in the last "
        f"hour (usually {row.usual_per_hour:.1f} an hour), {plural(row.askers, 'resident')} in "
        f"all, on {', '.join(sorted(row.channels))}, in {', '.join(sorted(row.languages))}.\n"
        f"“{row.cluster.representative_text[:300]}”\n{link}"
    )
    return Alert(row.cluster.id, level, text, link)


async def deliver(settings: Settings, alert: Alert) -> None:
    """Post to the staff Telegram chat and/or e-mail; a failure is logged, never raised."""
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    if settings.alert_telegram_chat and token:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    f"{settings.telegram_api_url}{token}/sendMessage",
                    json={"chat_id": settings.alert_telegram_chat, "text": alert.text},
                )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning(
                "spike alert for cluster %s: Telegram refused (%s)",
                alert.cluster_id,
                type(exc).__name__,
            )
    if settings.alert_email_to and settings.smtp_host:
        try:
            await asyncio.to_thread(send_email, settings, alert)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning(
                "spike alert for cluster %s: e-mail failed (%s)",
                alert.cluster_id,
                type(exc).__name__,
            )


def send_email(settings: Settings, alert: Alert) -> None:
    message = EmailMessage()
    message["Subject"] = (
        f"[rumourbot] Rumour rising (level {alert.level}), cluster #{alert.cluster_id}"
    )
    message["From"] = settings.smtp_from
    message["To"] = settings.alert_email_to
    message.set_content(alert.text)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
