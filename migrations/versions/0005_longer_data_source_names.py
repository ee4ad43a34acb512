"""longer data source names

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:58:18.713295
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "data_source",
        "name",
        existing_type=sa.VARCHAR(length=100),
        type_=sa.String(length=320),
        existing_nullable=False,
    )


def downgrade() -> None:
    op.alter_column(
        "data_source",
        "name",
        existing_type=sa.String(length=320),
        type_=sa.VARCHAR(length=100),
        existing_nullable=False,
    )
