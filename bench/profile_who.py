"""Where the time of one "who's here" page goes, in-process (no HTTP server, no load).

    cd /work/main && bash scripts/with-postgres.sh .venv/bin/python bench/profile_who.py

Builds the app gunicorn serves in the benchmark (`bench.wsgi:app`) on a freshly migrated SQLite
file (and on PostgreSQL when EVENTMATE_TEST_POSTGRES_URL is set; its public schema is dropped
and rebuilt), seeds the same crowd as the benchmark (bench/seed_people.py: 2,000 people checked
in through the check-in service), checks one reader in through the form, then reads who's here
as that reader: the first page and a search. It prints

* the SQL of each page, with each statement's time (median over the timed runs);
* the mean in-process time of each page against the bare route (Accept-Encoding: gzip,
  deflate, br, as a phone sends);
* a cProfile breakdown by area, and the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profile_checkin import (  # noqa: E402
    HEADERS,
    body,
    check_in,
    make_app,
    prepare,
    print_top,
    quiet_logs,
)

#: Areas of a request, by the functions whose inclusive time stands for them.
AREAS = [
    ("view who() (all of the view)", [("eventmate/web/attendee.py", "who")]),
    ("  _me: event + attendee by device cookie", [("eventmate/web/attendee.py", "_me")]),
    ("  people.search (count + page)", [("eventmate/people.py", "search")]),
    ("  picks.picked_ids", [("eventmate/picks.py", "picked_ids")]),
    ("  Jinja render_template", [("flask/templating.py", "render_template")]),
    ("    csrf_token() calls in the template", [("flask_wtf/csrf.py", "generate_csrf")]),
    ("    url_for() calls", [("flask/app.py", "url_for")]),
    ("SQL: all 5 queries (ORM + driver + DB)", [("sqlalchemy/orm/session.py", "_execute_internal")]),
    ("SQL: driver execute (DB time)", [("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
                                       ("psycopg/cursor.py", "execute")]),
    ("Flask-Compress (after_request)", [("flask_compress/flask_compress.py", "after_request")]),
    ("Flask-Limiter check", [("flask_limiter/_extension.py", "_check_request_limit")]),
    ("session cookie save", [("flask/sessions.py", "save_session")]),
]


class TimedSQL:
    """Each statement the engine sends, with its time (cursor execute to return)."""

    def __init__(self, engine):
        import sqlalchemy as sa

        self.current: list[tuple[str, float]] = []
        self._start = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        self._start = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        self.current.append((" ".join(statement.split()), time.perf_counter() - self._start))

    def take(self) -> list[tuple[str, float]]:
        out, self.current = self.current, []
        return out


def shorten(statement: str) -> str:
    """SELECT <columns> FROM ... -> SELECT ... FROM ..., so a statement fits one line."""
    if statement.startswith("SELECT ") and " FROM " in statement:
        cols, rest = statement[7:].split(" FROM ", 1)
        if "count(" in cols:
            inner = rest.split(" FROM ", 1)
            rest = f"(SELECT ... FROM {inner[1]}" if len(inner) == 2 else rest  # noqa: S608 - display
        else:
            cols = "..."
        statement = f"SELECT {cols} FROM {rest}"  # noqa: S608 - display only
    return statement[:150]


def area_breakdown(prof: cProfile.Profile, calls: int) -> dict[str, float]:
    stats = pstats.Stats(prof).stats
    total = sum(v[2] for v in stats.values())
    rows = {"total (profiled)": total / calls * 1000}
    for label, matchers in AREAS:
        ct = sum(v[3] for (file, _line, name), v in stats.items()
                 if any(name == func and file.endswith(part) for part, func in matchers))
        rows[label] = ct / calls * 1000
    return rows


def run(url: str, postgres: bool, iterations: int, top: int, count: int) -> None:
    app, bare_path = make_app(url)
    prepare(app, postgres)
    quiet_logs()
    from bench.seed_people import seed
    from eventmate.extensions import db

    with app.app_context():
        crowd = seed(count, 2026)
        db.session.remove()
        engine = db.engine
    name = "PostgreSQL" if postgres else "SQLite (WAL)"
    print(f"\n=== {name}: {crowd['checked_in']} checked in at /e/{crowd['slug']}, search "
          f"q={crowd['search_word']!r} matches {crowd['search_matches']} ===")
    reader = app.test_client()
    check_in(reader, crowd["checkin_path"], 0)  # the client keeps session + em_device
    targets = {
        "first page": f"/e/{crowd['slug']}/people",
        "search": f"/e/{crowd['slug']}/people?{urlencode({'q': crowd['search_word']})}",
    }
    for target in targets.values():
        response = reader.get(target, headers=HEADERS)
        assert response.status_code == 200, response.status_code
        assert body(response).count('data-person="') == 25, "not a full who's-here page"
    for _ in range(30):  # warm up
        for target in targets.values():
            reader.get(target, headers=HEADERS)
        reader.get(bare_path)

    sql = TimedSQL(engine)
    timings: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in targets}
    times: dict[str, list[float]] = {k: [] for k in [*targets, "bare route"]}
    for _ in range(iterations):
        for label, target in targets.items():
            sql.take()
            start = time.perf_counter()
            reader.get(target, headers=HEADERS)
            times[label].append(time.perf_counter() - start)
            for statement, seconds in sql.take():
                timings[label][statement].append(seconds)
        start = time.perf_counter()
        reader.get(bare_path)
        times["bare route"].append(time.perf_counter() - start)

    print("SQL per page (median time per statement over the timed runs):")
    for label, statements in timings.items():
        total = sum(statistics.median(v) for v in statements.values())
        print(f"  {label}: {len(statements)} statements, {total * 1000:.2f} ms in the database "
              "driver")
        for statement, values in statements.items():
            print(f"    {statistics.median(values) * 1000:6.3f} ms  {shorten(statement)}")

    bare_ms = statistics.mean(times["bare route"]) * 1000
    print(f"\nMean in-process time over {iterations} requests each (one thread, no contention; "
          f"median in brackets):")
    for label, values in times.items():
        mean = statistics.mean(values) * 1000
        print(f"  {label:12} {mean:6.2f} ms ({statistics.median(values) * 1000:5.2f})  "
              f"{mean / bare_ms:5.1f}x the bare route -> ceiling ratio ~ {bare_ms / mean:.3f}")

    profiles = {k: cProfile.Profile() for k in targets}
    for _ in range(iterations):
        for label, target in targets.items():
            profiles[label].enable()
            reader.get(target, headers=HEADERS)
            profiles[label].disable()
    print(f"\nBreakdown by area, ms per page (cProfile, inclusive; areas overlap, profiler "
          f"overhead inflates totals), {iterations} requests:")
    tables = {k: area_breakdown(p, iterations) for k, p in profiles.items()}
    print(f"  {'area':45} " + " ".join(f"{k:>10}" for k in targets))
    for label in tables["first page"]:
        print(f"  {label:45} " + " ".join(f"{tables[k][label]:10.2f}" for k in targets))

    print_top(profiles["first page"], iterations, top, "the first page", "page")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--count", type=int, default=5000, help="people checked in")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="eventmate-profile-") as tmp:
            run(f"sqlite:///{tmp}/profile.sqlite3", False, args.iterations, args.top, args.count)
    if args.database in ("postgresql", "both"):
        url = os.environ.get("EVENTMATE_TEST_POSTGRES_URL")
        if not url:
            print("\nPostgreSQL SKIPPED: EVENTMATE_TEST_POSTGRES_URL is not set "
                  "(run through scripts/with-postgres.sh).")
        else:
            run(url, True, args.iterations, args.top, args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
