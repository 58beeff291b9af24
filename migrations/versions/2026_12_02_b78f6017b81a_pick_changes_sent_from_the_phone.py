"""pick changes sent from the phone

The new, empty `pick_change` table: each change to an attendee's three (pick, unpick, swap)
that a page sent with its client id, unique per (attendee, client id), with the change's hash
and the answer it got, so the phone's outbox can send it again harmlessly. Touches no
existing row: picks made before it were never sent with a client id, so none has a record
and none needs one. Downgrading drops the table: the records go, every pick stays.

Revision ID: b78f6017b81a
Revises: 42963182a70c
Create Date: 2026-12-02 03:01:02.793259

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b78f6017b81a'
down_revision = '42963182a70c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pick_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('change_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], name=op.f('fk_pick_change_attendee_id_attendee'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pick_change')),
    sa.UniqueConstraint('attendee_id', 'client_id', name='uq_pick_change_attendee_client')
    )


def downgrade():
    op.drop_table('pick_change')
