"""Delivery to agents: per-queue delivery targets, a display name on outbox rows (an
agent's name on the reply relayed to the customer), outbox rows found by the platform's id

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("queue", "kind", "address"),
    )
    op.create_index(op.f("ix_delivery_targets_queue"), "delivery_targets", ["queue"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_name", sa.String(length=320), nullable=False, server_default=""))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        # A reply in a notification's Slack thread is matched by the post's ts.
        batch_op.create_index(batch_op.f("ix_outbox_external_id"), ["external_id"], unique=False)
        # The default only filled the existing rows; the model sets the value.
        batch_op.alter_column("from_name", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_external_id"))
        batch_op.drop_column("from_name")
    op.drop_index(op.f("ix_delivery_targets_queue"), table_name="delivery_targets")
    op.drop_table("delivery_targets")
