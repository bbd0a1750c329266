"""Indexes the scale benchmark asks for (issue #17): the desk queue filtered by
status and kind (``GET /api/v1/tickets?status=..&kind=..``) in a community among
thousands is read from one index (community, status, kind, id) instead of walking
the primary key backwards through every community's tickets (bench/scale.py).

Revision ID: 0016
Revises: 0015
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_ticket_community_id_status_kind_id", "ticket",
                    ["community_id", "status", "kind", "id"])


def downgrade():
    op.drop_index("ix_ticket_community_id_status_kind_id", table_name="ticket")
