"""Job arrays: the slurm_arrays table, and each submission's array and task

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slurm_arrays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("launch_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("argv", sa.JSON(), nullable=False),
        sa.Column("task_count", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=True),
        sa.Column("submit_returncode", sa.Integer(), nullable=True),
        sa.Column("submit_stdout", sa.Text(), nullable=True),
        sa.Column("submit_stderr", sa.Text(), nullable=True),
        sa.Column("intended_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["launch_id"], ["launches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_slurm_arrays_launch_id", "slurm_arrays", ["launch_id"])
    # SQLite adds a column with its foreign key in place; alembic would rebuild the table,
    # which the experiment_status view refers to.
    op.execute("ALTER TABLE submissions ADD COLUMN array_id INTEGER REFERENCES slurm_arrays (id)")
    op.add_column("submissions", sa.Column("array_task", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE submissions DROP COLUMN array_task")
    op.execute("ALTER TABLE submissions DROP COLUMN array_id")
    op.drop_index("ix_slurm_arrays_launch_id", table_name="slurm_arrays")
    op.drop_table("slurm_arrays")
