"""contacts: identity types, link suggestions, merges that can be undone; messages: why
they are on their ticket and how sure that was

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("thread_confidence", sa.Float(), nullable=True))
    op.create_table(
        "identity_suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "other_contact_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("contact_id", "other_contact_id"),
    )
    op.create_index("ix_identity_suggestions_contact_id", "identity_suggestions", ["contact_id"])
    op.create_index("ix_identity_suggestions_other_contact_id", "identity_suggestions", ["other_contact_id"])
    op.create_table(
        "contact_merges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kept_id", sa.Integer(), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unmerged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_contact_merges_kept_id", "contact_merges", ["kept_id"])
    # Cross-channel identity looks a contact's open tickets up by contact and recency.
    op.create_index("ix_tickets_contact_id_updated_at", "tickets", ["contact_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_contact_id_updated_at", table_name="tickets")
    op.drop_table("contact_merges")
    op.drop_table("identity_suggestions")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("thread_confidence")
        batch_op.drop_column("thread_reason")
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_column("kind")
