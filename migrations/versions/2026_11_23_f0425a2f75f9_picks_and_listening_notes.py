"""picks and listening notes

Revision ID: f0425a2f75f9
Revises: 31b2f29a09b8
Create Date: 2026-11-23 10:11:33.900846

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0425a2f75f9'
down_revision = '31b2f29a09b8'
branch_labels = None
depends_on = None


def upgrade():
    # First, so picks and notes can reference (attendee, event) pairs.
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.String(length=800), nullable=False, server_default=''))
        batch_op.create_unique_constraint('uq_attendee_id_event', ['id', 'event_id'])
    _fill_search_text()

    op.create_table('note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('working_on', sa.Text(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('offer', sa.Text(), nullable=False),
    sa.Column('personal', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('author_id <> subject_id', name=op.f('ck_note_not_self')),
    sa.ForeignKeyConstraint(['author_id', 'event_id'], ['attendee.id', 'attendee.event_id'], name='fk_note_author_same_event', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_note_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id', 'event_id'], ['attendee.id', 'attendee.event_id'], name='fk_note_subject_same_event', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note')),
    sa.UniqueConstraint('author_id', 'subject_id', name='uq_note_author_subject')
    )
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.create_index('ix_note_subject_id', ['subject_id'], unique=False)

    op.create_table('pick',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('picker_id', sa.Integer(), nullable=False),
    sa.Column('picked_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('picker_id <> picked_id', name=op.f('ck_pick_not_self')),
    sa.CheckConstraint('slot >= 0 AND slot <= 2', name=op.f('ck_pick_slot_range')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_pick_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['picked_id', 'event_id'], ['attendee.id', 'attendee.event_id'], name='fk_pick_picked_same_event', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['picker_id', 'event_id'], ['attendee.id', 'attendee.event_id'], name='fk_pick_picker_same_event', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pick')),
    sa.UniqueConstraint('picker_id', 'picked_id', name='uq_pick_picker_picked'),
    sa.UniqueConstraint('picker_id', 'slot', name='uq_pick_picker_slot')
    )
    with op.batch_alter_table('pick', schema=None) as batch_op:
        batch_op.create_index('ix_pick_picked_id', ['picked_id'], unique=False)

    op.create_table('note_save',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['note.id'], name=op.f('fk_note_save_note_id_note'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_save')),
    sa.UniqueConstraint('client_id', name=op.f('uq_note_save_client_id'))
    )
    with op.batch_alter_table('note_save', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_save_note_id'), ['note_id'], unique=False)



def _fill_search_text():
    """Casefold in Python, as the app does: SQLite's lower() folds ASCII only."""
    attendee = sa.table('attendee', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('what_i_do', sa.String), sa.column('how_i_help', sa.String),
                        sa.column('looking_for', sa.String), sa.column('search_text', sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(attendee.c.id, attendee.c.name, attendee.c.what_i_do,
                                  attendee.c.how_i_help, attendee.c.looking_for)).all()
    for row in rows:
        text = " ".join(part for part in row[1:] if part).casefold()
        conn.execute(attendee.update().where(attendee.c.id == row[0]).values(search_text=text))


def downgrade():
    # Tables first: their foreign keys depend on uq_attendee_id_event, and PostgreSQL
    # refuses to drop it while they exist (DependentObjectsStillExist).
    with op.batch_alter_table('note_save', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_save_note_id'))

    op.drop_table('note_save')
    with op.batch_alter_table('pick', schema=None) as batch_op:
        batch_op.drop_index('ix_pick_picked_id')

    op.drop_table('pick')
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index('ix_note_subject_id')

    op.drop_table('note')
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.drop_constraint('uq_attendee_id_event', type_='unique')
        batch_op.drop_column('search_text')
