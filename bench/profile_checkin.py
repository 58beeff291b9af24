"""Where the time of one check-in goes, in-process (no HTTP server, no load).

    cd /work/main && bash scripts/with-postgres.sh .venv/bin/python bench/profile_checkin.py

Builds the same app gunicorn serves in the benchmark (`bench.wsgi:app`: the real app, the
limiter on, the per-address ceiling raised) on a freshly migrated SQLite file (and on
PostgreSQL when EVENTMATE_TEST_POSTGRES_URL is set; its public schema is dropped and rebuilt),
makes the demo event, then as a new device each time: GET the form, POST it, follow the
redirect. It prints

* the SQL each of the three requests sends (every statement, plus pool pre-ping round trips
  and commits), for one check-in;
* the mean in-process time of each request against the bare route;
* a cProfile summary of the POST (and a breakdown by area for all three requests).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import importlib
import logging
import os
import pstats
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"Accept-Encoding": "gzip, deflate, br", "Accept": "text/html,*/*;q=0.8"}
TOKEN_RE = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')
LINK_RE = re.compile(r"(/c/[A-Za-z0-9]+/[A-Za-z0-9]+)")

#: Areas of a request, by the function whose inclusive time stands for them.
AREAS = [
    ("SQL: all queries (ORM + driver + DB)", ("sqlalchemy/orm/session.py", "_execute_internal")),
    ("SQL: ORM flush (INSERT)", ("sqlalchemy/orm/session.py", "flush")),
    ("SQL: COMMIT", ("sqlalchemy/engine/base.py", "_commit_impl")),
    ("SQL: pool checkout (+ pre-ping)", ("sqlalchemy/pool/base.py", "_checkout")),
    ("SQL: attribute refresh after commit", ("sqlalchemy/orm/loading.py", "load_scalar_attributes")),
    ("Jinja render_template", ("flask/templating.py", "render_template")),
    ("Flask-Compress (after_request)", ("flask_compress/flask_compress.py", "after_request")),
    ("Flask-Limiter check", ("flask_limiter/_extension.py", "_check_request_limit")),
    ("CSRF protect (POST check)", ("flask_wtf/csrf.py", "protect")),
    ("session cookie save", ("flask/sessions.py", "save_session")),
    ("device cookie (itsdangerous)", ("eventmate/web/device.py", "remember")),
    ("random_code (secrets.choice x16)", ("eventmate/tokens.py", "random_code")),
    ("logging 'checked in' line", ("logging/__init__.py", "info")),
]


def make_app(url: str):
    os.environ["EVENTMATE_DATABASE_URL"] = url
    os.environ.setdefault("EVENTMATE_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("EVENTMATE_CHECKIN_ADDRESS_RATE_LIMIT", "1000000 per minute")
    sys.path.insert(0, str(ROOT))
    sys.modules.pop("bench.wsgi", None)  # a fresh app per database
    wsgi = importlib.import_module("bench.wsgi")  # the exact app gunicorn serves

    return wsgi.app, wsgi.BARE_PATH


def quiet_logs() -> None:
    """Keep the app's "checked in" log line (its cost is real) but out of this report.
    (Alembic's fileConfig adds a root handler when migrating in-process; silence it too.)"""
    for logger in (logging.getLogger(), logging.getLogger("eventmate.actions")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives with us


def prepare(app, postgres: bool) -> str:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from eventmate.extensions import db

    with app.app_context():
        if postgres:
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    out = app.test_cli_runner().invoke(args=["demo"]).output
    return LINK_RE.search(out).group(1)


def body(response) -> str:
    data = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        import brotli

        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    return data.decode()


class SQLLog:
    """Every statement the engine sends, pre-pings, commits and rollbacks."""

    def __init__(self, engine):
        import sqlalchemy as sa

        self.entries: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._execute)
        sa.event.listen(engine, "commit", lambda conn: self.entries.append("COMMIT"))
        sa.event.listen(engine, "rollback", lambda conn: self.entries.append("ROLLBACK"))
        sa.event.listen(engine.pool, "checkout", self._checkout)
        self.pre_ping = engine.pool._pre_ping

    def _execute(self, conn, cursor, statement, params, context, executemany):
        self.entries.append(" ".join(statement.split())[:110])

    def _checkout(self, dbapi_connection, record, proxy):
        self.entries.append("(pool checkout" + (": pre-ping SELECT 1)" if self.pre_ping else ")"))

    def take(self) -> list[str]:
        entries, self.entries = self.entries, []
        return entries


def check_in(client, path: str, n: int, profile: dict | None = None) -> tuple:
    """One new device's check-in; returns the three responses' times in seconds."""
    def timed(name, call):
        prof = profile.get(name) if profile else None
        start = time.perf_counter()
        if prof:
            prof.enable()
        response = call()
        if prof:
            prof.disable()
        return response, time.perf_counter() - start

    form, t_get = timed("get", lambda: client.get(path, headers=HEADERS))
    assert form.status_code == 200, form.status_code
    tokens = dict(TOKEN_RE.findall(body(form)))
    data = {**tokens, "name": f"Profile Person {n}", "what_i_do": "Runs a small design studio",
            "how_i_help": "Happy to give feedback on your brand or website",
            "looking_for": "A head of marketing at a hotel group", "email": "", "contact": ""}
    posted, t_post = timed("post", lambda: client.post(path, data=data, headers=HEADERS))
    assert posted.status_code == 302, posted.status_code
    location = posted.headers["Location"]
    home, t_home = timed("home", lambda: client.get(location, headers=HEADERS))
    assert home.status_code == 200 and "You're in" in body(home), home.status_code
    return t_get, t_post, t_home


def area_breakdown(prof: cProfile.Profile, calls: int) -> list[tuple[str, float]]:
    stats = pstats.Stats(prof).stats
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values())
    rows = [("total (profiled)", total / calls * 1000)]
    for label, (file_part, func) in AREAS:
        ct = sum(v[3] for (file, _line, name), v in stats.items()
                 if name == func and file.endswith(file_part))
        rows.append((label, ct / calls * 1000))
    return rows


