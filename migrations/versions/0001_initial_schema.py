"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:18:39.764192
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# Deleting a sensor or data source deletes its beliefs (timed_belief has no foreign keys:
# see bvp/data/models/beliefs.py). Written out here so this revision never changes.
CASCADES = (("sensor", "sensor_id"), ("data_source", "source_id"))


def create_cascade_triggers() -> None:
    for parent, column in CASCADES:
        function = f"delete_beliefs_of_deleted_{parent}"
        op.execute(
            f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM timed_belief WHERE {column} IN (SELECT id FROM deleted_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER {function} AFTER DELETE ON {parent}
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""
        )


def drop_cascade_triggers() -> None:
    for parent, _column in CASCADES:
        function = f"delete_beliefs_of_deleted_{parent}"
        op.execute(f"DROP TRIGGER IF EXISTS {function} ON {parent}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("name", name=op.f("uq_account_name")),
    )
    op.create_table(
        "role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role")),
        sa.UniqueConstraint("name", name=op.f("uq_role_name")),
    )
    op.create_table(
        "timed_belief",
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("event_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("belief_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("cumulative_probability", sa.Double(), server_default="0.5", nullable=False),
        sa.Column("event_value", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "sensor_id",
            "event_start",
            "belief_time",
            "source_id",
            "cumulative_probability",
            name=op.f("pk_timed_belief"),
        ),
    )
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("asset_type", sa.String(length=50), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_asset_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_asset_account_id_name")),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_user_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
    op.create_index(op.f("ix_user_account_id"), "user", ["account_id"], unique=False)
    op.create_table(
        "data_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=True),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_data_source_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_source")),
        sa.UniqueConstraint(
            "name",
            "type",
            "model",
            "version",
            name=op.f("uq_data_source_name_type_model_version"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "sensor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("event_resolution", sa.Interval(), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_sensor_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor")),
        sa.UniqueConstraint("asset_id", "name", name=op.f("uq_sensor_asset_id_name")),
    )
    op.create_index(op.f("ix_sensor_asset_id"), "sensor", ["asset_id"], unique=False)
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["role.id"], name=op.f("fk_user_roles_role_id_role"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_roles_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )

    create_cascade_triggers()


def downgrade() -> None:
    drop_cascade_triggers()
    op.drop_table("user_roles")
    op.drop_index(op.f("ix_sensor_asset_id"), table_name="sensor")
    op.drop_table("sensor")
    op.drop_table("data_source")
    op.drop_index(op.f("ix_user_account_id"), table_name="user")
    op.drop_table("user")
    op.drop_table("asset")
    op.drop_table("timed_belief")
    op.drop_table("role")
    op.drop_table("account")
