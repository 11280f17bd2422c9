"""messages: who forwarded a message and their note, the message a customer forwarded,
and warnings for the agent (a display name posing as another address)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # All nullable: rows filed before this revision simply have none of these.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forwarded_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("forward_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("forwarded_from", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("warnings")
        batch_op.drop_column("forwarded_from")
        batch_op.drop_column("forward_note")
        batch_op.drop_column("forwarded_by")
