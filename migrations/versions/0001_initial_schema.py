"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('launches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_name', sa.String(), nullable=False),
    sa.Column('run_module', sa.String(), nullable=False),
    sa.Column('backend', sa.String(), nullable=False),
    sa.Column('workdir', sa.String(), nullable=False),
    sa.Column('train_dir', sa.String(), nullable=False),
    sa.Column('experiment_suffix', sa.String(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('template_path', sa.String(), nullable=True),
    sa.Column('template_text', sa.Text(), nullable=True),
    sa.Column('print_only', sa.Boolean(), nullable=False),
    sa.Column('hostname', sa.String(), nullable=False),
    sa.Column('username', sa.String(), nullable=False),
    sa.Column('pbt_track_version', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('experiments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('launch_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('base_name', sa.String(), nullable=False),
    sa.Column('cmd', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('env_vars', sa.JSON(), nullable=True),
    sa.Column('root_dir', sa.String(), nullable=False),
    sa.Column('train_dir', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['launch_id'], ['launches.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('launch_id', 'name', name='uq_experiments_launch_name')
    )
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.create_index('ix_experiments_base_name', ['base_name'], unique=False)
        batch_op.create_index('ix_experiments_name', ['name'], unique=False)

    op.create_table('scripts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scripts', schema=None) as batch_op:
        batch_op.create_index('ix_scripts_experiment_id', ['experiment_id'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('argv', sa.JSON(), nullable=False),
    sa.Column('log_path', sa.String(), nullable=True),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('job_id', sa.String(), nullable=True),
    sa.Column('cluster', sa.String(), nullable=True),
    sa.Column('submit_returncode', sa.Integer(), nullable=True),
    sa.Column('submit_stdout', sa.Text(), nullable=True),
    sa.Column('submit_stderr', sa.Text(), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('node', sa.String(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('intended_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['script_id'], ['scripts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('experiment_id', 'attempt', name='uq_submissions_experiment_attempt')
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_job_id', ['job_id'], unique=False)
        batch_op.create_index('ix_submissions_state', ['state'], unique=False)

    op.create_table('state_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('observed_at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.create_index('ix_state_changes_submission_id', ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('state_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_state_changes_submission_id')

    op.drop_table('state_changes')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_state')
        batch_op.drop_index('ix_submissions_job_id')

    op.drop_table('submissions')
    with op.batch_alter_table('scripts', schema=None) as batch_op:
        batch_op.drop_index('ix_scripts_experiment_id')

    op.drop_table('scripts')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_index('ix_experiments_name')
        batch_op.drop_index('ix_experiments_base_name')

    op.drop_table('experiments')
    op.drop_table('launches')
