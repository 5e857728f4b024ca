"""LTI 1.3: the launch state store (OIDC state, single-use nonces, launch data) and staff emails
(an LTI user is matched to the roster by email or login).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("lti_store",
                    sa.Column("key", sa.String(400), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False),
                    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True))
    with op.batch_alter_table("staff") as t:
        t.add_column(sa.Column("email", sa.String(400), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("staff") as t:
        t.drop_column("email")
    op.drop_table("lti_store")
