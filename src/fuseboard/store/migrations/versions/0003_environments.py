"""environments: rollouts, hooks, sign-offs, optimistic concurrency, the audit hash chain

Revision ID: 0003_environments
Revises: 0002_monitoring
Create Date: 2026-11-29 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_environments'
down_revision = '0002_monitoring'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('environment_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_version_id', sa.Integer(), nullable=True),
    sa.Column('to_version_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('hook', sa.String(), nullable=False),
    sa.Column('hook_status', sa.String(), nullable=False),
    sa.Column('hook_output', sa.String(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('converged_at', sa.DateTime(), nullable=True),
    sa.Column('known_good_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['environment_id'], ['environment.id'], ),
    sa.ForeignKeyConstraint(['from_version_id'], ['modelversion.id'], ),
    sa.ForeignKeyConstraint(['model_id'], ['model.id'], ),
    sa.ForeignKeyConstraint(['to_version_id'], ['modelversion.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_rollout_deployment', 'rollout', ['model_id', 'environment_id', 'requested_at'], unique=False)
    op.create_table('signoff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('signed_by', sa.String(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['modelversion.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version_id', 'side')
    )
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), server_default='', nullable=False))
    _chain_existing_events()
    op.create_index('uq_auditevent_prev_hash', 'auditevent', ['prev_hash'], unique=True)

    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('pending_rollout_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_deployment_pending_rollout', 'rollout', ['pending_rollout_id'], ['id'])

    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('soak_seconds', sa.Integer(), server_default='3600', nullable=False))
        batch_op.add_column(sa.Column('converge_seconds', sa.Integer(), server_default='120', nullable=False))
        batch_op.add_column(sa.Column('hook', sa.JSON(), server_default='{}', nullable=False))
    # what already serves becomes each deployment's first rollout
    op.execute("INSERT INTO rollout (model_id, environment_id, action, from_version_id, to_version_id, state, "
               "requested_by, requested_at, reason, hook, hook_status, hook_output, finished_at) "
               "SELECT model_id, environment_id, 'deploy', NULL, version_id, 'succeeded', deployed_by, deployed_at, "
               "'', '', 'recorded before rollouts were tracked', '', deployed_at FROM deployment")


def _chain_existing_events() -> None:
    """Chain the events written before the chain existed, oldest first (the store's frozen hash)."""
    from fuseboard.store.audit import GENESIS, event_hash

    conn = op.get_bind()
    events = sa.table('auditevent', sa.column('id', sa.Integer), sa.column('at', sa.DateTime),
                      sa.column('actor', sa.String), sa.column('origin', sa.String), sa.column('client', sa.String),
                      sa.column('action', sa.String), sa.column('target', sa.String),
                      sa.column('before', sa.JSON), sa.column('after', sa.JSON), sa.column('reason', sa.String),
                      sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    prev = GENESIS
    for row in conn.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        digest = event_hash(prev, at=row['at'], actor=row['actor'], origin=row['origin'], client=row['client'],
                            action=row['action'], target=row['target'], before=row['before'], after=row['after'],
                            reason=row['reason'])
        conn.execute(events.update().where(events.c.id == row['id']).values(prev_hash=prev, hash=digest))
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.drop_column('hook')
        batch_op.drop_column('converge_seconds')
        batch_op.drop_column('soak_seconds')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_deployment_pending_rollout', type_='foreignkey')
        batch_op.drop_column('pending_rollout_id')
        batch_op.drop_column('revision')
    op.drop_index('uq_auditevent_prev_hash', table_name='auditevent')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('client')
    op.drop_table('signoff')
    op.drop_index('ix_rollout_deployment', table_name='rollout')
    op.drop_table('rollout')
