"""Machine clients signing requests with Hawk: an id and a secret key per client.

Hawk needs the key itself to check a signature, so it cannot be stored as a hash: it is
stored encrypted (Fernet, keyed from the app's secret key) and shown to its owner once.
A client acts as the user it belongs to, with that user's roles and account.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime

from cryptography.fernet import Fernet
from sqlalchemy import DateTime, ForeignKey, Select, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from bvp.data.db import Base
from bvp.data.models.accounts import User
from bvp.data.utc import utcnow


class ApiClient(Base):
    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    key_encrypted: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100), default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()))


def create_client(
    session: Session, user: User, name: str, secret_key: str
) -> tuple[ApiClient, str]:
    """A new client for ``user``; returns it and its plain key (shown once, never again)."""
    key = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="bvp-" + secrets.token_hex(8),
        key_encrypted=_fernet(secret_key).encrypt(key.encode()).decode(),
        name=name,
        user=user,
    )
    session.add(client)
    session.flush()
    return client, key


def active_client(session: Session, client_id: str) -> ApiClient | None:
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None or not client.user.active:
        return None
    return client


def client_key(client: ApiClient, secret_key: str) -> str:
    return _fernet(secret_key).decrypt(client.key_encrypted.encode()).decode()


def revoke_client(session: Session, client: ApiClient) -> None:
    client.revoked_at = utcnow()
    session.flush()


def clients_in_scope(user_id: int | None) -> Select[tuple[ApiClient]]:
    """One user's clients (None: everyone's, for admins)."""
    query = select(ApiClient).order_by(ApiClient.id)
    return query if user_id is None else query.where(ApiClient.user_id == user_id)


def find_client(session: Session, client_id: str, user_id: int | None) -> ApiClient | None:
    return session.scalar(clients_in_scope(user_id).where(ApiClient.client_id == client_id))
