"""fund decisions: publicity, questions, paper and proxy ballots, withdrawals, the query window

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:20:00

"""
import sqlalchemy as sa
from alembic import op



# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

def UTC():
    return sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'fund_proxy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('voter_key', sa.Integer(), nullable=False),
        sa.Column('owner_user_id', sa.Integer(), nullable=True),
        sa.Column('proxy_user_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('revoked_at', UTC(), nullable=True),
        sa.CheckConstraint('voter_key > 0', name=op.f('ck_fund_proxy_voter_key_positive')),
        sa.CheckConstraint('owner_user_id <> proxy_user_id', name=op.f('ck_fund_proxy_not_self')),
        sa.ForeignKeyConstraint(['document_id'], ['attachment.id'],
                                name=op.f('fk_fund_proxy_document_id_attachment'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['owner_user_id'], ['user.id'],
                                name=op.f('fk_fund_proxy_owner_user_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['proposal_id'], ['fund_proposal.id'],
                                name=op.f('fk_fund_proxy_proposal_id_fund_proposal'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['proxy_user_id'], ['user.id'],
                                name=op.f('fk_fund_proxy_proxy_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_proxy')),
    )
    op.create_index('ix_fund_proxy_proposal_id_voter_key', 'fund_proxy', ['proposal_id', 'voter_key'])
    op.create_index(op.f('ix_fund_proxy_proxy_user_id'), 'fund_proxy', ['proxy_user_id'])

    op.create_table(
        'fund_comment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.Enum('publicity', 'query', name='fund_comment_stage', native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('author_name', sa.String(length=64), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', UTC(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('answered_at', UTC(), nullable=True),
        sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'],
                                name=op.f('fk_fund_comment_answered_by_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['author_id'], ['user.id'],
                                name=op.f('fk_fund_comment_author_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['proposal_id'], ['fund_proposal.id'],
                                name=op.f('fk_fund_comment_proposal_id_fund_proposal'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_comment')),
    )
    op.create_index('ix_fund_comment_proposal_id_stage', 'fund_comment', ['proposal_id', 'stage'])

    op.create_table(
        'fund_proposal_file',
        sa.Column('proposal_id', sa.Integer(), nullable=False),
        sa.Column('attachment_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'],
                                name=op.f('fk_fund_proposal_file_attachment_id_attachment'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['proposal_id'], ['fund_proposal.id'],
                                name=op.f('fk_fund_proposal_file_proposal_id_fund_proposal'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('proposal_id', 'attachment_id', name=op.f('pk_fund_proposal_file')),
    )

    with op.batch_alter_table('fund_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', UTC(), nullable=True))
        batch_op.add_column(sa.Column('publish_notified_at', UTC(), nullable=True))
        batch_op.add_column(sa.Column('notice_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('allow_change', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('query_ends_at', UTC(), nullable=True))
        batch_op.add_column(sa.Column('finalised_at', UTC(), nullable=True))
        batch_op.add_column(sa.Column('finalised_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_fund_proposal_finalised_by_id_user'), 'user',
                                    ['finalised_by_id'], ['id'], ondelete='SET NULL')
    # votes closed before this revision had their result published for good
    op.execute("UPDATE fund_proposal SET finalised_at = closed_at WHERE status = 'closed'")

    with op.batch_alter_table('fund_ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('online', 'paper', 'proxy', name='fund_ballot_kind',
                                                      native_enum=False, create_constraint=True, length=32),
                                      server_default='online', nullable=False))
        batch_op.add_column(sa.Column('action', sa.Enum('cast', 'withdraw', 'change',
                                                        name='fund_ballot_action', native_enum=False,
                                                        create_constraint=True, length=32),
                                      server_default='cast', nullable=False))
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entered_by_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('photo_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('photo_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('proxy_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_fund_ballot_entered_by_id_user'), 'user',
                                    ['entered_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(op.f('fk_fund_ballot_photo_id_attachment'), 'attachment',
                                    ['photo_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(op.f('fk_fund_ballot_proxy_id_fund_proxy'), 'fund_proxy',
                                    ['proxy_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_constraint(op.f('uq_fund_ballot_proposal_id_voter_key'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_fund_ballot_proposal_id_voter_key_action'),
                                          ['proposal_id', 'voter_key', 'action'])
        batch_op.create_check_constraint(
            op.f('ck_fund_ballot_paper_has_entry'),
            "kind <> 'paper' OR (entered_by_id IS NOT NULL OR photo_sha256 IS NOT NULL)")
        batch_op.create_check_constraint(op.f('ck_fund_ballot_proxy_has_authority'),
                                         "kind <> 'proxy' OR proxy_id IS NOT NULL")


def downgrade():
    # withdrawals and changes cannot survive one ballot per owner
    op.execute("DELETE FROM fund_ballot WHERE action <> 'cast'")
    with op.batch_alter_table('fund_ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_fund_ballot_proxy_has_authority'), type_='check')
        batch_op.drop_constraint(op.f('ck_fund_ballot_paper_has_entry'), type_='check')
        batch_op.drop_constraint(op.f('uq_fund_ballot_proposal_id_voter_key_action'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_fund_ballot_proposal_id_voter_key'),
                                          ['proposal_id', 'voter_key'])
        batch_op.drop_constraint(op.f('fk_fund_ballot_proxy_id_fund_proxy'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_fund_ballot_photo_id_attachment'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_fund_ballot_entered_by_id_user'), type_='foreignkey')
        for column in ('proxy_id', 'photo_sha256', 'photo_id', 'entered_by_name', 'entered_by_id',
                       'action', 'kind'):
            batch_op.drop_column(column)
    with op.batch_alter_table('fund_proposal', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_fund_proposal_finalised_by_id_user'), type_='foreignkey')
        for column in ('finalised_by_id', 'finalised_at', 'query_ends_at', 'allow_change',
                       'notice_days', 'publish_notified_at', 'published_at'):
            batch_op.drop_column(column)
    op.drop_table('fund_proposal_file')
    op.drop_index('ix_fund_comment_proposal_id_stage', table_name='fund_comment')
    op.drop_table('fund_comment')
    op.drop_index(op.f('ix_fund_proxy_proxy_user_id'), table_name='fund_proxy')
    op.drop_index('ix_fund_proxy_proposal_id_voter_key', table_name='fund_proxy')
    op.drop_table('fund_proxy')
