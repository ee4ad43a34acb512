"""Assets: the physical things (PV parks, buildings, weather stations) sensors sit on."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Select, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from bvp.data.db import Base
from bvp.data.models.accounts import Account


class Asset(Base):
    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    asset_type: Mapped[str] = mapped_column(String(50))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")

    account: Mapped[Account] = relationship()

    def __repr__(self) -> str:
        return f"<Asset {self.id} {self.name!r}>"


def assets_in_scope(account_id: int | None) -> Select[tuple[Asset]]:
    """Assets of one account (None: of all accounts, for admins)."""
    query = select(Asset).order_by(Asset.id)
    return query if account_id is None else query.where(Asset.account_id == account_id)


def find_asset(session: Session, asset_id: int, account_id: int | None) -> Asset | None:
    return session.scalar(assets_in_scope(account_id).where(Asset.id == asset_id))
