"""A fund proposal keeps its query window (询异期, days after the preliminary result),
fixed from the community's setting when voting opens, as it keeps its threshold,
basis and change-once rule: a setting changed later no longer moves an open vote's
window. Existing proposals get their community's current setting (else 3 days, the
default), which is what they used until now.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("fund_proposal") as batch:
        batch.add_column(sa.Column("query_days", sa.Integer(), nullable=False, server_default="3"))
    community = sa.table("community", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
    proposal = sa.table("fund_proposal", sa.column("community_id", sa.Integer),
                        sa.column("query_days", sa.Integer))
    connection = op.get_bind()
    for community_id, settings in connection.execute(sa.select(community.c.id, community.c.settings)):
        days = (settings or {}).get("fund_query_days")
        if days is not None:
            connection.execute(sa.update(proposal).where(proposal.c.community_id == community_id)
                               .values(query_days=int(days)))


def downgrade():
    with op.batch_alter_table("fund_proposal") as batch:
        batch.drop_column("query_days")
