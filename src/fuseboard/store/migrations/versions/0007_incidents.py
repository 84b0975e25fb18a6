"""incidents: rolled-back-from rollouts lose their known-good mark; flapping alerts reopen and count

Revision ID: 0007_incidents
Revises: 0006_access_and_zones
Create Date: 2026-12-02 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_incidents'
down_revision = '0006_access_and_zones'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rollout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(), server_default='', nullable=False))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flaps', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reopened_at', sa.DateTime(), nullable=True))
    # a version already rolled back from loses its known-good mark (the rule from now on): every earlier
    # rollout of the version a succeeded rollback left, in the same environment
    rollout = sa.table('rollout', sa.column('id', sa.Integer()), sa.column('model_id', sa.Integer()),
                       sa.column('environment_id', sa.Integer()), sa.column('action', sa.String()),
                       sa.column('state', sa.String()), sa.column('from_version_id', sa.Integer()),
                       sa.column('to_version_id', sa.Integer()), sa.column('finished_at', sa.DateTime()),
                       sa.column('revoked_at', sa.DateTime()), sa.column('revoked_reason', sa.String()))
    conn = op.get_bind()
    backs = conn.execute(sa.select(rollout.c.model_id, rollout.c.environment_id, rollout.c.from_version_id,
                                   rollout.c.finished_at, rollout.c.id)
                         .where(rollout.c.action == 'rollback', rollout.c.state == 'succeeded',
                                rollout.c.from_version_id.is_not(None))
                         .order_by(rollout.c.finished_at)).all()
    for model_id, env_id, version_id, finished, back_id in backs:
        conn.execute(rollout.update().where(
            rollout.c.model_id == model_id, rollout.c.environment_id == env_id,
            rollout.c.to_version_id == version_id, rollout.c.id < back_id,
            rollout.c.revoked_at.is_(None)).values(revoked_at=finished, revoked_reason='rolled back from'))


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('reopened_at')
        batch_op.drop_column('flaps')
    with op.batch_alter_table('rollout', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_at')
