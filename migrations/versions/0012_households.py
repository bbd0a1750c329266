"""households: invitations of family members and tenants, their bindings' end dates and bill permission

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('room_binding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('bills_allowed', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_table('household_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('relation', sa.Enum('owner', 'family', 'tenant', 'desk', 'engineer', 'manager', 'committee', 'admin', name='invitation_relation', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'], name=op.f('fk_household_invitation_invited_by_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['owner_of_record.id'], name=op.f('fk_household_invitation_owner_id_owner_of_record'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_household_invitation_room_id_room'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_by_id'], ['user.id'], name=op.f('fk_household_invitation_used_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_invitation')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_household_invitation_code_hash'))
    )
    with op.batch_alter_table('household_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_invitation_invited_by_id'), ['invited_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_invitation_room_id'), ['room_id'], unique=False)


def downgrade():
    with op.batch_alter_table('household_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_invitation_room_id'))
        batch_op.drop_index(batch_op.f('ix_household_invitation_invited_by_id'))
    op.drop_table('household_invitation')
    with op.batch_alter_table('room_binding', schema=None) as batch_op:
        batch_op.drop_column('bills_allowed')
        batch_op.drop_column('ends_at')
