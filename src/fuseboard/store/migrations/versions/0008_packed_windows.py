"""packed windows: window profiles stored as compact binary (store/window_codec.py) instead of JSON

Every stored window is converted, a thousand at a time, inside the upgrade's one transaction: the
profiles read back exactly as they were (integers exact, floats bit for bit). Downgrade converts back.

The codec is imported from the package: its blobs say which format they are (b"FBW1", b"FBJ1"), and
a later codec must keep reading and writing these.

Revision ID: 0008_packed_windows
Revises: 0007_incidents
Create Date: 2026-12-03 (frozen: edit never, add a new revision instead)
"""
from alembic import op
import sqlalchemy as sa

from fuseboard.store.window_codec import decode, encode


revision = '0008_packed_windows'
down_revision = '0007_incidents'
branch_labels = None
depends_on = None

COLUMNS = ('features', 'predictions', 'performance')
BATCH = 1000


def _table() -> sa.Table:
    return sa.table('windowprofile', sa.column('id', sa.Integer()),
                    *(sa.column(c, sa.JSON()) for c in COLUMNS),
                    *(sa.column(f'{c}_packed', sa.LargeBinary()) for c in COLUMNS))


def _convert(source: tuple[str, ...], target: tuple[str, ...], change) -> None:
    conn = op.get_bind()
    t = _table()
    last = 0
    while True:
        rows = conn.execute(sa.select(t.c.id, *(t.c[c] for c in source)).where(t.c.id > last)
                            .order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return
        conn.execute(t.update().where(t.c.id == sa.bindparam('row_id')).values(
            {c: sa.bindparam(f'v_{c}') for c in target}),
            [{'row_id': r[0], **{f'v_{c}': change(v) for c, v in zip(target, r[1:])}} for r in rows])
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table('windowprofile', schema=None) as batch_op:
        for c in COLUMNS:
            batch_op.add_column(sa.Column(f'{c}_packed', sa.LargeBinary(), nullable=True))
    _convert(COLUMNS, tuple(f'{c}_packed' for c in COLUMNS), lambda v: encode(v if v is not None else {}))
    with op.batch_alter_table('windowprofile', schema=None) as batch_op:
        for c in COLUMNS:
            batch_op.drop_column(c)
            batch_op.alter_column(f'{c}_packed', existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('windowprofile', schema=None) as batch_op:
        for c in COLUMNS:
            batch_op.add_column(sa.Column(c, sa.JSON(), nullable=True))
    _convert(tuple(f'{c}_packed' for c in COLUMNS), COLUMNS, lambda v: decode(v) if v is not None else {})
    with op.batch_alter_table('windowprofile', schema=None) as batch_op:
        for c in COLUMNS:
            batch_op.drop_column(f'{c}_packed')
            batch_op.alter_column(c, existing_type=sa.JSON(), nullable=False)
