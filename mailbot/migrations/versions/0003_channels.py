"""chat and social channels: the channels table, channel-neutral messages and outbox rows

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite keeps 0001's unique constraint unnamed; this convention names it on reflection
# so the batch rebuild can drop it (Alembic docs, "Dropping Unnamed or Named Foreign Key
# Constraints"). PostgreSQL named it itself.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique_name() -> str:
    if op.get_bind().dialect.name == "sqlite":
        return "uq_messages_internet_message_id"
    return "messages_internet_message_id_key"


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("api_base", sa.String(length=500), nullable=True),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("type", "name"),
    )
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_inbound_channel_id_channels", "channels", ["channel_id"], ["id"], ondelete="SET NULL"
        )
    naming = _SQLITE_NAMES if op.get_bind().dialect.name == "sqlite" else None
    with op.batch_alter_table("messages", schema=None, naming_convention=naming) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=30), nullable=False, server_default="email")
        )
        batch_op.add_column(
            sa.Column("sender_type", sa.String(length=20), nullable=False, server_default="email")
        )
        batch_op.add_column(sa.Column("conversation_key", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(_old_unique_name(), type_="unique")
        batch_op.create_unique_constraint(
            "uq_messages_channel_message_id", ["channel", "internet_message_id"]
        )
        batch_op.create_index(batch_op.f("ix_messages_conversation_key"), ["conversation_key"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        # The defaults only filled the existing rows; the models set the values.
        batch_op.alter_column("channel", server_default=None)
        batch_op.alter_column("sender_type", server_default=None)
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=1000), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("channel_fields", sa.Text(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("external_id", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_channel_id_channels", "channels", ["channel_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("channel_fields", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_channel_id_channels", type_="foreignkey")
        batch_op.drop_column("external_id")
        batch_op.drop_column("channel_fields")
        batch_op.drop_column("channel_id")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("reference")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_conversation_key"))
        batch_op.drop_constraint("uq_messages_channel_message_id", type_="unique")
        batch_op.create_unique_constraint(_old_unique_name(), ["internet_message_id"])
        for column in ("deleted_at", "edited_at", "conversation_key", "sender_type", "channel"):
            batch_op.drop_column(column)
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_constraint("fk_inbound_channel_id_channels", type_="foreignkey")
        batch_op.drop_column("channel_id")
    op.drop_table("channels")
