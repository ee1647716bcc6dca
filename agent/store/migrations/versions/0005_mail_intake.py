"""mail intake: mail_messages records every message taken from a polled mailbox (by UIDVALIDITY
+ UID, with the case it opened or noted and the acknowledgement sent), so none is taken twice.
Existing stores start with none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("uidvalidity", BIGINT, nullable=False),
        sa.Column("uid", BIGINT, nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("case_id", BIGINT, nullable=True),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ack_id", sa.String(), nullable=True),
        sa.Column("ack_to", sa.String(), nullable=True),
        sa.Column("ack_sent_at", sa.Float(), nullable=True),
        sa.Column("ack_attempts", sa.Integer(), nullable=False),
        sa.Column("ack_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid"),
    )
    op.create_index("ix_mail_messages_ack_id", "mail_messages", ["ack_id"])
    op.create_index("ix_mail_messages_message_id", "mail_messages", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_message_id", "mail_messages")
    op.drop_index("ix_mail_messages_ack_id", "mail_messages")
    op.drop_table("mail_messages")
