"""wechat_nonce: the digest of the request that first used each nonce

A nonce used again with the same request (WeChat's retry, or a byte-identical
replay) is let through, the MsgId counting the message once; with another request
it is refused. Rows from before have an empty digest: anything reusing their nonce
is refused, as before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wechat_nonce', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), server_default='',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('wechat_nonce', schema=None) as batch_op:
        batch_op.drop_column('digest')
