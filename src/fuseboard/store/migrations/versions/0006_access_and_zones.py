"""access and zones: environment allow-lists in the workspace, workspace settings (identity override),
rota time zones

Revision ID: 0006_access_and_zones
Revises: 0005_ingested_batches
Create Date: 2026-12-02 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_access_and_zones'
down_revision = '0005_ingested_batches'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workspacesetting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allow', sa.JSON(), nullable=True))  # NULL: anyone may change it
    with op.batch_alter_table('rota', schema=None) as batch_op:
        # rotas written before zones were anchored in UTC, and keep doing so
        batch_op.add_column(sa.Column('tz', sa.String(length=64), nullable=False, server_default='UTC'))


def downgrade() -> None:
    with op.batch_alter_table('rota', schema=None) as batch_op:
        batch_op.drop_column('tz')
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.drop_column('allow')
    op.drop_table('workspacesetting')
