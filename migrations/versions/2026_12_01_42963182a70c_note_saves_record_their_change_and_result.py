"""note saves record their change and result

Two nullable columns on `note_save`: `change_hash` (SHA-256 of whom the save is about, the
fields it set and the values they were based on) and `result` (what it did, as JSON). Saves
already on the install keep NULL in both: what they sent was never recorded, so a replay of
one of their ids is answered "saved" with the note as it is now (as before), and the id is
still refused for a note about anyone else. No note's text changes.

Revision ID: 42963182a70c
Revises: 84d5b31f3ea1
Create Date: 2026-12-01 23:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '42963182a70c'
down_revision = '84d5b31f3ea1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('note_save', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('result', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('note_save', schema=None) as batch_op:
        batch_op.drop_column('result')
        batch_op.drop_column('change_hash')
