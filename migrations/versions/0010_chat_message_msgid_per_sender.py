"""chat_message: a WeChat MsgId is unique per sender, not across senders

Two residents' messages carrying the same MsgId are both recorded (and answered);
a retry of one resident's MsgId is still stored once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 09:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_chat_message_wechat_msg_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_chat_message_author_id_wechat_msg_id'),
                                          ['author_id', 'wechat_msg_id'])


def downgrade():
    # only one message per MsgId can stay: later senders' copies lose the MsgId
    op.execute("UPDATE chat_message SET wechat_msg_id = NULL WHERE wechat_msg_id IS NOT NULL "
               "AND id NOT IN (SELECT min(id) FROM chat_message WHERE wechat_msg_id IS NOT NULL "
               "GROUP BY wechat_msg_id)")
    with op.batch_alter_table('chat_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_chat_message_author_id_wechat_msg_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_chat_message_wechat_msg_id'),
                                          ['wechat_msg_id'])
