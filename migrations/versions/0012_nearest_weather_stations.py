"""earthdistance, for the weather stations nearest an asset

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:50:00

PostgreSQL's cube and earthdistance extensions, and a GiST index on the assets' points
on the earth, so that the weather stations near an asset are found by index however many
assets there are. A server without the extensions (the embedded development one, a
managed service that does not offer them) keeps working: BVP then computes the same
great-circle distances without an index (bvp.data.models.assets).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX = "ix_asset_earth"


def upgrade() -> None:
    available = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM pg_available_extensions WHERE name IN ('cube', 'earthdistance')"
        )
    )
    if available != 2:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS cube")
    op.execute("CREATE EXTENSION IF NOT EXISTS earthdistance")
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON asset USING gist "
        "(ll_to_earth(latitude, longitude)) "
        "WHERE latitude IS NOT NULL AND longitude IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute("DROP EXTENSION IF EXISTS earthdistance")
    op.execute("DROP EXTENSION IF EXISTS cube")
