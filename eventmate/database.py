"""Database tuning that must hold on every connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.engine import Connection, Engine


def tune_engine(engine: Engine) -> None:
    """SQLite: WAL, a busy timeout and foreign keys on every connection.

    Transactions that may write take the write lock up front (BEGIN IMMEDIATE): a deferred
    transaction that reads and then writes fails at once with SQLITE_BUSY when another
    writer got in between, busy timeout or not. Page views (GET/HEAD) only read, and begin
    deferred so readers never queue behind writers.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")  # migrations turn them off: foreign_keys_off()
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        reading = has_request_context() and request.method in ("GET", "HEAD")
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


@contextmanager
def foreign_keys_off(connection: Connection) -> Iterator[Connection]:
    """SQLite: run the block with foreign keys off, in one transaction checked before commit.

    Why: batch migrations rebuild a table by copying it and dropping the old one. With foreign
    keys on, that DROP cascades (ON DELETE CASCADE) and silently deletes every row that
    references the table: widening `event.venue` would delete every attendee, pick and note.
    SQLite's own recipe for schema changes is: foreign keys off, change, `PRAGMA
    foreign_key_check`, foreign keys on. Any violation raises, listing the rows, and rolls the
    whole block back. Other databases check foreign keys on every statement: the block runs
    as given.
    """
    if connection.dialect.name != "sqlite":
        yield connection
        return
    if connection.in_transaction():
        raise RuntimeError("foreign_keys_off() needs a connection outside any transaction: "
                           "PRAGMA foreign_keys is a no-op inside one")
    # On the driver's connection (isolation_level None: no implicit BEGIN): a SQLAlchemy
    # statement would first begin a transaction (BEGIN IMMEDIATE), making the pragma a no-op.
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            yield connection
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                rows = "; ".join(f"{table} rowid {rowid} -> {parent}" for table, rowid, parent, _ in broken)
                raise RuntimeError(f"foreign keys broken, rolled back: {rows}")
    finally:
        if not connection.invalidated:
            raw.execute("PRAGMA foreign_keys=ON")
            if raw.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
                # Still inside a transaction somehow: never pool a connection without them.
                connection.invalidate()


def ping(session) -> None:
    session.execute(sa.text("SELECT 1"))
