"""Indexes that let a /metrics scrape count without reading the rows: inbound by channel,
status and verdict (a table scan would read every raw message, overflow pages and all),
acknowledgements by channel and status, and tickets by their first-response deadline.

Revision ID: 0013
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbound_channel_status_verdict", "inbound", ["channel", "status", "verdict"])
    op.create_index("ix_outbox_kind_channel_status", "outbox", ["kind", "channel", "status"])
    op.create_index(
        "ix_tickets_first_response_due_at", "tickets", ["first_response_due_at", "first_response_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_first_response_due_at", table_name="tickets")
    op.drop_index("ix_outbox_kind_channel_status", table_name="outbox")
    op.drop_index("ix_inbound_channel_status_verdict", table_name="inbound")
