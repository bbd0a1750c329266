"""attachments: uploaded files (images, PDFs) that notices, fund proposals, ballots and proxies refer to

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
