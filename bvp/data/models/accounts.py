"""Accounts, users and roles: who owns which assets and who may do what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Select, String, Table, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from bvp.data.db import Base
from bvp.data.passwords import hash_password, verify_password

ADMIN = "admin"
ACCOUNT_ADMIN = "account-admin"
MANAGE_ROLES = frozenset({ADMIN, ACCOUNT_ADMIN})  # assets, sensors, users; forecasting
WRITE_DATA_ROLES = frozenset({ADMIN, ACCOUNT_ADMIN, "user"})
ROLE_NAMES = {
    ADMIN: "Everything, across all accounts.",
    ACCOUNT_ADMIN: "Manage users, assets and sensors of their own account.",
    "user": "Read and write data of their own account's sensors.",
    "viewer": "Read data of their own account's sensors.",
}

user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # IANA zone used for calendar months in reports (metrics).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    users: Mapped[list[User]] = relationship(back_populates="account", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.name!r}>"


class Role(Base):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    account: Mapped[Account] = relationship(back_populates="users")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles)

    def has_role(self, name: str) -> bool:
        return any(role.name == name for role in self.roles)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email!r}>"


def ensure_roles(session: Session) -> list[Role]:
    """Create the built-in roles that do not exist yet; return all of them."""
    existing = {r.name: r for r in session.scalars(select(Role))}
    for name, description in ROLE_NAMES.items():
        if name not in existing:
            existing[name] = Role(name=name, description=description)
            session.add(existing[name])
    session.flush()
    return list(existing.values())


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate_password(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None. Unknown and inactive
    users cost a (decoy) check too: response times tell no emails. The one password
    check of the API's tokens, the dashboard's sign-in and the job queues' page."""
    user = find_user_by_email(session, email)
    usable = user is not None and user.active
    if not verify_password(user.password_hash if usable else None, password):
        return None
    return user


def scope_of(user) -> int | None:
    """The account whose things ``user`` may see; None means all (admins). ``user`` is a
    User or anything with ``has_role`` and ``account_id`` (the dashboard's session)."""
    return None if user.has_role(ADMIN) else user.account_id


def users_in_scope(account_id: int | None) -> Select[tuple[User]]:
    """Users of one account (None: of all accounts, for admins)."""
    query = select(User).order_by(User.id)
    return query if account_id is None else query.where(User.account_id == account_id)


def accounts_in_scope(account_id: int | None) -> Select[tuple[Account]]:
    query = select(Account).order_by(Account.id)
    return query if account_id is None else query.where(Account.id == account_id)


def roles_named(session: Session, names: list[str]) -> list[Role]:
    """The roles with these names; a ValueError names any that does not exist."""
    roles = {r.name: r for r in ensure_roles(session)}
    unknown = [n for n in names if n not in roles]
    if unknown:
        raise ValueError(f"roles: unknown {', '.join(unknown)}; known: {', '.join(ROLE_NAMES)}")
    return [roles[n] for n in names]


def create_user(
    session: Session, email: str, password: str, account: Account, role_names: list[str]
) -> User:
    user = User(
        email=email.strip().lower(),
        password_hash=hash_password(password),
        account=account,
        roles=roles_named(session, role_names),
    )
    session.add(user)
    return user


def find_account_by_name(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name == name))
