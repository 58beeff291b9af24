"""Flask extensions, created unbound here and bound in `create_app()`."""

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
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


migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item)
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
compress = Compress()
