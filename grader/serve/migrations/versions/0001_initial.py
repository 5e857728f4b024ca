"""The first schema: students, staff, assignments, submissions, jobs, results.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table("students",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("login", sa.String(200), nullable=False, unique=True),
                    sa.Column("name", sa.String(400), nullable=False),
                    sa.Column("email", sa.String(400), nullable=False),
                    sa.Column("lang", sa.String(8), nullable=False),
                    sa.Column("token_hash", sa.String(64), unique=True))
    op.create_table("staff",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("login", sa.String(200), nullable=False, unique=True),
                    sa.Column("name", sa.String(400), nullable=False),
                    sa.Column("role", sa.String(20), nullable=False),
                    sa.Column("token_hash", sa.String(64), unique=True))
    op.create_table("assignments",
                    sa.Column("id", sa.String(200), primary_key=True),
                    sa.Column("title", sa.String(400), nullable=False),
                    sa.Column("path", sa.Text, nullable=False),
                    sa.Column("version", sa.String(100), nullable=False),
                    sa.Column("due", TZ),
                    sa.Column("max_score", sa.Float, nullable=False),
                    sa.Column("active", sa.Boolean, nullable=False))
    op.create_table("submissions",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id"), nullable=False, index=True),
                    sa.Column("assignment_id", sa.String(200), sa.ForeignKey("assignments.id"), nullable=False,
                              index=True),
                    sa.Column("filename", sa.String(300), nullable=False),
                    sa.Column("path", sa.Text, nullable=False),
                    sa.Column("sha256", sa.String(64), nullable=False),
                    sa.Column("size", sa.BigInteger, nullable=False),
                    sa.Column("received_at", TZ, nullable=False))
    op.create_table("jobs",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False,
                              index=True),
                    sa.Column("state", sa.String(20), nullable=False, index=True),
                    sa.Column("attempts", sa.Integer, nullable=False),
                    sa.Column("worker", sa.String(200)),
                    sa.Column("lease_until", TZ),
                    sa.Column("created_at", TZ, nullable=False),
                    sa.Column("finished_at", TZ))
    op.create_table("results",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False, unique=True),
                    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False,
                              index=True),
                    sa.Column("score", sa.Float, nullable=False),
                    sa.Column("max_score", sa.Float, nullable=False),
                    sa.Column("results_json", sa.Text, nullable=False),
                    sa.Column("created_at", TZ, nullable=False))


def downgrade() -> None:
    for name in ("results", "jobs", "submissions", "assignments", "staff", "students"):
        op.drop_table(name)
