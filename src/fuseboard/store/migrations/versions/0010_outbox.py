"""outbox: events for notification receivers, their cursors and dead letters; maintenance windows; escalation

Alerts learn what the receivers were last told (``told``): open alerts are taken as announced (the
webhook of earlier releases sent them), resolved ones as resolved. Silences may recur and be ended early.

Revision ID: 0010_outbox
Revises: 0009_estimated_windows
Create Date: 2026-12-03 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_outbox'
down_revision = '0009_estimated_windows'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outboxevent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uid'),
    )
    op.create_index('ix_outboxevent_at', 'outboxevent', ['at'])
    op.create_table(
        'receivercursor',
        sa.Column('receiver', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(), nullable=False),
        sa.Column('delivered', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('receiver'),
    )
    op.create_table(
        'deadletter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('receiver', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('retried_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deadletter_receiver', 'deadletter', ['receiver'])
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('told', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_to', sa.String(length=64), nullable=True))
    with op.batch_alter_table('silence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('every_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='person', nullable=False))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
    alert = sa.table('alert', sa.column('state', sa.String()), sa.column('told', sa.String()))
    conn = op.get_bind()
    conn.execute(alert.update().where(alert.c.state == 'resolved').values(told='resolved'))
    conn.execute(alert.update().where(alert.c.state != 'resolved').values(told='open'))


def downgrade() -> None:
    with op.batch_alter_table('silence', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('source')
        batch_op.drop_column('every_seconds')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('escalated_to')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('told')
    op.drop_index('ix_deadletter_receiver', table_name='deadletter')
    op.drop_table('deadletter')
    op.drop_table('receivercursor')
    op.drop_index('ix_outboxevent_at', table_name='outboxevent')
    op.drop_table('outboxevent')
