"""estimated windows: each window may keep the performance estimated without labels (CBPE, DLE)

A nullable column: windows folded before estimators were fitted have none (NULL), and nothing is
converted.

Revision ID: 0009_estimated_windows
Revises: 0008_packed_windows
Create Date: 2026-12-03 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_estimated_windows'
down_revision = '0008_packed_windows'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('windowprofile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estimated_packed', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('windowprofile', schema=None) as batch_op:
        batch_op.drop_column('estimated_packed')
