"""planned work: plans holds the planned activities a contract schedules (monthly visit,
quarterly and half-yearly inspections) with approval, completion and the report-delivery date;
plan_events their history. Existing stores start with none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 01:21:56.001324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(), nullable=False),
    sa.Column('schedule', sa.String(), nullable=False),
    sa.Column('period', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('planned_for', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('approval', sa.Integer(), nullable=False),
    sa.Column('notify_sites', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.Float(), nullable=True),
    sa.Column('approved_by', sa.String(), nullable=True),
    sa.Column('notified_at', sa.Float(), nullable=True),
    sa.Column('done_at', sa.Float(), nullable=True),
    sa.Column('done_by', sa.String(), nullable=True),
    sa.Column('report_due', sa.String(), nullable=True),
    sa.Column('reported_at', sa.Float(), nullable=True),
    sa.Column('report', sa.String(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('remind_before', sa.Integer(), nullable=False),
    sa.Column('report_within', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('schedule', 'period', name='uq_plans_schedule_period')
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index('ix_plans_planned_for', ['planned_for'], unique=False)

    op.create_table('plan_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_events', schema=None) as batch_op:
        batch_op.create_index('ix_plan_events_plan_id', ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plan_events', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_events_plan_id')

    op.drop_table('plan_events')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index('ix_plans_planned_for')

    op.drop_table('plans')
