"""Flask extensions, created unbound here and bound in `create_app()`."""

import time

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep migrations reproducible on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects keep their loaded values after commit: views read ids and slugs right after a
# service commits, and re-reading them would cost a new transaction (on SQLite, a second
# write lock) for nothing.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def _render_item(type_, obj, autogen_context):
    """Write our column types into migrations as plain SQLAlchemy types, so a migration
    never imports application code."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def _include_object(obj, _name, type_, _reflected, _compare_to) -> bool:
    """Autogenerate (and `db check`) leave alone what exists on one database only: an index
    marked `info={"only_dialect": ...}` (and created `ddl_if` that dialect) is compared
    there, and nowhere else."""
    only = getattr(obj, "info", {}).get("only_dialect") if type_ == "index" else None
    if only is None:
        return True
    from alembic import context

    return context.get_context().dialect.name == only


migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item,
                  include_object=_include_object)


class SweptMemoryStorage(MemoryStorage):
    """`memory://` without a thread per hit: rate-limit counters in this process, expired
    in passing.

    limits' MemoryStorage starts a new `threading.Timer` (a thread) on every hit that comes
    more than 10 ms after the last one, only to drop expired keys; under load that cost
    0.1-0.4 ms a hit. Counters don't need it (each read checks its own expiry); this one
    sweeps expired keys inline, at most once every SWEEP_SECONDS, which only bounds memory.
    Per process, like `memory://`: what the README says about several workers still holds.
    """

    STORAGE_SCHEME = ["eventmate-memory"]
    SWEEP_SECONDS = 10.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the base's timer thread
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


csrf = CSRFProtect()
login_manager = LoginManager()
# Flask-Login's "basic" protection only marks a session not fresh when the address or browser
# changes, and nothing here asks for a fresh log-in (sessions are revoked by their version,
# organiser.py). It also wrote `_fresh` into every visitor's session on their second page, so
# a phone re-saved its session cookie for nothing: off.
login_manager.session_protection = None
limiter = Limiter(key_func=get_remote_address, default_limits=[])
compress = Compress()
