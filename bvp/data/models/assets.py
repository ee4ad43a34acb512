"""Assets: the physical things (PV parks, buildings, weather stations) sensors sit on."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Select, String, UniqueConstraint, select, text
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


def find_asset_named(session: Session, account_id: int, name: str) -> Asset | None:
    """The account's asset with this name (unique per account)."""
    return session.scalar(select(Asset).where(Asset.account_id == account_id, Asset.name == name))


WEATHER_STATION = "weather_station"
NEAR = 50_000.0  # metres: a weather station farther away says little about the asset
# Great-circle distance in metres: with earthdistance (migration 0012, by index), or the
# same on a sphere of the earth's mean radius where the server lacks the extension.
_NEAREST_BY_EARTHDISTANCE = text(
    """
    SELECT a.id FROM asset a
    WHERE a.account_id = :account_id AND a.asset_type = :asset_type AND a.id <> :asset_id
      AND a.latitude IS NOT NULL AND a.longitude IS NOT NULL
      AND earth_box(ll_to_earth(:latitude, :longitude), :within)
          @> ll_to_earth(a.latitude, a.longitude)
      AND earth_distance(ll_to_earth(:latitude, :longitude), ll_to_earth(a.latitude, a.longitude))
          <= :within
    ORDER BY earth_distance(ll_to_earth(:latitude, :longitude),
                            ll_to_earth(a.latitude, a.longitude)), a.id
    LIMIT :limit
    """
)
_NEAREST_BY_HAVERSINE = text(
    """
    SELECT id FROM (
      SELECT a.id, 2 * 6371008.8 * asin(sqrt(
          power(sin(radians(a.latitude - :latitude) / 2), 2)
          + cos(radians(:latitude)) * cos(radians(a.latitude))
            * power(sin(radians(a.longitude - :longitude) / 2), 2))) AS metres
      FROM asset a
      WHERE a.account_id = :account_id AND a.asset_type = :asset_type AND a.id <> :asset_id
        AND a.latitude IS NOT NULL AND a.longitude IS NOT NULL
    ) near
    WHERE metres <= :within ORDER BY metres, id LIMIT :limit
    """
)
_HAS_EARTHDISTANCE = text(
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'earthdistance')"
)


def nearest_weather_stations(
    session: Session, asset: Asset, within: float = NEAR, limit: int = 1
) -> list[int]:
    """Ids of the account's weather stations nearest ``asset`` (within ``within`` metres,
    nearest first); none for an asset without coordinates."""
    if asset.latitude is None or asset.longitude is None:
        return []
    query = (
        _NEAREST_BY_EARTHDISTANCE if session.scalar(_HAS_EARTHDISTANCE) else _NEAREST_BY_HAVERSINE
    )
    parameters = {
        "account_id": asset.account_id,
        "asset_type": WEATHER_STATION,
        "asset_id": asset.id,
        "latitude": asset.latitude,
        "longitude": asset.longitude,
        "within": within,
        "limit": limit,
    }
    return list(session.scalars(query, parameters))
