"""Canned responses per language; hand-offs of tickets to a specialist queue or person

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "language"),
    )
    op.create_index(op.f("ix_canned_responses_name"), "canned_responses", ["name"], unique=False)
    op.create_table(
        "ticket_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_queue", sa.String(length=100), nullable=False),
        sa.Column("to_queue", sa.String(length=100), nullable=False),
        sa.Column("from_assignee", sa.String(length=320), nullable=True),
        sa.Column("to_assignee", sa.String(length=320), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("handed_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ticket_handoffs_ticket_id"), "ticket_handoffs", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_handoffs_ticket_id"), table_name="ticket_handoffs")
    op.drop_table("ticket_handoffs")
    op.drop_index(op.f("ix_canned_responses_name"), table_name="canned_responses")
    op.drop_table("canned_responses")
