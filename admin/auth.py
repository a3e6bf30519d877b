"""Staff accounts: argon2 passwords, lockout after repeated failures, server-side sessions.

The session cookie carries only the signed id of an `AdminSession` row, so expiry, logout
and revocation hold across processes. The signing key is `RUMOURBOT_ADMIN_SECRET_KEY`, or,
when unset, a random key generated once and kept in the `panel_secrets` table.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import Database
from domain.models import AdminSession, AdminUser, PanelSecret, utcnow
from domain.models.admin import ROLES
from domain.settings import Settings
from domain.sql import insert_ignoring_duplicates

RANK = {"viewer": 0, "moderator": 1, "admin": 2}
MIN_PASSWORD = 10
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AuthError(Exception):
    """Login refused; the message is safe to show (it never says which part was wrong)."""


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member a request acts as."""

    id: int
    username: str
    role: str
    session_id: str
    csrf_token: str

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"passwords need at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# argon2 runs in two threads of its own: a login must not stall residents' replies, and a flood
# of logins must not take every core (nor starve the database's own threads).
_VERIFIERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


async def _verify(password_hash: str, password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_VERIFIERS, verify_password, password_hash, password)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return role


async def create_user(
    session: AsyncSession, username: str, password: str, role: str, display_name: str = ""
) -> AdminUser:
    username = username.strip().lower()
    if (
        not username
        or len(username) > 100
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise ValueError("usernames use letters, digits, '.', '-' and '_'")
    if await session.scalar(select(AdminUser.id).where(AdminUser.username == username)):
        raise ValueError(f"user {username!r} already exists")
    user = AdminUser(
        username=username,
        password_hash=hash_password(password),
        role=check_role(role),
        display_name=display_name.strip()[:200] or username,
        active=True,
        failed_logins=0,
    )
    session.add(user)
    await session.flush()
    return user


async def signing_key(db: Database, settings: Settings) -> str:
    """The configured key, or the generated one stored in the database (created on first use)."""
    if settings.admin_secret_key is not None:
        return settings.admin_secret_key.get_secret_value()
    async with db.session() as session:
        await insert_ignoring_duplicates(
            session,
            PanelSecret.__table__,  # type: ignore[arg-type]
            {"name": "session_key", "value": secrets.token_urlsafe(48), "created_at": utcnow()},
        )
        value = await session.scalar(
            select(PanelSecret.value).where(PanelSecret.name == "session_key")
        )
    return str(value)


class Sessions:
    """Logins, lookups and logouts against the database."""

    def __init__(self, db: Database, settings: Settings, key: str) -> None:
        self.db = db
        self.settings = settings
        self.signer = URLSafeSerializer(key, salt="rumourbot-admin-session")

    async def login(self, username: str, password: str) -> tuple[str, AdminUser]:
        """A signed cookie value for a new session; raises AuthError (and counts failures).

        The attempt is counted before the password is checked, in one atomic statement, so
        parallel guesses cannot all read the same stale count: only the first
        `admin_max_failed_logins` of them are checked at all. Every path runs exactly one
        argon2 verification, so timing does not tell unknown, locked and real accounts apart.
        """
        now = utcnow()
        limit = self.settings.admin_max_failed_logins
        counted = await self._count_attempt(username.strip().lower(), now)
        if counted is None:
            await _verify(_DUMMY_HASH, password)  # same time as a real check
            raise AuthError("Wrong username or password.")
        user_id, attempts, locked_until, password_hash = counted
        if attempts > limit or (locked_until is not None and locked_until > now):
            await _verify(_DUMMY_HASH, password)
            await self._lock(user_id, now)
            raise AuthError("Too many failed attempts. Try again later.")
        if not await _verify(password_hash, password):  # outside any transaction: slow
            if attempts >= limit:
                await self._lock(user_id, now)
            raise AuthError("Wrong username or password.")
        async with self.db.session() as session:
            user = await session.get(AdminUser, user_id)
            if user is None or not user.active:
                raise AuthError("Wrong username or password.")
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            sid = secrets.token_urlsafe(32)
            session.add(
                AdminSession(
                    id=sid,
                    user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    revoked=False,
                    expires_at=now + timedelta(hours=self.settings.admin_session_hours),
                )
            )
        return self.signer.dumps(sid), user

    async def _count_attempt(
        self, username: str, now: datetime
    ) -> tuple[int, int, datetime | None, str] | None:
        """Add one to the account's attempt count (committed at once); (id, count, locked
        until, hash), or None when there is no such active account. A lock that has run out
        starts a fresh count."""
        async with self.db.session() as session:
            await session.execute(
                update(AdminUser)
                .where(AdminUser.username == username, AdminUser.locked_until <= now)
                .values(failed_logins=0, locked_until=None)
                .execution_options(synchronize_session=False)
            )
            found = await session.execute(
                update(AdminUser)
                .where(AdminUser.username == username, AdminUser.active.is_(True))
                .values(failed_logins=AdminUser.failed_logins + 1)
                .returning(
                    AdminUser.id,
                    AdminUser.failed_logins,
                    AdminUser.locked_until,
                    AdminUser.password_hash,
                )
                .execution_options(synchronize_session=False)
            )
            row = found.first()
        return (row[0], row[1], row[2], row[3]) if row is not None else None

    async def _lock(self, user_id: int, now: datetime) -> None:
        until = now + timedelta(minutes=self.settings.admin_lockout_minutes)
        async with self.db.session() as session:
            await session.execute(
                update(AdminUser)
                .where(
                    AdminUser.id == user_id,
                    (AdminUser.locked_until.is_(None)) | (AdminUser.locked_until <= now),
                )
                .values(locked_until=until)
                .execution_options(synchronize_session=False)
            )

    async def staff_for(self, cookie: str | None) -> Staff | None:
        if not cookie:
            return None
        try:
            sid = self.signer.loads(cookie)
        except BadSignature:
            return None
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(AdminSession, AdminUser)
                    .join(AdminUser, AdminSession.user_id == AdminUser.id)
                    .where(AdminSession.id == str(sid))
                )
            ).first()
        if row is None:
            return None
        sess, user = row
        if sess.revoked or sess.expires_at <= utcnow() or not user.active:
            return None
        return Staff(user.id, user.username, user.role, sess.id, sess.csrf_token)

    async def logout(self, session_id: str) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(AdminSession).where(AdminSession.id == session_id).values(revoked=True)
            )

    @staticmethod
    async def revoke_all(session: AsyncSession, user_id: int) -> None:
        await session.execute(
            update(AdminSession).where(AdminSession.user_id == user_id).values(revoked=True)
        )
