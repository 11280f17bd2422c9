"""Indexes for identify + dedupe + context on a large store (benchmarks/context.py).

A contact's earlier tickets, newest first, are read for every new ticket: with an index on
contact_id alone, a customer with thousands of tickets meant reading and sorting all of
them (36 ms for 2,600 tickets on a store of 1,000,000); (contact_id, created_at, id) gives
the newest 50 from the index. A chat conversation's newest open ticket was found by walking
messages backwards by ticket_id until one had the key (45 ms); (conversation_key,
ticket_id) starts at the key. Each replaces the single-column index it begins with.

Revision ID: 0016
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_contact_id_created_at_id", ["contact_id", "created_at", "id"])
        batch_op.drop_index("ix_tickets_contact_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_conversation_key_ticket_id", ["conversation_key", "ticket_id"])
        batch_op.drop_index("ix_messages_conversation_key")


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_conversation_key", ["conversation_key"])
        batch_op.drop_index("ix_messages_conversation_key_ticket_id")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_contact_id", ["contact_id"])
        batch_op.drop_index("ix_tickets_contact_id_created_at_id")
