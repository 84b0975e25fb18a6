"""handover evidence: every piece of evidence given for a checklist item, by whom and when; who rejected a handover

Existing evidence moves into the history: each change the audit trail recorded for the item
(`handover.evidence`, `handover.tick`) with its actor and time, then the evidence held now if the
trail does not end with it (given by whoever ticked it, else whoever started the handover). A
rejected handover gets its rejecter from the audit trail's latest `handover.reject`.

Revision ID: 0012_handover_evidence
Revises: 0011_shard_runs
Create Date: 2026-12-03 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_handover_evidence'
down_revision = '0011_shard_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'handoverevidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handover_id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=64), nullable=False),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('given_by', sa.String(), nullable=False),
        sa.Column('given_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['handover_id'], ['handover.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('handoverevidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoverevidence_handover_id'), ['handover_id'], unique=False)
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejected_by', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('rejected_at', sa.DateTime(), nullable=True))
    _move_evidence_into_history()


def _move_evidence_into_history() -> None:
    conn = op.get_bind()
    handover = sa.table('handover', sa.column('id', sa.Integer), sa.column('model_id', sa.Integer),
                        sa.column('state', sa.String), sa.column('created_by', sa.String),
                        sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime),
                        sa.column('rejected_by', sa.String), sa.column('rejected_at', sa.DateTime))
    item = sa.table('handoveritem', sa.column('handover_id', sa.Integer), sa.column('key', sa.String),
                    sa.column('verify', sa.String), sa.column('evidence', sa.String),
                    sa.column('checked_by', sa.String), sa.column('checked_at', sa.DateTime),
                    sa.column('position', sa.Integer))
    model = sa.table('model', sa.column('id', sa.Integer), sa.column('name', sa.String))
    audit = sa.table('auditevent', sa.column('id', sa.Integer), sa.column('at', sa.DateTime),
                     sa.column('actor', sa.String), sa.column('action', sa.String), sa.column('target', sa.String),
                     sa.column('after', sa.JSON))
    evidence = sa.table('handoverevidence', sa.column('handover_id', sa.Integer), sa.column('item_key', sa.String),
                        sa.column('text', sa.String), sa.column('given_by', sa.String),
                        sa.column('given_at', sa.DateTime))
    names = {r.id: r.name for r in conn.execute(sa.select(model.c.id, model.c.name))}
    for h in conn.execute(sa.select(handover).order_by(handover.c.id)).all():
        target = names.get(h.model_id)
        trail = conn.execute(sa.select(audit.c.at, audit.c.actor, audit.c.action, audit.c.after)
                             .where(audit.c.target == target, audit.c.at >= h.created_at,
                                    audit.c.action.in_(('handover.evidence', 'handover.tick', 'handover.reject')))
                             .order_by(audit.c.id)).all()
        rows = []
        for it in conn.execute(sa.select(item).where(item.c.handover_id == h.id, item.c.verify == '')
                               .order_by(item.c.position)).all():
            given = []
            for e in trail:
                after = e.after if isinstance(e.after, dict) else {}
                text = after.get('evidence')
                if e.action == 'handover.reject' or after.get('item') != it.key or not isinstance(text, str):
                    continue
                if text and (not given or given[-1]['text'] != text):
                    given.append({'text': text, 'given_by': e.actor, 'given_at': e.at})
            if it.evidence and (not given or given[-1]['text'] != it.evidence):
                given.append({'text': it.evidence, 'given_by': it.checked_by or h.created_by,
                              'given_at': it.checked_at or h.updated_at})
            rows += [{'handover_id': h.id, 'item_key': it.key, **g} for g in given]
        if rows:
            conn.execute(evidence.insert(), rows)
        rejections = [e for e in trail if e.action == 'handover.reject']
        if h.state == 'rejected' and rejections:
            conn.execute(handover.update().where(handover.c.id == h.id)
                         .values(rejected_by=rejections[-1].actor, rejected_at=rejections[-1].at))


def downgrade() -> None:
    with op.batch_alter_table('handoverevidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoverevidence_handover_id'))
    op.drop_table('handoverevidence')
    for column in ('rejected_at', 'rejected_by'):
        if op.get_bind().dialect.name == 'sqlite':  # in place (SQLite 3.35+): a copied table would break the keys
            op.execute(f'ALTER TABLE handover DROP COLUMN {column}')
        else:
            op.drop_column('handover', column)
