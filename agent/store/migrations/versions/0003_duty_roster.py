"""service desk: duty_shifts holds the duty roster (值班表), who is on duty when (heightened-watch
shifts marked); new cases are assigned to the people on duty. Existing stores start with an
empty roster.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "duty_shifts",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("people", sa.Text(), nullable=False),
        sa.Column("watch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_duty_shifts_starts_at", "duty_shifts", ["starts_at"])


def downgrade() -> None:
    op.drop_index("ix_duty_shifts_starts_at", "duty_shifts")
    op.drop_table("duty_shifts")
