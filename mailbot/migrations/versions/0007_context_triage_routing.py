"""tickets: triage (intent, urgency, cues), routing (matched rule and why) and prior
context; customer records, owed customer lookups, routing rules

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # queue, assignee and tags are 0005's (the REST API); routing fills them in.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # Tickets from before triage have none of it: null intent and urgency, no rule.
        batch_op.add_column(sa.Column("intent", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("intent_cues", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("urgency", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("priority_cues", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("matched_rule", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("routing_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("context", sa.JSON(), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # The defaults only filled the existing rows; the models set the values.
        for column in ("intent_cues", "priority_cues", "routing_reason"):
            batch_op.alter_column(column, server_default=None)

    op.create_table(
        "customer_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=320), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "email", name="uq_customer_records_source_email"),
        sa.UniqueConstraint("source", "phone", name="uq_customer_records_source_phone"),
    )
    op.create_index(op.f("ix_customer_records_email"), "customer_records", ["email"], unique=False)
    op.create_index(op.f("ix_customer_records_phone"), "customer_records", ["phone"], unique=False)
    op.create_table(
        "customer_lookups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index(op.f("ix_customer_lookups_status"), "customer_lookups", ["status"], unique=False)
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("position"),
    )


def downgrade() -> None:
    op.drop_table("routing_rules")
    op.drop_index(op.f("ix_customer_lookups_status"), table_name="customer_lookups")
    op.drop_table("customer_lookups")
    op.drop_index(op.f("ix_customer_records_phone"), table_name="customer_records")
    op.drop_index(op.f("ix_customer_records_email"), table_name="customer_records")
    op.drop_table("customer_records")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for column in ("context", "routing_reason", "matched_rule", "priority_cues", "urgency"):
            batch_op.drop_column(column)
        batch_op.drop_column("intent_cues")
        batch_op.drop_column("intent")
