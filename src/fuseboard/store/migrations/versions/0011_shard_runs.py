"""shard runs: when each shard of the deployments last had each kind of check (monitors that share the work)

Revision ID: 0011_shard_runs
Revises: 0010_outbox
Create Date: 2026-12-03 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_shard_runs'
down_revision = '0010_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shardrun',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('ran_at', sa.DateTime(), nullable=False),
        sa.Column('holder', sa.String(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'shard'),
    )


def downgrade() -> None:
    op.drop_table('shardrun')
