"""Where the time of one organiser dashboard poll goes, in-process (no HTTP server, no load).

    cd /work/main && bash scripts/with-postgres.sh .venv/bin/python bench/profile_live.py

Builds the app gunicorn serves in the benchmark (`bench.wsgi:app`) on a freshly migrated SQLite
file (and on PostgreSQL when EVENTMATE_TEST_POSTGRES_URL is set; its public schema is dropped
and rebuilt), makes the demo event (on now), logs the demo organiser in through the form, and
polls `/organiser/events/<id>/live` as static/js/live.js does, at growing crowd sizes (people
checked in through the check-in service, their arrival times then spread over the last
`--spread` minutes, as on a real night). For each size it prints

* the SQL of one poll, with each statement's time (median over the timed runs);
* the mean in-process time (wall and CPU) of a poll against the bare route, three ways (Accept-Encoding:
  gzip, deflate, br, as a browser sends):
  - "200": no If-None-Match (the first poll, or the numbers changed);
  - "304 as a browser": If-None-Match with the ETag the browser was given. When the fragment
    is compressed, Flask-Compress has turned the view's ETag `"<tag>"` into `"<tag>:br"`, so
    the view's own check does not match; the view renders, Flask-Compress compresses, and then
    answers 304 itself (`make_conditional`);
  - "304 via the view's check": If-None-Match with the view's own `"<tag>"` (what a client
    that does not accept compression, or a fragment under COMPRESS_MIN_SIZE, would send): the
    view answers 304 before rendering;
* a cProfile breakdown of the "304 as a browser" poll by area.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.profile_checkin import HEADERS, body, make_app, prepare, print_top, quiet_logs  # noqa: E402
from bench.profile_who import TimedSQL, shorten  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LIVE_RE = re.compile(r'data-live="([^"]+)"')
VIA_VIEW = "304 via the view's check"

#: Areas of a poll, by the functions whose inclusive time stands for them.
AREAS = [
    ("view live() (all of the view)", [("eventmate/web/organiser.py", "live")]),
    ("  _my_event (event + access)", [("eventmate/web/organiser.py", "_my_event")]),
    ("  dashboard.live (counters, 1 query)", [("eventmate/dashboard.py", "live")]),
    ("  dashboard.timeline (every arrival)", [("eventmate/dashboard.py", "timeline")]),
    ("  dashboard.etag", [("eventmate/dashboard.py", "etag")]),
    ("  Jinja render_template", [("flask/templating.py", "render_template")]),
    ("log-in: user_loader (organiser)", [("eventmate/web/organiser.py", "_load")]),
    ("SQL: all queries (ORM + driver + DB)", [("sqlalchemy/orm/session.py", "_execute_internal")]),
    ("SQL: driver execute (DB time)", [("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
                                       ("psycopg/cursor.py", "execute")]),
    ("SQL: result rows -> datetimes", [("eventmate/models.py", "process_result_value")]),
    ("Flask-Compress (after_request)", [("flask_compress/flask_compress.py", "after_request")]),
    ("  its make_conditional (the 304)", [("werkzeug/wrappers/response.py", "make_conditional")]),
    ("Flask-Limiter check", [("flask_limiter/_extension.py", "_check_request_limit")]),
    ("session cookie save", [("flask/sessions.py", "save_session")]),
]


def log_in(client, email: str, password: str) -> None:
    page = client.get("/organiser/login", headers=HEADERS)
    token = CSRF_RE.search(body(page)).group(1)
    done = client.post("/organiser/login", headers=HEADERS,
                       data={"csrf_token": token, "email": email, "password": password})
    assert done.status_code == 302, done.status_code


def grow(app, event_id: int, size: int, spread: float, rng: random.Random) -> int:
    """Check people in at the demo event (the check-in service) until `size` are; spread the
    new arrivals over the last `spread` minutes. Returns how many are checked in."""
    import sqlalchemy as sa

    from bench.seed_people import person
    from eventmate import checkin, clock
    from eventmate.extensions import db
    from eventmate.models import Attendee, Event

    with app.app_context():
        session = db.session
        event = session.get(Event, event_id)
        secret = app.config["SECRET_KEY"]
        have = session.scalar(sa.select(sa.func.count()).select_from(Attendee).where(
            Attendee.event_id == event_id, Attendee.checked_in_at.is_not(None)))
        new = []
        for n in range(have, size):
            attendee, _code = checkin.check_in(session, event, person(rng, n),
                                               form_token=checkin.new_form_token(secret),
                                               secret=secret)
            new.append(attendee.id)
        now = clock.now()
        if new:
            session.execute(sa.update(Attendee), [
                {"id": i, "checked_in_at": now - timedelta(minutes=rng.uniform(0, spread))}
                for i in new])
            session.commit()
        total = session.scalar(sa.select(sa.func.count()).select_from(Attendee).where(
            Attendee.event_id == event_id, Attendee.checked_in_at.is_not(None)))
        if db.engine.dialect.name == "postgresql":
            session.execute(sa.text("ANALYZE attendee"))
            session.commit()
        session.remove()
    return total


def run(url: str, postgres: bool, sizes: list[int], iterations: int, spread: float,
        top: int) -> None:
    import sqlalchemy as sa

    from eventmate.cli import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG
    from eventmate.extensions import db
    from eventmate.models import Event

    app, bare_path = make_app(url)
    prepare(app, postgres)
    quiet_logs()
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.slug == DEMO_SLUG))
        engine = db.engine
    client = app.test_client()
    log_in(client, DEMO_EMAIL, DEMO_PASSWORD)
    page = client.get(f"/organiser/events/{event_id}", headers=HEADERS)
    target = LIVE_RE.search(body(page)).group(1)
    name = "PostgreSQL" if postgres else "SQLite (WAL)"
    rng = random.Random(2026)
    sql = TimedSQL(engine)
    for size in sizes:
        count = grow(app, event_id, size, spread, rng)
        first = client.get(target, headers=HEADERS)
        assert first.status_code == 200, first.status_code
        browser_tag = first.headers["ETag"]
        view_tag = re.sub(r':(br|gzip|deflate|zstd)"$', '"', browser_tag)
        kinds = {
            "200 (no If-None-Match)": {},
            "304 as a browser": {"If-None-Match": browser_tag},
            VIA_VIEW: {"If-None-Match": view_tag},
        }
        raw = len(body(first).encode())
        print(f"\n=== {name}: {count} checked in at the demo event (arrivals over the last "
              f"{spread:g} min), poll {target} ===")
        print(f"  the fragment: {raw} bytes raw, {len(first.get_data())} bytes "
              f"{first.headers.get('Content-Encoding', 'identity')}; ETag given {browser_tag}; "
              f"Set-Cookie on a poll: {'yes' if 'Set-Cookie' in first.headers else 'no'}")
        for label, extra in kinds.items():
            response = client.get(target, headers={**HEADERS, **extra})
            expected = 200 if label.startswith("200") else 304
            assert response.status_code == expected, (label, response.status_code)
        for _ in range(10):  # warm up
            for extra in kinds.values():
                client.get(target, headers={**HEADERS, **extra})
            client.get(bare_path)
        sql.take()
        timings: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in kinds}
        statements_per: dict[str, int] = {}
        times: dict[str, list[float]] = {k: [] for k in [*kinds, "bare route"]}
        cpu: dict[str, list[float]] = {k: [] for k in [*kinds, "bare route"]}
        for _ in range(iterations):
            for label, extra in kinds.items():
                sql.take()
                start, start_cpu = time.perf_counter(), time.process_time()
                client.get(target, headers={**HEADERS, **extra})
                times[label].append(time.perf_counter() - start)
                cpu[label].append(time.process_time() - start_cpu)
                taken = sql.take()
                statements_per[label] = len(taken)
                for statement, seconds in taken:
                    timings[label][statement].append(seconds)
            start, start_cpu = time.perf_counter(), time.process_time()
            client.get(bare_path)
            times["bare route"].append(time.perf_counter() - start)
            cpu["bare route"].append(time.process_time() - start_cpu)
        sql.take()
        statements = timings["304 as a browser"]
        total = sum(statistics.median(v) for v in statements.values())
        print(f"  SQL per poll: {statements_per['200 (no If-None-Match)']} (200), "
              f"{statements_per['304 as a browser']} (304 as a browser), "
              f"{statements_per[VIA_VIEW]} (304 via the view's check); {total * 1000:.2f} ms "
              "in the driver (median per statement):")
        for statement, values in statements.items():
            print(f"    {statistics.median(values) * 1000:7.3f} ms  {shorten(statement)}")
        bare_ms = statistics.mean(times["bare route"]) * 1000
        bare_cpu = statistics.mean(cpu["bare route"]) * 1000
        print(f"  Mean in-process time over {iterations} polls each (one thread; median in "
              "brackets), and this process's CPU time (on PostgreSQL the server's is not in it):")
        for label, values in times.items():
            mean = statistics.mean(values) * 1000
            mean_cpu = statistics.mean(cpu[label]) * 1000
            print(f"    {label:26} {mean:7.2f} ms ({statistics.median(values) * 1000:6.2f})  "
                  f"{mean / bare_ms:5.1f}x the bare route; CPU {mean_cpu:6.2f} ms = "
                  f"{mean_cpu / bare_cpu:5.1f}x")
        profile = cProfile.Profile()
        for _ in range(iterations):
            profile.enable()
            client.get(target, headers={**HEADERS, **kinds["304 as a browser"]})
            profile.disable()
        print(f"  Breakdown of a '304 as a browser' poll by area, ms (cProfile, inclusive; "
              f"areas overlap; profiler overhead inflates totals), {iterations} polls:")
        for label, value in area_breakdown_live(profile, iterations).items():
            print(f"    {label:45} {value:8.2f}")
        if size == sizes[-1] and top:
            print_top(profile, iterations, top, "a '304 as a browser' poll", "poll")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def area_breakdown_live(prof: cProfile.Profile, calls: int) -> dict[str, float]:
    stats = pstats.Stats(prof).stats
    rows = {"total (profiled)": sum(v[2] for v in stats.values()) / calls * 1000}
    for label, matchers in AREAS:
        ct = sum(v[3] for (file, _line, name), v in stats.items()
                 if any(name == func and file.endswith(part) for part, func in matchers))
        rows[label] = ct / calls * 1000
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 100, 1000, 5000, 10000],
                        help="people checked in at the event, one measurement per size")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--spread", type=float, default=120.0,
                        help="minutes over which the arrivals are spread (the chart's span)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="eventmate-profile-") as tmp:
            run(f"sqlite:///{tmp}/profile.sqlite3", False, sizes, args.iterations, args.spread,
                args.top)
    if args.database in ("postgresql", "both"):
        url = os.environ.get("EVENTMATE_TEST_POSTGRES_URL")
        if not url:
            print("\nPostgreSQL SKIPPED: EVENTMATE_TEST_POSTGRES_URL is not set "
                  "(run through scripts/with-postgres.sh).")
        else:
            run(url, True, sizes, args.iterations, args.spread, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
