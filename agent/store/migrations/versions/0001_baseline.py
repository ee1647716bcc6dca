"""baseline: the schema of the last release before migrations (schema_version 7)

A store written before migrations has these tables exactly (on SQLite the 64-bit columns
are INTEGER, as they always were); `xunjian db upgrade` stamps it with this revision and
goes on from here. A new store is created at the head revision directly.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# 64-bit on PostgreSQL; on SQLite only INTEGER makes a rowid primary key (and is 64-bit there)
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("status IN ('open', 'acknowledged')")  # one open case per fault


def upgrade() -> None:
    op.create_table('asset_changes',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('field', sa.String(), nullable=False),
    sa.Column('old', sa.Text(), nullable=True),
    sa.Column('new', sa.Text(), nullable=True),
    sa.Column('source', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_asset_changes_device_at', 'asset_changes', ['device', 'at'], unique=False)
    op.create_table('assets',
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('sources', sa.Text(), nullable=False),
    sa.Column('first_seen', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('device')
    )
    op.create_table('cases',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('number', sa.String(), nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('check_name', sa.String(), nullable=False),
    sa.Column('instance', sa.String(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('opened_level', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('severity', sa.String(), nullable=False),
    sa.Column('opened_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('policy', sa.String(), nullable=False),
    sa.Column('response_due', sa.Float(), nullable=True),
    sa.Column('repair_due', sa.Float(), nullable=True),
    sa.Column('acknowledged_at', sa.Float(), nullable=True),
    sa.Column('acknowledged_by', sa.String(), nullable=True),
    sa.Column('response_breached', sa.Integer(), nullable=False),
    sa.Column('repair_breached', sa.Integer(), nullable=False),
    sa.Column('response_alarmed', sa.Float(), nullable=True),
    sa.Column('repair_alarmed', sa.Float(), nullable=True),
    sa.Column('paused_at', sa.Float(), nullable=True),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('resolved_at', sa.Float(), nullable=True),
    sa.Column('resolved_by', sa.String(), nullable=True),
    sa.Column('closed_at', sa.Float(), nullable=True),
    sa.Column('closed_by', sa.String(), nullable=True),
    sa.Column('assignee', sa.String(), nullable=True),
    sa.Column('flapping', sa.Integer(), nullable=False),
    sa.Column('suppressed_by', sa.String(), nullable=True),
    sa.Column('fault_type', sa.String(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('handling', sa.Text(), nullable=False),
    sa.Column('loss', sa.Text(), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.String(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index('ix_cases_key_resolved', 'cases', ['device', 'check_name', 'instance', 'resolved_at'], unique=False)
    op.create_index('ux_cases_open', 'cases', ['device', 'check_name', 'instance'], unique=True, sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table('collections',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('collector', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_collections_device_started', 'collections', ['device', 'started_at'], unique=False)
    op.create_table('held',
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('check_name', sa.String(), nullable=False),
    sa.Column('instance', sa.String(), nullable=False),
    sa.Column('since', sa.Float(), nullable=False),
    sa.Column('verdict', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('device', 'check_name', 'instance')
    )
    op.create_table('inspection_runs',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('finished_at', sa.Float(), nullable=False),
    sa.Column('trigger', sa.String(), nullable=False),
    sa.Column('started_by', sa.String(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('devices', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_inspection_runs_started', 'inspection_runs', ['started_at'], unique=False)
    op.create_table('playbook_runs',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('finished_at', sa.Float(), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('playbook', sa.String(), nullable=False),
    sa.Column('mode', sa.String(), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('outputs', sa.Text(), nullable=False),
    sa.Column('result', sa.String(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('bytes_freed', BIGINT, nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('case_number', sa.String(), nullable=True),
    sa.Column('forced_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_playbook_runs_device_started', 'playbook_runs', ['device', 'started_at'], unique=False)
    op.create_table('rollups',
    sa.Column('day', sa.String(), nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('measurement', sa.String(), nullable=False),
    sa.Column('field', sa.String(), nullable=False),
    sa.Column('series', sa.String(), nullable=False),
    sa.Column('min', sa.Float(), nullable=False),
    sa.Column('max', sa.Float(), nullable=False),
    sa.Column('sum', sa.Float(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last', sa.Float(), nullable=False),
    sa.Column('last_time', BIGINT, nullable=False),
    sa.PrimaryKeyConstraint('day', 'device', 'measurement', 'field', 'series')
    )
    op.create_table('samples',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('time', BIGINT, nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('measurement', sa.String(), nullable=False),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_samples_device_measurement_time', 'samples', ['device', 'measurement', 'time'], unique=False)
    op.create_table('state',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('case_events',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('case_id', BIGINT, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'seq')
    )
    op.create_table('case_tickets',
    sa.Column('case_id', BIGINT, nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('ticket_id', sa.String(), nullable=False),
    sa.Column('url', sa.String(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'channel')
    )
    op.create_table('inspection_results',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('run_id', BIGINT, nullable=False),
    sa.Column('device', sa.String(), nullable=False),
    sa.Column('check_name', sa.String(), nullable=False),
    sa.Column('instance', sa.String(), nullable=False),
    sa.Column('verdict', sa.String(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('threshold', sa.String(), nullable=False),
    sa.Column('rule_version', sa.String(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('collected_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['inspection_runs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_inspection_results_run', 'inspection_results', ['run_id', 'device', 'check_name', 'instance'], unique=False)
    op.create_table('outbox',
    sa.Column('id', BIGINT, nullable=False),
    sa.Column('case_id', BIGINT, nullable=False),
    sa.Column('case_number', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('route', sa.String(), nullable=False),
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('storm_key', sa.String(), nullable=True),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('next_at', sa.Float(), nullable=False),
    sa.Column('claimed_by', sa.String(), nullable=True),
    sa.Column('claimed_until', sa.Float(), nullable=True),
    sa.Column('done_at', sa.Float(), nullable=True),
    sa.Column('grouped_in', sa.String(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'key')
    )
    op.create_index('ix_outbox_case_channel', 'outbox', ['case_id', 'channel', 'id'], unique=False)
    op.create_index('ix_outbox_status_next', 'outbox', ['status', 'next_at'], unique=False)


def downgrade() -> None:
    for table in ['outbox', 'inspection_results', 'case_tickets', 'case_events', 'state', 'samples', 'rollups', 'playbook_runs', 'inspection_runs', 'held', 'collections', 'cases', 'assets', 'asset_changes']:
        op.drop_table(table)
