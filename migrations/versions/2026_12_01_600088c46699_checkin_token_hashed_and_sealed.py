"""check-in form token: only its hash is stored, and the first answer is sealed

Issue 9, item 7. `attendee.checkin_token` held each check-in form's one-time token in
clear; it becomes `checkin_token_hash` (SHA-256 hex, still unique), computed here in Python
by reading and updating every row, because SQLite has no sha256(). A double submit in flight
across the upgrade still finds its attendee by the hash. `checkin_seal` (new, empty for
existing rows) holds a new check-in's return code and device credential encrypted under a
key the database never sees.

Return codes and device credentials are untouched: every device cookie keeps working.
Downgrade keeps every row but cannot turn hashes back into tokens: `checkin_token` comes
back empty.

Revision ID: 600088c46699
Revises: a5480d881135
Create Date: 2026-12-01 19:25:50.426250

"""
import hashlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '600088c46699'
down_revision = 'a5480d881135'
branch_labels = None
depends_on = None

BATCH = 500


def _hash_existing_tokens():
    connection = op.get_bind()
    attendee = sa.table('attendee', sa.column('id', sa.Integer), sa.column('checkin_token', sa.String),
                        sa.column('checkin_token_hash', sa.String))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(attendee.c.id, attendee.c.checkin_token)
            .where(attendee.c.checkin_token.is_not(None), attendee.c.id > last_id)
            .order_by(attendee.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            attendee.update().where(attendee.c.id == sa.bindparam('row_id'))
            .values(checkin_token_hash=sa.bindparam('token_hash')),
            [{'row_id': row_id, 'token_hash': hashlib.sha256(token.encode()).hexdigest()}
             for row_id, token in rows],
        )
        last_id = rows[-1][0]


def upgrade():
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('checkin_seal', sa.String(length=160), nullable=True))

    _hash_existing_tokens()

    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_attendee_checkin_token'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_attendee_checkin_token_hash'), ['checkin_token_hash'])
        batch_op.drop_column('checkin_token')


def downgrade():
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_token', sa.VARCHAR(length=43), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_attendee_checkin_token_hash'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_attendee_checkin_token'), ['checkin_token'])
        batch_op.drop_column('checkin_seal')
        batch_op.drop_column('checkin_token_hash')
