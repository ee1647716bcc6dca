"""The store's tables (SQLAlchemy Core): SQLite in WAL mode by default, or PostgreSQL.

A change here ships as a migration in agent/store/migrations/versions/ (tests/test_migrations.py
fails while the two disagree). Times are UTC epoch seconds in 8-byte floats (REAL on SQLite,
double precision on PostgreSQL: no time-zone conversion anywhere, nothing rounded); sample
times are integer nanoseconds (bigint). JSON documents are kept as text, verbatim: jsonb would
reorder keys, and an asset's `sources` keep the order the collectors were first seen in.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# 64-bit on PostgreSQL; INTEGER on SQLite, where only that spelling makes a rowid primary key
# (SQLite integers are 64-bit anyway).
BigInt = BigInteger().with_variant(Integer(), "sqlite")
Id = BigInt

samples = Table(
    "samples", metadata,
    Column("id", Id, primary_key=True),
    Column("time", BigInt, nullable=False),  # ns since the epoch
    Column("device", String, nullable=False),
    Column("measurement", String, nullable=False),
    Column("tags", Text, nullable=False),  # JSON, keys sorted
    Column("fields", Text, nullable=False),  # JSON
    Index("ix_samples_device_measurement_time", "device", "measurement", "time"),
)

collections = Table(
    "collections", metadata,
    Column("id", Id, primary_key=True),
    Column("device", String, nullable=False),
    Column("collector", String, nullable=False),
    Column("status", String, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("started_at", Float, nullable=False),
    Column("duration", Float, nullable=False),
    Column("samples", Integer, nullable=False),
    Index("ix_collections_device_started", "device", "started_at"),
)

OPEN = text("status IN ('open', 'acknowledged')")

cases = Table(
    "cases", metadata,
    Column("id", Id, primary_key=True),
    Column("number", String, nullable=False, unique=True),
    Column("device", String, nullable=False),
    Column("check_name", String, nullable=False),
    Column("instance", String, nullable=False, default=""),
    Column("level", Integer, nullable=False),
    Column("opened_level", Integer, nullable=False),
    Column("status", String, nullable=False),  # open | acknowledged | resolved | closed
    Column("severity", String, nullable=False),  # warn | crit | unknown (latest verdict)
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("policy", String, nullable=False, default="default"),  # SLA policy name
    # SLA clocks in force (recomputed when the level changes; repair pushed by pauses).
    Column("response_due", Float),
    Column("repair_due", Float),
    Column("acknowledged_at", Float),
    Column("acknowledged_by", String),
    Column("response_breached", Integer, nullable=False, default=0),  # ever missed
    Column("repair_breached", Integer, nullable=False, default=0),
    Column("response_alarmed", Float),  # the due last acted on (breach/escalate), not twice
    Column("repair_alarmed", Float),
    Column("paused_at", Float),  # set while the repair clock is stopped
    Column("paused_seconds", Float, nullable=False, default=0.0),  # counted time paused
    Column("resolved_at", Float),
    Column("resolved_by", String),  # "system" for auto-resolve on recovery
    Column("closed_at", Float),
    Column("closed_by", String),
    Column("assignee", String),
    Column("flapping", Integer, nullable=False, default=0),
    Column("suppressed_by", String),  # the parent's case number
    Column("fault_type", String, nullable=False, default=""),
    Column("cause", Text, nullable=False, default=""),
    Column("handling", Text, nullable=False, default=""),
    Column("loss", Text, nullable=False, default=""),
    Column("last_value", Float),
    Column("threshold", String, nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("source", String, nullable=False, default="rule", server_default="rule"),  # rule | person
    Column("category", String, nullable=False, default="", server_default=""),  # what kind of problem
    # fault (clocks by level) or a request class of the SLA policy (consultation, suggestion…)
    Column("request_class", String, nullable=False, default="fault", server_default="fault"),
    # One open case per device + check + instance, enforced by the database itself.
    Index("ux_cases_open", "device", "check_name", "instance", unique=True,
          sqlite_where=OPEN, postgresql_where=OPEN),
    Index("ix_cases_key_resolved", "device", "check_name", "instance", "resolved_at"),
)

# Faults seen inside a maintenance window: no case yet; raised when the window ends
# if the fault is still there.
held = Table(
    "held", metadata,
    Column("device", String, primary_key=True),
    Column("check_name", String, primary_key=True),
    Column("instance", String, primary_key=True),
    Column("since", Float, nullable=False),
    Column("verdict", Text, nullable=False),  # JSON of the latest verdict
)

case_events = Table(
    "case_events", metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", Id, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String, nullable=False),  # open | update | escalate | resolve | …
    Column("actor", String, nullable=False),
    Column("detail", Text, nullable=False, default="{}"),  # JSON
    UniqueConstraint("case_id", "seq"),
)

state = Table(
    "state", metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

# An inspection run (巡检记录): who/what started it, its scope, and per device × check a
# verdict with its evidence — the record the contract asks for every working day.
inspection_runs = Table(
    "inspection_runs", metadata,
    Column("id", Id, primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("trigger", String, nullable=False),  # cli | schedule
    Column("started_by", String, nullable=False),  # a user, or the schedule's name
    Column("scope", Text, nullable=False),  # JSON: devices, groups
    Column("devices", Integer, nullable=False),
    Column("status", String, nullable=False),  # worst verdict: ok | warn | crit | unknown
    Index("ix_inspection_runs_started", "started_at"),
)

inspection_results = Table(
    "inspection_results", metadata,
    Column("id", Id, primary_key=True),
    Column("run_id", Id, ForeignKey("inspection_runs.id"), nullable=False),
    Column("device", String, nullable=False),
    Column("check_name", String, nullable=False),
    Column("instance", String, nullable=False, default=""),
    Column("verdict", String, nullable=False),  # pass | warn | fail | not collected
    Column("value", Float),
    Column("unit", String, nullable=False, default=""),
    Column("threshold", String, nullable=False, default=""),
    Column("rule_version", String, nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("evidence", Text, nullable=False, default=""),  # raw-output excerpt
    Column("collected_at", Float),
    # run_id first: a run's rows, and one row of a run by device + check (the report's "latest")
    Index("ix_inspection_results_run", "run_id", "device", "check_name", "instance"),
)

# Daily rollups (min/avg/max/last per device × measurement × field × series × day), so half
# a year of trends needs no InfluxDB.
rollups = Table(
    "rollups", metadata,
    Column("day", String, primary_key=True),  # YYYY-MM-DD in the agent's time zone
    Column("device", String, primary_key=True),
    Column("measurement", String, primary_key=True),
    Column("field", String, primary_key=True),
    Column("series", String, primary_key=True),  # tags other than host, JSON, keys sorted
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("sum", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("last", Float, nullable=False),
    Column("last_time", BigInt, nullable=False),
)

# Every playbook plan and apply (and refusal): who, when, where, what, the plan, the
# commands run with their output, the result and the bytes freed.
playbook_runs = Table(
    "playbook_runs", metadata,
    Column("id", Id, primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("actor", String, nullable=False),
    Column("device", String, nullable=False),
    Column("playbook", String, nullable=False),
    Column("mode", String, nullable=False),  # plan | apply
    Column("params", Text, nullable=False),  # JSON
    Column("plan", Text, nullable=False),  # JSON: the planned steps, commands and files
    Column("outputs", Text, nullable=False, default="[]"),  # JSON: step outcomes and transcript
    Column("result", String, nullable=False),  # planned | refused | ok | failed | aborted | busy
    Column("message", Text, nullable=False, default=""),
    Column("bytes_freed", BigInt, nullable=False, default=0),
    Column("duration", Float, nullable=False),
    Column("case_number", String),
    Column("forced_reason", Text),  # --force --reason outside the playbook's windows
    Index("ix_playbook_runs_device_started", "device", "started_at"),
)

# Hooks: case events a route selected, waiting for (or done with) delivery to one channel.
# Written in the same transaction as the event; the delivery worker sends them in id
# order per case and channel, with retries, until done or dead.
outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", Id, ForeignKey("cases.id"), nullable=False),
    Column("case_number", String, nullable=False),
    Column("seq", Integer, nullable=False),  # the case event's seq
    Column("kind", String, nullable=False),  # the event kind (open, escalate, resolve, …)
    Column("channel", String, nullable=False),
    Column("route", String, nullable=False, default=""),
    Column("key", String, nullable=False),  # idempotency key: case number + event seq
    Column("payload", Text, nullable=False),  # JSON: case, event, recipients (never secrets)
    Column("storm_key", String),  # set when storm control may group this item with others
    Column("status", String, nullable=False),  # pending | done | dead | cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("next_at", Float, nullable=False),
    Column("claimed_by", String),  # host:pid of the worker sending it now
    Column("claimed_until", Float),
    Column("done_at", Float),
    Column("grouped_in", String),  # the key of the grouped (storm) message that carried it
    Column("last_error", Text, nullable=False, default=""),
    UniqueConstraint("channel", "key"),
    Index("ix_outbox_status_next", "status", "next_at"),
    Index("ix_outbox_case_channel", "case_id", "channel", "id"),
)

# A fault or request reported by a person (phone, mail, web, on site): who reported it, how,
# when (the clocks start then, which may be before it was entered), and what it concerns.
case_reports = Table(
    "case_reports", metadata,
    Column("case_id", Id, ForeignKey("cases.id"), primary_key=True),
    Column("channel", String, nullable=False),  # phone | mail | web | onsite | other
    Column("reporter", String, nullable=False),
    Column("unit", String, nullable=False, default=""),
    Column("contact", String, nullable=False, default=""),
    Column("reported_at", Float, nullable=False),
    Column("entered_at", Float, nullable=False),
    Column("entered_by", String, nullable=False),
    Column("description", Text, nullable=False),
    Column("affected", Text, nullable=False, default="[]"),  # JSON: devices and services named
)

# The named clocks of a case (arrival on site, diagnosis report, fault report submitted…): started
# and stopped by case events, each judged on its own limit and calendar.
case_clocks = Table(
    "case_clocks", metadata,
    Column("case_id", Id, ForeignKey("cases.id"), primary_key=True),
    Column("name", String, primary_key=True),
    Column("level", Integer, nullable=False),  # the case's level when it started
    Column("started_at", Float, nullable=False),
    Column("due", Float, nullable=False),
    Column("stopped_at", Float),
    Column("breached", Integer, nullable=False, default=0),
)

# The ticket a channel made for a case (Jira issue, ServiceNow incident, a webhook's id).
case_tickets = Table(
    "case_tickets", metadata,
    Column("case_id", Id, ForeignKey("cases.id"), primary_key=True),
    Column("channel", String, primary_key=True),
    Column("ticket_id", String, nullable=False),
    Column("url", String, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)

# The asset register (资产台账): the latest record per device (model, serial, hardware,
# firmware and software versions…) and every change of a field, as collected.
assets = Table(
    "assets", metadata,
    Column("device", String, primary_key=True),
    Column("record", Text, nullable=False),  # JSON: field -> value (the merged view)
    # JSON: collector -> {field: value}, in the order the collectors were first seen; a field
    # reported by two collectors shows the first one's value in `record`.
    Column("sources", Text, nullable=False, default="{}"),
    Column("first_seen", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

asset_changes = Table(
    "asset_changes", metadata,
    Column("id", Id, primary_key=True),
    Column("device", String, nullable=False),
    Column("at", Float, nullable=False),
    Column("field", String, nullable=False),
    Column("old", Text),  # None: first seen
    Column("new", Text),  # None: no longer reported
    Column("source", String, nullable=False, default=""),  # the collector whose report changed it
    Index("ix_asset_changes_device_at", "device", "at"),
)

# The duty roster (值班表): who is on duty when. New cases without an assignee go to the people
# on duty when they open; reminders name them as recipients. `watch`: a heightened-watch shift.
duty_shifts = Table(
    "duty_shifts", metadata,
    Column("id", Id, primary_key=True),
    Column("name", String, nullable=False),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
    Column("people", Text, nullable=False),  # JSON list of names, the first one assigned
    Column("watch", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("created_by", String, nullable=False, default=""),
    Index("ix_duty_shifts_starts_at", "starts_at"),
)

# Planned work (计划性工作): the inspections a contract schedules, made from `plans:` schedules
# (unique per schedule and period) or by hand; dates are local days (YYYY-MM-DD).
plans = Table(
    "plans", metadata,
    Column("id", Id, primary_key=True),
    Column("number", String, nullable=False, unique=True),
    Column("schedule", String, nullable=False, default=""),  # "" for a plan made by hand
    Column("period", String, nullable=False),  # 2026-12, 2026Q4, 2026H2, 2026 (by hand: unique key)
    Column("title", String, nullable=False),
    Column("planned_for", String, nullable=False),
    Column("status", String, nullable=False),  # planned | done | reported | cancelled
    Column("approval", Integer, nullable=False, default=0),
    Column("notify_sites", Integer, nullable=False, default=0),
    Column("approved_at", Float),
    Column("approved_by", String),
    Column("notified_at", Float),
    Column("done_at", Float),
    Column("done_by", String),
    Column("report_due", String),
    Column("reported_at", Float),
    Column("report", String, nullable=False, default=""),
    Column("scope", Text, nullable=False, default="{}"),
    Column("level", Integer, nullable=False, default=3),
    Column("remind_before", Integer, nullable=False, default=3),
    Column("report_within", Integer, nullable=False, default=3),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    Column("created_by", String, nullable=False, default=""),
    UniqueConstraint("schedule", "period", name="uq_plans_schedule_period"),
    Index("ix_plans_planned_for", "planned_for"),
)

plan_events = Table(
    "plan_events", metadata,
    Column("id", Id, primary_key=True),
    Column("plan_id", Id, ForeignKey("plans.id"), nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String, nullable=False),  # plan | approve | notify | done | reported | cancel
    Column("actor", String, nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
    Index("ix_plan_events_plan_id", "plan_id"),
)

# Mail intake: every message taken from a polled mailbox, by its IMAP identity (UIDVALIDITY +
# UID), written in the same transaction as the case event it caused (open or note), so a
# message is never taken twice, even after a crash before it was flagged or moved. Ignored
# messages (sender not allowed, automatic replies) are recorded too, and logged once.
mail_messages = Table(
    "mail_messages", metadata,
    Column("id", Id, primary_key=True),
    Column("mailbox", String, nullable=False),  # user@host:port/INBOX (never a password)
    Column("uidvalidity", BigInt, nullable=False),
    Column("uid", BigInt, nullable=False),
    Column("message_id", String, nullable=False, default=""),  # the Message-ID header
    Column("at", Float, nullable=False),  # when it was taken
    Column("action", String, nullable=False),  # case | note | ignored | duplicate | failed
    Column("case_id", Id, ForeignKey("cases.id")),
    Column("sender", String, nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    # The acknowledgement of a new case: its Message-ID (replies point at it), when it was sent.
    Column("ack_id", String),
    Column("ack_to", String),
    Column("ack_sent_at", Float),
    Column("ack_attempts", Integer, nullable=False, default=0),
    Column("ack_error", Text, nullable=False, default=""),
    UniqueConstraint("mailbox", "uidvalidity", "uid"),
    Index("ix_mail_messages_message_id", "message_id"),
    Index("ix_mail_messages_ack_id", "ack_id"),
)
