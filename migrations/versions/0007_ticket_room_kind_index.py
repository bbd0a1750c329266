"""ticket: the household-repair index covers the kind (room_id, kind, id)

A resident's list reads the home_repair tickets of their flat newest first; with
(room_id, id) every other kind of ticket of the flat was read and filtered out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 14:05:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_room_id_kind_id', ['room_id', 'kind', 'id'], unique=False)
        batch_op.drop_index('ix_ticket_room_id_id')


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_room_id_id', ['room_id', 'id'], unique=False)
        batch_op.drop_index('ix_ticket_room_id_kind_id')
