"""service desk: cases.source, cases.category and cases.request_class; case_reports holds who
reported a fault or request, by which channel, when, and what it concerns; case_clocks the
named clocks of a case. Existing cases are rule-opened faults.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("cases") as b:
        b.add_column(sa.Column("source", sa.String(), nullable=False, server_default="rule"))
        b.add_column(sa.Column("category", sa.String(), nullable=False, server_default=""))
        b.add_column(sa.Column("request_class", sa.String(), nullable=False, server_default="fault"))
    op.create_table(
        "case_reports",
        sa.Column("case_id", BIGINT, nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("reporter", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("contact", sa.String(), nullable=False),
        sa.Column("reported_at", sa.Float(), nullable=False),
        sa.Column("entered_at", sa.Float(), nullable=False),
        sa.Column("entered_by", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("affected", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "case_clocks",
        sa.Column("case_id", BIGINT, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("due", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.Float(), nullable=True),
        sa.Column("breached", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("case_clocks")
    op.drop_table("case_reports")
    with op.batch_alter_table("cases") as b:
        b.drop_column("request_class")
        b.drop_column("category")
        b.drop_column("source")
