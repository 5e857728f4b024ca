"""Assignments close (``closes_at``: no uploads after it) and carry their Russian title.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as t:
        t.add_column(sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("title_ru", sa.String(400), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as t:
        t.drop_column("title_ru")
        t.drop_column("closes_at")
