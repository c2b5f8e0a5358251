"""Columns for the processes backend (host, pid start time, runner, cancel requests); launch cwd and uuid

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("cancel_requested_at", sa.DateTime()),
    ("host", sa.String()),
    ("process_start", sa.Integer()),
    ("runner_pid", sa.Integer()),
    ("runner_start", sa.Integer()),
    ("submit_pid", sa.Integer()),
    ("submit_pid_start", sa.Integer()),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("submissions", sa.Column(name, type_, nullable=True))
    op.add_column("launches", sa.Column("cwd", sa.String(), nullable=True))
    op.add_column("launches", sa.Column("uuid", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("launches") as batch:
        batch.drop_column("uuid")
        batch.drop_column("cwd")
    with op.batch_alter_table("submissions") as batch:
        for name, _type in reversed(_COLUMNS):
            batch.drop_column(name)
