"""payments: WeChat Pay orders, their bills, refunds, receipts and invoice requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:20:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('payer_id', sa.Integer(), nullable=False),
    sa.Column('selection_key', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('refunded', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.Enum('pending', 'paid', 'closed', name='payment_order_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('prepay_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_order_amount_positive')),
    sa.CheckConstraint('refunded >= 0 AND refunded <= amount', name=op.f('ck_payment_order_refund_within_amount')),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_payment_order_community_id_community'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payer_id'], ['user.id'], name=op.f('fk_payment_order_payer_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_payment_order_room_id_room'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_order')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payment_order_out_trade_no')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_payment_order_transaction_id'))
    )
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_order_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_order_payer_id'), ['payer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_order_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_order_selection_key'), ['selection_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_order_status'), ['status'], unique=False)

    op.create_table('invoice_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('personal', 'company', name='invoice_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('tax_number', sa.String(length=18), nullable=True),
    sa.Column('email', sa.String(length=120), nullable=False),
    sa.Column('status', sa.Enum('requested', 'issued', 'rejected', name='invoice_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_invoice_request_community_id_community'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user.id'], name=op.f('fk_invoice_request_handled_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_invoice_request_order_id_payment_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_invoice_request_requested_by_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_request')),
    sa.UniqueConstraint('order_id', name=op.f('uq_invoice_request_order_id'))
    )
    with op.batch_alter_table('invoice_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_request_community_id'), ['community_id'], unique=False)

    op.create_table('payment_order_bill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('hold', sa.Boolean(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_order_bill_amount_positive')),
    sa.ForeignKeyConstraint(['bill_id'], ['bill.id'], name=op.f('fk_payment_order_bill_bill_id_bill'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_order_bill_order_id_payment_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_order_bill')),
    sa.UniqueConstraint('bill_id', 'hold', name=op.f('uq_payment_order_bill_bill_id_hold')),
    sa.UniqueConstraint('order_id', 'bill_id', name=op.f('uq_payment_order_bill_order_id_bill_id'))
    )
    with op.batch_alter_table('payment_order_bill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_order_bill_order_id'), ['order_id'], unique=False)

    op.create_table('payment_refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('refund_id', sa.String(length=32), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=False),
    sa.Column('status', sa.Enum('processing', 'success', 'failed', name='payment_refund_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_refund_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['payment_order.id'], name=op.f('fk_payment_refund_order_id_payment_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_payment_refund_requested_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refund')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_payment_refund_out_refund_no')),
    sa.UniqueConstraint('refund_id', name=op.f('uq_payment_refund_refund_id'))
    )
    with op.batch_alter_table('payment_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_refund_order_id'), ['order_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_refund_order_id'))

    op.drop_table('payment_refund')
    with op.batch_alter_table('payment_order_bill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_order_bill_order_id'))

    op.drop_table('payment_order_bill')
    with op.batch_alter_table('invoice_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_request_community_id'))

    op.drop_table('invoice_request')
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_order_status'))
        batch_op.drop_index(batch_op.f('ix_payment_order_selection_key'))
        batch_op.drop_index(batch_op.f('ix_payment_order_room_id'))
        batch_op.drop_index(batch_op.f('ix_payment_order_payer_id'))
        batch_op.drop_index(batch_op.f('ix_payment_order_community_id'))

    op.drop_table('payment_order')
