"""REST API: bearer tokens, and the ticket fields agents work with (queue, assignee,
tags, first response)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
        # Existing tickets are in the one queue there was, with nobody assigned and no tags.
        batch_op.add_column(
            sa.Column("queue", sa.String(length=100), nullable=False, server_default="support")
        )
        batch_op.add_column(sa.Column("assignee", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.create_index(batch_op.f("ix_tickets_queue"), ["queue"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_assignee"), ["assignee"], unique=False)
        batch_op.create_index("ix_tickets_updated_at_id", ["updated_at", "id"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # The defaults only filled the existing rows; the models set the values.
        batch_op.alter_column("queue", server_default=None)
        batch_op.alter_column("tags", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_updated_at_id")
        batch_op.drop_index(batch_op.f("ix_tickets_assignee"))
        batch_op.drop_index(batch_op.f("ix_tickets_queue"))
        for column in ("tags", "assignee", "queue", "first_response_at"):
            batch_op.drop_column(column)
    op.drop_table("api_tokens")
