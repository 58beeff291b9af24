"""search folded, who's here and foreign-key indexes

Existing rows: every attendee keeps its row; only `search_text` is recomputed, with the fold
the app now uses (NFKD, combining marks dropped, casefold, ø/ł/æ/ß... spelled out, NFKC),
so "Zoë" is found by "zoe" on both databases. `search_text` becomes TEXT (folding can
lengthen it past the old 800 characters). New indexes, none of which changes data: the
partial index of present attendees in who's-here order, and one on each foreign key that
had none (pick.event_id, note.event_id, invitation.created_by_id and used_by_id,
follow_up.subject_id, mute.muted_id), so deletes no longer cascade by whole-table scans.

PostgreSQL only: the trigram index on `search_text` for LIKE '%word%'. It needs the pg_trgm
extension, which is "trusted" (PostgreSQL 13+): the database's owner may create it without
being a superuser. Where it is not installed and cannot be created (no contrib package, or
a role without CREATE on the database) the index is skipped with a warning: search still
works, by scanning the event's present rows.

Downgrade: drops the indexes (the extension stays: something else may use it) and cuts
`search_text` back to 800 characters; its fold stays until the next check-in rewrites it.

Revision ID: 9b3289a52a26
Revises: a3a411f3d471
Create Date: 2026-12-01 21:11:17.465013

"""
import logging
import unicodedata

from alembic import op
import sqlalchemy as sa

log = logging.getLogger("alembic.runtime.migration")


# revision identifiers, used by Alembic.
revision = '9b3289a52a26'
down_revision = 'a3a411f3d471'
branch_labels = None
depends_on = None


# The fold as it was when this migration was written (a migration never imports app code:
# eventmate.models.fold may change later; tests/test_search_folding.py checks they agree now).
_UNDECOMPOSED = str.maketrans({
    "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ħ": "h",
    "ı": "i", "ŀ": "l", "ŧ": "t", "ĸ": "k", "ŋ": "n", "ʼ": "'", "’": "'",
})
SEARCH_TEXT_MAX_BYTES = 2600


def fold(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", bare.casefold().translate(_UNDECOMPOSED))


def search_text(*parts):
    folded = fold(" ".join(p for p in parts if p))
    return folded.encode()[:SEARCH_TEXT_MAX_BYTES].decode(errors="ignore")


def _refold_search_text():
    """Every row's search_text again, from its name and one-liners (a scrubbed tombstone's
    fields are empty, so it stays empty)."""
    attendee = sa.table('attendee', sa.column('id', sa.Integer), sa.column('name', sa.String),
                        sa.column('what_i_do', sa.String), sa.column('how_i_help', sa.String),
                        sa.column('looking_for', sa.String), sa.column('search_text', sa.Text),
                        sa.column('deleted_at', sa.DateTime))
    conn = op.get_bind()
    rows = conn.execute(sa.select(attendee.c.id, attendee.c.name, attendee.c.what_i_do,
                                  attendee.c.how_i_help, attendee.c.looking_for,
                                  attendee.c.deleted_at)).all()
    update = (attendee.update().where(attendee.c.id == sa.bindparam('row_id'))
              .values(search_text=sa.bindparam('folded')))
    values = [{'row_id': row[0], 'folded': '' if row[5] is not None else search_text(*row[1:5])}
              for row in rows]
    for start in range(0, len(values), 1000):
        conn.execute(update, values[start:start + 1000])


def _trigram_index():
    """PostgreSQL: pg_trgm (created when missing, if this role may) and the GIN index."""
    conn = op.get_bind()
    installed = conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").scalar()
    if not installed:
        may = conn.exec_driver_sql(
            "SELECT (v.trusted OR r.rolsuper) AND has_database_privilege(current_database(), 'CREATE') "
            "FROM pg_available_extension_versions v, pg_roles r "
            "WHERE v.name = 'pg_trgm' AND v.version = "
            "(SELECT default_version FROM pg_available_extensions WHERE name = 'pg_trgm') "
            "AND r.rolname = current_user").scalar()
        if not may:
            log.warning("pg_trgm is not available to this role: search works without its "
                        "trigram index (ix_attendee_search_trgm not created)")
            return
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index('ix_attendee_search_trgm', 'attendee', ['search_text'], unique=False,
                    postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})


def upgrade():
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.alter_column('search_text',
               existing_type=sa.VARCHAR(length=800),
               type_=sa.Text(),
               existing_nullable=False,
               existing_server_default="")
    _refold_search_text()
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.create_index('ix_attendee_here', ['event_id', 'search_text', 'id'], unique=False, sqlite_where=sa.text('checked_in_at IS NOT NULL AND left_at IS NULL'), postgresql_where=sa.text('checked_in_at IS NOT NULL AND left_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_attendee_checked_in_by_id'), ['checked_in_by_id'], unique=False)

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index('ix_follow_up_subject_id', ['subject_id'], unique=False)

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_used_by_id'), ['used_by_id'], unique=False)

    with op.batch_alter_table('mute', schema=None) as batch_op:
        batch_op.create_index('ix_mute_muted_id', ['muted_id'], unique=False)

    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_event_id'), ['event_id'], unique=False)

    with op.batch_alter_table('pick', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pick_event_id'), ['event_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        _trigram_index()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_attendee_search_trgm")
    with op.batch_alter_table('pick', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pick_event_id'))

    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_event_id'))

    with op.batch_alter_table('mute', schema=None) as batch_op:
        batch_op.drop_index('ix_mute_muted_id')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_used_by_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_created_by_id'))

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_subject_id')

    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendee_checked_in_by_id'))
        batch_op.drop_index('ix_attendee_here', sqlite_where=sa.text('checked_in_at IS NOT NULL AND left_at IS NULL'), postgresql_where=sa.text('checked_in_at IS NOT NULL AND left_at IS NULL'))
    # Every row kept: text past the old width is cut, not refused.
    op.execute("UPDATE attendee SET search_text = substr(search_text, 1, 800) WHERE length(search_text) > 800")
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.alter_column('search_text',
               existing_type=sa.Text(),
               type_=sa.VARCHAR(length=800),
               existing_nullable=False,
               existing_server_default="")
