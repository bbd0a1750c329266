"""notices: the notice board (公告), its scope, attachments and read receipts

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_key', sa.String(length=100), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('publish_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_notice_community_id_community'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_notice_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['user.id'], name=op.f('fk_notice_withdrawn_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('source_key', name=op.f('uq_notice_source_key'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_community_publish', ['community_id', 'publish_at'], unique=False)
    op.create_table('notice_building',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_notice_building_building_id_building'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_building_notice_id_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notice_id', 'building_id', name=op.f('pk_notice_building'))
    )
    with op.batch_alter_table('notice_building', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_building_building_id'), ['building_id'], unique=False)
    op.create_table('notice_attachment',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_notice_attachment_attachment_id_attachment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_attachment_notice_id_notice'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notice_id', 'attachment_id', name=op.f('pk_notice_attachment'))
    )
    with op.batch_alter_table('notice_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_attachment_attachment_id'), ['attachment_id'], unique=False)
    op.create_table('notice_read',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_read_notice_id_notice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notice_read_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_read')),
    sa.UniqueConstraint('notice_id', 'user_id', name=op.f('uq_notice_read_notice_id_user_id'))
    )
    with op.batch_alter_table('notice_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_read_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('notice_read')
    op.drop_table('notice_attachment')
    op.drop_table('notice_building')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_community_publish')
    op.drop_table('notice')
