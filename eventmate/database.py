"""Database tuning that must hold on every connection."""

from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.engine import Engine


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
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        reading = has_request_context() and request.method in ("GET", "HEAD")
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def ping(session) -> None:
    session.execute(sa.text("SELECT 1"))
