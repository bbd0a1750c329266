"""fund_proposal: the outcome withdrawn

A vote closed before its deadline has no result (an objection vote always, a
civil-code vote unless every owner had voted): it is withdrawn, never passed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD = "outcome IN ('passed', 'rejected', 'no_quorum')"
NEW = "outcome IN ('passed', 'rejected', 'no_quorum', 'withdrawn')"


def _replace(check: str) -> None:
    with op.batch_alter_table('fund_proposal', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_fund_proposal_fund_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_fund_proposal_fund_outcome'), check)


def upgrade():
    _replace(NEW)


def downgrade():
    # withdrawn votes have no other outcome to go back to: they read as rejected
    op.execute("UPDATE fund_proposal SET outcome = 'rejected' WHERE outcome = 'withdrawn'")
    _replace(OLD)
