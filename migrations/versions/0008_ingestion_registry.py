"""Ingestion: datafile registry and load runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:19:01.044261
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "load_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=True),
        sa.Column("command", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("files_fetched", sa.Integer(), nullable=False),
        sa.Column("files_imported", sa.Integer(), nullable=False),
        sa.Column("files_failed", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("beliefs_created", sa.Integer(), nullable=False),
        sa.Column("beliefs_updated", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_runs")),
    )
    op.create_index(op.f("ix_load_runs_source_id"), "load_runs", ["source_id"], unique=False)
    op.create_table(
        "datafile_registry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("remote", sa.String(length=2048), nullable=True),
        sa.Column("remote_version", sa.String(length=255), nullable=True),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("watermark", sa.String(length=64), nullable=True),
        sa.Column(
            "fetched_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("importer", sa.String(length=200), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=True),
        sa.Column("beliefs_created", sa.Integer(), nullable=True),
        sa.Column("beliefs_updated", sa.Integer(), nullable=True),
        sa.Column("beliefs_unchanged", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("load_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_run_id"],
            ["load_runs.id"],
            name=op.f("fk_datafile_registry_load_run_id_load_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datafile_registry")),
        sa.UniqueConstraint(
            "source_id",
            "path",
            "checksum",
            name=op.f("uq_datafile_registry_source_id_path_checksum"),
        ),
    )
    op.create_index(
        op.f("ix_datafile_registry_load_run_id"), "datafile_registry", ["load_run_id"], unique=False
    )
    op.create_index(
        op.f("ix_datafile_registry_source_id"), "datafile_registry", ["source_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_datafile_registry_source_id"), table_name="datafile_registry")
    op.drop_index(op.f("ix_datafile_registry_load_run_id"), table_name="datafile_registry")
    op.drop_table("datafile_registry")
    op.drop_index(op.f("ix_load_runs_source_id"), table_name="load_runs")
    op.drop_table("load_runs")