def run(url: str, postgres: bool, iterations: int, top: int) -> None:
    app, bare_path = make_app(url)
    path = prepare(app, postgres)
    quiet_logs()
    from eventmate.extensions import db

    with app.app_context():
        engine = db.engine
    log = SQLLog(engine)
    name = "PostgreSQL" if postgres else "SQLite (WAL)"
    print(f"\n=== {name} ===")

    for n in range(20):  # warm up: templates compiled, connections open
        check_in(app.test_client(), path, n)
        app.test_client().get(bare_path)
    log.take()

    # One check-in, statement by statement.
    client = app.test_client()
    counts = {}
    statements = {}
    form = client.get(path, headers=HEADERS)
    statements["GET form"] = log.take()
    tokens = dict(TOKEN_RE.findall(body(form)))
    posted = client.post(path, headers=HEADERS, data={
        **tokens, "name": "Counted Person", "what_i_do": "x", "how_i_help": "y",
        "looking_for": "z"})
    statements["POST"] = log.take()
    client.get(posted.headers["Location"], headers=HEADERS)
    statements["GET welcome"] = log.take()
    client.get(bare_path)
    statements["bare route"] = log.take()
    print("SQL per request of one check-in (pool checkouts are round trips too when "
          "pre-ping is on):")
    for request_name, entries in statements.items():
        sql = [e for e in entries if not e.startswith("(")]
        counts[request_name] = len(sql)
        pings = len(entries) - len(sql)
        print(f"  {request_name}: {len(sql)} statement(s) + {pings} pool checkout(s)")
        for entry in entries:
            print(f"      {entry}")
    print(f"  total for one check-in: {sum(v for k, v in counts.items() if k != 'bare route')} "
          "statements")

    # Mean in-process times, no profiler.
    times = []
    bare = []
    for n in range(iterations):
        times.append(check_in(app.test_client(), path, 1000 + n))
        start = time.perf_counter()
        app.test_client().get(bare_path)
        bare.append(time.perf_counter() - start)
    mean = [sum(col) / len(col) * 1000 for col in zip(*times, strict=True)]
    bare_ms = sum(bare) / len(bare) * 1000
    print(f"\nMean in-process time over {iterations} check-ins (one thread, no contention):")
    for label, value in zip(("GET form", "POST", "GET welcome"), mean, strict=True):
        print(f"  {label:12} {value:6.2f} ms  ({value / bare_ms:4.1f}x the bare route)")
    print(f"  {'bare route':12} {bare_ms:6.2f} ms")
    flow = sum(mean)
    print(f"  whole check-in {flow:6.2f} ms -> CPU-bound ceiling ratio ~ bare/check-in = "
          f"{bare_ms / flow:.3f} (HTTP and connection costs not included)")

    # cProfile per request kind.
    profiles = {k: cProfile.Profile() for k in ("get", "post", "home")}
    for n in range(iterations):
        check_in(app.test_client(), path, 5000 + n, profiles)
    print(f"\nBreakdown by area, ms per request (cProfile, inclusive; areas overlap, "
          f"profiler overhead inflates totals), {iterations} check-ins:")
    tables = {k: dict(area_breakdown(p, iterations)) for k, p in profiles.items()}
    print(f"  {'area':40} {'GET form':>9} {'POST':>9} {'welcome':>9}")
    for label in tables["post"]:
        print(f"  {label:40} " + " ".join(f"{tables[k][label]:9.2f}"
                                           for k in ("get", "post", "home")))
    print_top(profiles["post"], iterations, top, "the POST", "POST")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def print_top(profile: cProfile.Profile, iterations: int, top: int, what: str, unit: str) -> None:
    """The `top` functions of a profile by cumulative and by own time, per request."""
    stats = pstats.Stats(profile)
    rows = sorted(((ct, tt, nc, f"{short(file)}:{line}({func})")
                   for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items()),
                  reverse=True)
    print(f"\nTop {top} functions of {what} by cumulative time:")
    print(f"  {'cum ms/' + unit:>11} {'own ms/' + unit:>11} {'calls/' + unit:>10}  function")
    for ct, tt, nc, where in rows[:top]:
        print(f"  {ct / iterations * 1000:11.3f} {tt / iterations * 1000:11.3f} "
              f"{nc / iterations:10.1f}  {where}")
    own = Counter()
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        own[f"{short(file)}({func})"] += tt
    print(f"\nTop {top} of {what} by own time:")
    for where, tt in own.most_common(top):
        print(f"  {tt / iterations * 1000:8.3f} ms  {where}")


def short(file: str) -> str:
    for marker in ("site-packages/", "lib/python3", str(ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="eventmate-profile-") as tmp:
            run(f"sqlite:///{tmp}/profile.sqlite3", False, args.iterations, args.top)
    if args.database in ("postgresql", "both"):
        url = os.environ.get("EVENTMATE_TEST_POSTGRES_URL")
        if not url:
            print("\nPostgreSQL SKIPPED: EVENTMATE_TEST_POSTGRES_URL is not set "
                  "(run through scripts/with-postgres.sh).")
        else:
            run(url, True, args.iterations, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
