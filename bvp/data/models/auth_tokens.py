"""Bearer tokens for API users: random, stored only as a SHA-256 hash, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from bvp.data.db import Base
from bvp.data.models.accounts import User
from bvp.data.utc import utcnow


class AuthToken(Base):
    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A token has 256 random bits, so a fast hash suffices (no KDF needed, unlike passwords).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, lifetime: timedelta) -> tuple[str, AuthToken]:
    """A new token for ``user``; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    record = AuthToken(token_hash=_hash(token), user=user, expires_at=utcnow() + lifetime)
    session.add(record)
    session.flush()
    return token, record


def bearer_token(authorization: str, *, bare: bool = False) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; with ``bare``, also a
    header that is the token alone (as FlexMeasures clients send it)."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if bare and scheme and not token:
        return scheme
    return None


def user_for_token(session: Session, token: str) -> tuple[User, AuthToken] | None:
    """The active user a valid (known, unexpired, unrevoked) token belongs to."""
    record = (
        session.scalars(
            select(AuthToken)
            .where(AuthToken.token_hash == _hash(token))
            # the user and their roles in the same query: every request asks for both
            .options(joinedload(AuthToken.user).joinedload(User.roles))
        )
        .unique()
        .one_or_none()
    )
    if record is None or record.revoked_at is not None or record.expires_at <= utcnow():
        return None
    if not record.user.active:
        return None
    return record.user, record


def revoke_token(session: Session, record: AuthToken) -> None:
    record.revoked_at = utcnow()
    session.flush()


def revoke_all_tokens(session: Session, user: User) -> int:
    """Revoke every active token of ``user`` (on deactivation); returns how many."""
    from sqlalchemy import update

    result = session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount
