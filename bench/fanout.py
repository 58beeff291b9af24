"""The morning fan-out: 10,000 due prompts pushed by `flask send-prompts` to a local push service.

    cd /work/main && bash scripts/with-postgres.sh .venv/bin/python bench/run.py --only fanout
    .venv/bin/python bench/fanout.py --databases sqlite            # standalone, same benchmark
    .venv/bin/python bench/fanout.py --databases sqlite --profile  # and where the dispatcher's CPU goes

For each database (a fresh SQLite file; a database `eventmate_bench_fanout` created on the
server of EVENTMATE_TEST_POSTGRES_URL and dropped afterwards), one run:

1. Migrate it (flask_migrate `upgrade`, as tests/conftest.py does).
2. Start the push service in its own process (spawn): tests/push_receiver.py's PushReceiver,
   which verifies the VAPID JWT (ES256, aud, exp, sub), the headers and the aes128gcm framing
   of every push, here decrypting only every `--sample-every`-th subscription's messages (500
   of 10,000) so that it keeps up. It makes the 10,000 browser-like subscriptions.
3. Time `flask --app app send-prompts` once with nothing due (start-up, idle memory).
4. Seed with bulk SQL (as tests/test_dispatch_races.py `_seed`): an event that ended 12 hours
   ago, in a time zone where it is now about 9:00 (so reminders are queued, as on a real
   morning), 10,000 attendees who picked three others each, one phone and one subscription
   each, and their prompts due a minute ago.
5. Baseline, in this process, one thread, no HTTP: what `Pusher.send` does before its POST
   (JSON, the cached VAPID header, pywebpush's aes128gcm encryption) for the same 10,000
   messages, before and after the fan-out; the mean rate is the baseline.
6. The fan-out: `flask --app app send-prompts` in a child process, as cron would run it, timed
   from spawn to exit; peak RSS and CPU from `os.wait4`; the CPU of the receiver, of our
   PostgreSQL and of the rest of the machine over the same span.
7. Check: 10,000 POSTs answered 201, each subscription exactly once, each decrypted payload
   exactly what `followup.compose` gives; every prompt `sent` by `push`, the reminders queued.

Targets (from the issue): all 10,000 in <= 20 s, and >= 0.1x the encrypt-only rate.
`--variant` runs the same fan-out with a change (processes, batch, threads, per-step timing,
cProfile) to measure a fix without editing the app; `--profile` adds a profiled pass and the
cost of each layer of one push. bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import multiprocessing
import os
import pstats
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager, redirect_stderr, suppress
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests"):  # eventmate, and the tests' push service
    if str(_path) not in sys.path:
        sys.path.append(str(_path))

from push_receiver import PushReceiver, Rejected  # noqa: E402

VENV_BIN = Path(sys.executable).parent
COUNT = 10_000
SAMPLE_EVERY = 20
TARGET_SECONDS = 20.0
TARGET_RATIO = 0.10
PG_DATABASE = "eventmate_bench_fanout"
BASE_URL = "https://eventmate.example"
SUBJECT = "mailto:bench@eventmate.example"
EVENT_SLUG = "fanout01"
EVENT_NAME = "Thursday founders evening"
#: A run whose 'rest' + 'steal' CPU (everything but us) passes this, in % of one core, is flagged.
NOISY_REST_PERCENT = 40
CLK_TCK = os.sysconf("SC_CLK_TCK")
DISPATCH_TIMEOUT = 600

FIRST = ["Amara", "Jonas", "Sofía", "Mei", "Łukasz", "Nguyễn", "Søren", "Aoife", "Kwame", "Priya",
         "Mateo", "Yuki", "Olumide", "Ines", "Dmitri", "Fatima", "Hamish", "Leila", "Tomás", "Zanele",
         "Björn", "Chloé", "Rafael", "Anjali", "Ewa", "Kofi", "Marta", "Hiroshi", "Noor", "Giulia"]
LAST = ["Okafor", "Weber", "Ramírez", "Chen", "Wiśniewska", "Thị Trần", "Ó Briain", "Mensah", "Iyer",
        "García", "Tanaka", "Adeyemi", "Sousa", "Volkov", "Haddad", "MacLeod", "Karimi", "Núñez",
        "Dlamini", "Lindqvist", "Dubois", "Costa", "Nair", "Kowalczyk", "Boateng", "Rossi", "Sato"]


# --------------------------------------------------------------------------- the push service


class SampledPushReceiver(PushReceiver):
    """PushReceiver (tests/push_receiver.py) that decrypts only every `sample_every`-th
    subscription's messages; every push still has its VAPID JWT verified (signature, aud, exp,
    sub) and its headers and aes128gcm framing (RFC 8188 header, RFC 8291 key id) checked."""

    def __init__(self, sample_every: int = SAMPLE_EVERY):
        super().__init__()
        # A real push service has a deep accept queue; socketserver's default is 5.
        self._server.socket.listen(128)
        self.sample_every = max(1, sample_every)
        self.made = 0
        self.decrypted = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def new_subscription(self, behaviour=201, *, server_key: str | None = None) -> dict:
        info = super().new_subscription(behaviour, server_key=server_key)
        self._subs[info["endpoint"].rpartition("/")[2]].sampled = self.made % self.sample_every == 0
        self.made += 1
        return info

    def receive(self, sub_id: str, headers, body: bytes):
        status, extra = super().receive(sub_id, headers, body)
        now = time.time()
        with self._lock:
            self.first_at = self.first_at or now
            self.last_at = now
        return status, extra

    def _open(self, sub, headers, body: bytes) -> tuple[dict, dict]:
        if getattr(sub, "sampled", True):
            opened = super()._open(sub, headers, body)
            with self._lock:
                self.decrypted += 1
            return opened
        # The same header checks as PushReceiver._open, and the aes128gcm framing, unopened.
        sent = self.check_headers(headers, body)
        # RFC 8188 header: salt(16) rs(4) idlen(1) keyid; RFC 8291: keyid = the sender's P-256 point.
        if len(body) < 21 + 65 + 17:
            raise Rejected(400, f"body of {len(body)} bytes is too short for aes128gcm")
        rs, idlen = int.from_bytes(body[16:20], "big"), body[20]
        if idlen != 65 or body[21] != 4:
            raise Rejected(400, "aes128gcm key id is not an uncompressed P-256 point")
        if not 18 <= len(body) - 86 <= rs:
            raise Rejected(400, "aes128gcm record does not fit its record size")
        return {}, sent

    def report(self) -> dict:
        with self._lock:
            deliveries = list(self.deliveries)
            rejections = list(self.rejections)
            attempts = sum(self.attempts.values())
        per_sub = Counter(d.subscription_id for d in deliveries if d.status_returned == 201)
        made = set(self._subs)
        return {
            "deliveries": len(deliveries),
            "statuses": dict(Counter(d.status_returned for d in deliveries)),
            "attempts": attempts,
            "rejections": len(rejections),
            "rejection_samples": [f"{r.status} {r.reason}" for r in rejections[:5]],
            "subscriptions": len(made),
            "delivered_once": sum(1 for s in made if per_sub.get(s) == 1),
            "duplicates": sum(c - 1 for c in per_sub.values() if c > 1),
            "missing": len(made - set(per_sub)),
            "unknown": len(set(per_sub) - made),
            "decrypted": self.decrypted,
            "payloads": {d.subscription_id: d.payload for d in deliveries if d.payload},
            "claims": sorted({(d.claims.get("aud"), d.claims.get("sub")) for d in deliveries}),
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _receiver_main(conn, count: int, sample_every: int) -> None:
    """The push service's own process: make the subscriptions, serve, report when asked."""
    receiver = SampledPushReceiver(sample_every).start()
    try:
        conn.send([receiver.new_subscription() for _ in range(count)])
        mark = _cpu_seconds()
        while True:
            command = conn.recv()
            if command == "mark":
                mark = _cpu_seconds()
                conn.send("ok")
            elif command == "report":
                conn.send({**receiver.report(), "cpu_s": _cpu_seconds() - mark})
            else:
                return
    finally:
        receiver.stop()


@contextmanager
def push_service(count: int, sample_every: int):
    ctx = multiprocessing.get_context("spawn")  # nothing inherited from this process
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=_receiver_main, args=(theirs, count, sample_every), daemon=True,
                          name="push-receiver")
    process.start()
    try:
        subs = ours.recv()
        yield SimpleNamespace(subs=subs, conn=ours, pid=process.pid)
    finally:
        with suppress(OSError):
            ours.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


# --------------------------------------------------------------------------- databases


def new_vapid_key() -> str:
    """A fresh VAPID key as the app accepts it: base64url raw P-256 scalar."""
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(scalar.to_bytes(32, "big")).rstrip(b"=").decode()


def migrate(url: str, secret: str, vapid_key: str) -> None:
    """flask_migrate upgrade, in this process, as tests/conftest.py does."""
    from flask_migrate import upgrade

    from eventmate import create_app
    from eventmate.extensions import db

    said = io.StringIO()  # alembic's INFO lines (its logging config writes to stderr)
    # Without these, create_app() would write a secret and a VAPID key into instance/.
    keys = {"EVENTMATE_SECRET_KEY": secret, "EVENTMATE_VAPID_PRIVATE_KEY": vapid_key}
    try:
        with mock.patch.dict(os.environ, keys), redirect_stderr(said):
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
            with app.app_context():
                upgrade()
                db.engine.dispose()
    except Exception:
        sys.stderr.write(said.getvalue())
        raise


@contextmanager
def database(name: str, workdir: Path):
    """A fresh, empty database URL; a PostgreSQL one is dropped afterwards."""
    import sqlalchemy as sa

    if name == "sqlite":
        path = workdir / f"fanout-{secrets.token_hex(4)}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    server = sa.engine.make_url(os.environ["EVENTMATE_TEST_POSTGRES_URL"])
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {PG_DATABASE}"))
    try:
        yield server.set(database=PG_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        admin.dispose()


def morning_zone(now) -> str:
    """A time zone where it is now about 9 in the morning, the prompt hour: the dispatcher then
    also queues each person's reminder for 8 hours later, as on a real morning (after 13:00
    local, reminder_due_at says it would come too late in the day and queues none)."""
    offset = 9 - now.hour
    if offset < -12:
        offset += 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-2 is UTC+2


def seed(url: str, subs: list[dict]) -> list[dict]:
    """An event that ended 12 h ago, in a time zone where it is now about 9:00; one attendee
    per subscription, who picked three others, with one phone, that subscription, and the
    prompt due a minute ago. Bulk SQL through the models' tables (tests/test_dispatch_races.py
    `_seed` does the same for 1,000)."""
    import sqlalchemy as sa

    from eventmate import clock, tokens
    from eventmate import models as m

    count = len(subs)
    now = clock.now()
    people = [{"id": i, "name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
               "picks": [(i - 1 + k) % count + 1 for k in (1, 2, 3)]} for i in range(1, count + 1)]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(m.Organiser.__table__), {"id": 1, "email": "o@example.org",
                                                       "password_hash": "x", "created_at": now})
        conn.execute(sa.insert(m.Event.__table__), {
            "id": 1, "organiser_id": 1, "slug": EVENT_SLUG, "checkin_key": "k" * 16, "name": EVENT_NAME,
            "venue": "The Corner Room", "starts_at": now - timedelta(hours=16),
            "ends_at": now - timedelta(hours=12), "timezone": morning_zone(now), "prompt_hour": 9,
            "checkin_mode": "auto", "created_at": now})
        conn.execute(sa.insert(m.Attendee.__table__), [
            {"id": p["id"], "event_id": 1, "name": p["name"], "what_i_do": "Runs a small design studio",
             "how_i_help": "Feedback on your brand", "looking_for": "A head of marketing at a hotel group",
             "checked_in_at": now - timedelta(hours=15), "return_code_hash": tokens.digest(f"code{p['id']}"),
             "pickme_token": f"p{p['id']}", "search_text": p["name"].lower()} for p in people])
        conn.execute(sa.insert(m.Pick.__table__), [
            {"event_id": 1, "picker_id": p["id"], "picked_id": picked, "slot": slot,
             "created_at": now - timedelta(hours=14)}
            for p in people for slot, picked in enumerate(p["picks"])])
        conn.execute(sa.insert(m.Device.__table__), [
            {"id": p["id"], "credential_hash": tokens.digest(f"d{p['id']}"), "created_at": now,
             "last_seen_at": now} for p in people])
        conn.execute(sa.insert(m.DeviceAttendee.__table__), [
            {"device_id": p["id"], "attendee_id": p["id"], "created_at": now} for p in people])
        conn.execute(sa.insert(m.PushSubscription.__table__), [
            {"device_id": p["id"], "endpoint": s["endpoint"], "endpoint_hash": tokens.digest(s["endpoint"]),
             "p256dh": s["keys"]["p256dh"], "auth": s["keys"]["auth"], "created_at": now,
             "confirmed_at": now} for p, s in zip(people, subs, strict=True)])
        conn.execute(sa.insert(m.Message.__table__), [
            {"event_id": 1, "attendee_id": p["id"], "kind": "prompt", "dedupe_key": f"prompt:{p['id']}",
             "due_at": now - timedelta(minutes=1), "state": "pending", "attempts": 0, "outcome": "",
             "created_at": now - timedelta(hours=14)} for p in people])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # as autovacuum would have, overnight
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    engine.dispose()
    return people


def expected_payloads(people: list[dict]) -> list[tuple[str, dict]]:
    """(topic, payload) per attendee, as the dispatcher composes them (followup.compose)."""
    from eventmate import followup

    by_id = {p["id"]: p for p in people}
    event = SimpleNamespace(name=EVENT_NAME)
    out = []
    for p in people:
        waiting = [by_id[i]["name"] for i in p["picks"]]
        title, body = followup.compose("prompt", SimpleNamespace(name=p["name"]), event, waiting)
        out.append((f"em-prompt-{p['id']}"[:32],
                    {"title": title, "body": body, "url": f"{BASE_URL}/e/{EVENT_SLUG}/follow-up"}))
    return out


def check_rows(url: str, count: int) -> dict:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT kind, state, coalesce(channel, '-'), count(*) FROM message "
            "GROUP BY kind, state, channel ORDER BY kind, state")).all()
        deliveries, distinct_subs = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT subscription_id) FROM push_delivery")).one()
        fixed = conn.execute(sa.text(
            "SELECT count(*) FROM attendee WHERE three_fixed_at IS NOT NULL")).scalar()
        subs = conn.execute(sa.text("SELECT count(*) FROM push_subscription")).scalar()
    engine.dispose()
    states = {f"{kind}/{state}/{channel}": n for kind, state, channel, n in rows}
    return {"messages": states, "push_delivery": deliveries, "push_delivery_subscriptions": distinct_subs,
            "three_fixed": fixed, "subscriptions_left": subs,
            "ok": (states.get("prompt/sent/push") == count
                   and sum(n for k, n in states.items() if k.startswith("prompt/")) == count
                   and states.get("reminder/pending/-") == count  # 8 h later, queued by the pass
                   and fixed == count and deliveries == distinct_subs == count and subs == count)}


# --------------------------------------------------------------------------- the baseline


def encrypt_only(subs: list[dict], payloads: list[tuple[str, dict]], vapid_key: str):
    """What Pusher.send does before its POST, for every message, in one thread: JSON, the
    VAPID header (signed once per origin, as the Pusher caches it), the Topic, and pywebpush's
    aes128gcm encryption (a fresh ECDH key, HKDF, AES-GCM, via http_ece).
    (seconds, [(body, headers)] ready to POST)."""
    from pywebpush import WebPusher

    from eventmate import dispatch, push

    pusher = push.Pusher(vapid_key, SUBJECT)
    ttl = str(dispatch.TTL["prompt"])
    out = []
    started = time.perf_counter()
    for sub, (topic, payload) in zip(subs, payloads, strict=True):
        headers = {"Authorization": pusher.authorization(sub["endpoint"]), "Urgency": "normal",
                   "Topic": push.topic_header(topic), "TTL": ttl, "Content-Encoding": "aes128gcm",
                   "Content-Type": "application/octet-stream"}
        body = WebPusher(sub).encode(push.encode_payload(payload), content_encoding="aes128gcm")["body"]
        out.append((body, headers))
    elapsed = time.perf_counter() - started
    pusher.close()
    return elapsed, out


def components(per_step: int, sample_every: int) -> list[tuple[str, float, float]]:
    """Without a profiler (which inflates code made of many small calls), in this process, one
    thread: CPU and wall ms per message of each layer of a push, against a push service in its
    own process. (name, CPU ms, wall ms) per step."""
    import urllib3

    from eventmate import push

    steps = ["encrypt only (what Pusher.send does before its POST)",
             "Pusher.send as shipped (encrypt, then POST through urllib3)",
             "POST of the encrypted body with urllib3 alone"]
    vapid_key = new_vapid_key()
    payload = {"title": "Good morning, Amara",
               "body": f"Send Jonas, Sofía and Mei a note while {EVENT_NAME} is still fresh, and suggest a "
                       "coffee. About a minute.", "url": f"{BASE_URL}/e/{EVENT_SLUG}/follow-up"}
    out = []
    with push_service(per_step * len(steps) + 50, sample_every) as service:
        subs = iter(service.subs)
        pusher, pool = push.Pusher(vapid_key, SUBJECT), urllib3.PoolManager(retries=False)
        for sub in [next(subs) for _ in range(50)]:  # warm: connection, caches
            pusher.send(push.Subscription(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"]),
                        payload, topic="em-prompt-1", ttl=60)
        for step in steps:
            batch = [next(subs) for _ in range(per_step)]
            # The last step posts bodies encrypted beforehand, outside its timing.
            ready = encrypt_only(batch, [("em-prompt-1", payload)] * per_step, vapid_key)[1]
            cpu0, wall0 = _cpu_seconds(), time.perf_counter()
            if step.startswith("encrypt"):
                encrypt_only(batch, [("em-prompt-1", payload)] * per_step, vapid_key)
            elif step.startswith("Pusher"):
                for sub in batch:
                    outcome = pusher.send(push.Subscription(sub["endpoint"], sub["keys"]["p256dh"],
                                                            sub["keys"]["auth"]), payload, topic="em-prompt-1",
                                          ttl=60)
                    assert outcome.kind == "delivered", outcome
            else:
                for sub, (body, headers) in zip(batch, ready, strict=True):
                    response = pool.request("POST", sub["endpoint"], body=body, headers=headers,
                                            redirect=False)
                    assert response.status == 201, response.status
            out.append((step, (_cpu_seconds() - cpu0) / per_step * 1000,
                        (time.perf_counter() - wall0) / per_step * 1000))
        pusher.close()
        pool.clear()
    return out


# --------------------------------------------------------------------------- CPU accounting


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _postgres_ticks(port: int | None) -> int:
    """CPU ticks of our PostgreSQL: its postmaster (with the backends it has reaped) and its
    live children. Other PostgreSQL servers on the machine (other people's tests) are not ours."""
    if port is None:
        return 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-p" in args and args[args.index(b"-p") + 1:][:1] == [str(port).encode()]:
            pid = int(entry.name)
            fields = _stat(pid)
            if not fields:
                return 0
            total = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            for child in children:
                child_fields = _stat(int(child))
                if child_fields:
                    total += int(child_fields[11]) + int(child_fields[12])
            return total
    return 0


def _machine_ticks() -> tuple[int, int]:
    """(busy, steal) CPU ticks of the whole machine: steal is time the hypervisor ran something
    else on our virtual CPUs (this machine is a VM)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4] - values[7], values[7]  # minus idle, iowait, steal


def wait_for_quiet(limit: float, threshold: float = 25.0) -> float:
    """Wait up to `limit` s for the machine to be nearly idle; the busy % (of all CPUs) last seen."""
    deadline = time.monotonic() + limit
    while True:
        busy0, wall0 = sum(_machine_ticks()), time.monotonic()
        time.sleep(0.5)
        busy = (sum(_machine_ticks()) - busy0) / CLK_TCK / (time.monotonic() - wall0) / os.cpu_count() * 100
        if busy < threshold or time.monotonic() >= deadline:
            return busy
        time.sleep(1.0)


# --------------------------------------------------------------------------- the dispatcher


def dispatcher_env(url: str, secret: str, vapid_key: str, batch: int | None) -> dict[str, str]:
    env = {**os.environ, "EVENTMATE_DATABASE_URL": url, "EVENTMATE_SECRET_KEY": secret,
           "EVENTMATE_VAPID_PRIVATE_KEY": vapid_key, "EVENTMATE_VAPID_SUBJECT": SUBJECT,
           "EVENTMATE_BASE_URL": BASE_URL}
    if batch:
        env["EVENTMATE_DISPATCH_BATCH"] = str(batch)
    return env


FLASK_SEND_PROMPTS = [str(VENV_BIN / "flask"), "--app", "app", "send-prompts"]


def run_dispatcher(env: dict[str, str], logs: Path, label: str, commands: list[list[str]] | None = None) -> dict:
    """Run the dispatcher (by default one `flask send-prompts`; several commands run at once)
    to completion in child processes: wall time to the last exit, peak RSS, CPU, what it said."""
    commands = commands or [FLASK_SEND_PROMPTS]
    processes, files = [], []
    done = threading.Event()
    started_at = time.time()
    started = time.perf_counter()
    try:
        for i, command in enumerate(commands):
            out_path, err_path = logs / f"{label}-{i}.out", logs / f"{label}-{i}.err"
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err))
            files.append((out_path, err_path))

        def kill_if_hung() -> None:
            if not done.wait(DISPATCH_TIMEOUT):
                for process in processes:
                    process.kill()

        watchdog = threading.Thread(target=kill_if_hung, daemon=True)
        watchdog.start()
        usages = []
        for process in processes:
            _pid, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            usages.append(usage)
        elapsed = time.perf_counter() - started
        ended_at = time.time()
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): leave no dispatcher behind
        for process in processes:
            if process.returncode is None:
                process.kill()
                process.wait()
        raise
    finally:
        done.set()
    outs = [(o.read_text(), e.read_text()) for o, e in files]
    errors = [line for _out, err in outs for line in err.splitlines()]
    failed = [p.returncode for p in processes if p.returncode]
    return {
        "seconds": elapsed, "started_at": started_at, "ended_at": ended_at, "processes": len(processes),
        "returncode": failed[0] if failed else 0,
        "max_rss_mb": max(u.ru_maxrss for u in usages) / 1024,
        "cpu_s": sum(u.ru_utime + u.ru_stime for u in usages),
        "user_s": sum(u.ru_utime for u in usages), "system_s": sum(u.ru_stime for u in usages),
        "summary": " | ".join((out.strip().splitlines() or [""])[-1] for out, _err in outs),
        "stdout": outs[0][0], "log_lines": len(errors),
        "log_problems": [line for line in errors
                         if any(w in line for w in ("Traceback", "Error", "push to retry", "push rejected",
                                                    "push failed", "email failed"))][:5],
        "stderr_tail": "".join(err[-2000:] for _out, err in outs) if failed else "",
    }


def parse_variant(spec: str) -> dict:
    """'processes=2,batch=500' -> {'processes': 2, 'batch': 500} (argparse's type for --variant)."""
    out: dict = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        if key in ("threads", "processes", "batch") and value.isdigit() and int(value) > 0:
            out[key] = int(value)
        elif key in ("profile", "phases") and value == "1":
            out[key] = True
        else:
            raise argparse.ArgumentTypeError(
                f"unknown variant {part!r}: use processes=N, batch=N, threads=N, phases=1, profile=1")
    return out


def _dispatch_child(config: dict) -> None:
    """In a child process: build the dispatcher exactly as `flask send-prompts` does
    (cli._dispatcher), change what the variant says, run one pass. With `profile`: a cProfile
    (CPU-time clock) in the main thread and in every push thread, merged and written there."""
    import cProfile
    from concurrent.futures import ThreadPoolExecutor

    from app import app
    from eventmate import cli, dispatch

    profiles = []

    def profile_this_thread() -> None:
        profiler = cProfile.Profile(time.thread_time)
        profiles.append(profiler)
        profiler.enable()

    with app.app_context():
        dispatcher = cli._dispatcher()
        if config.get("threads"):  # as many push threads and pooled connections as asked
            dispatcher.close()
            dispatcher = dispatch.Dispatcher(dispatcher.session, dispatcher.settings,
                                             threads=config["threads"], batch=dispatcher.batch)
        threads = dispatcher.pool._max_workers
        if config.get("profile"):
            dispatcher.pool.shutdown()
            dispatcher.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="push",
                                                 initializer=profile_this_thread)
        phases: dict[str, list] = {}
        if config.get("phases"):  # wall and CPU of each step of a batch, summed over the pass
            def timed(name, fn):
                def step(*args, **kwargs):
                    wall, mine, ours = time.perf_counter(), time.thread_time(), _cpu_seconds()
                    try:
                        return fn(*args, **kwargs)
                    finally:
                        got = phases.setdefault(name, [0, 0.0, 0.0, 0.0])
                        got[0] += 1
                        got[1] += time.perf_counter() - wall
                        got[2] += time.thread_time() - mine
                        got[3] += _cpu_seconds() - ours
                return step

            for name in ("claim", "_prepare", "_apply"):
                setattr(dispatcher, name, timed(name, getattr(dispatcher, name)))
            pool_map = dispatcher.pool.map
            dispatcher.pool.map = timed("sends (pool.map)", lambda fn, items: list(pool_map(fn, items)))
            dispatcher.session.commit = timed("commit", dispatcher.session.commit)
        main = cProfile.Profile(time.thread_time) if config.get("profile") else None
        started = time.perf_counter()
        if main:
            main.enable()
        try:
            summary = dispatcher.run_pass()
        finally:
            if main:
                main.disable()
            dispatcher.close()  # joins the push threads: their profiles are complete
        elapsed = time.perf_counter() - started
    if main:
        stats = pstats.Stats(main)
        for profiler in profiles:
            stats.add(profiler)
        stats.dump_stats(config["profile"])
    print(json.dumps({"seconds": elapsed, "threads": threads, "summary": summary.line(), "phases": phases}))


#: What a profiled function belongs to: the first area with a substring of "file:function".
AREAS = [
    ("encrypt (pywebpush, http_ece, cryptography)",
     ("pywebpush/", "http_ece", "cryptography", "_cffi", "openssl", "copy.py", "base64")),
    ("VAPID and payload (eventmate.push, py_vapid, json)", ("py_vapid", "eventmate/push.py", "json/")),
    ("HTTP client (urllib3, http.client, socket)",
     ("urllib3/", "http/client.py", "email/", "socket", "ssl", "select", "urllib/", "idna")),
    ("database (SQLAlchemy, driver)", ("sqlalchemy/", "psycopg", "sqlite3", "_sqlite")),
    ("logging", ("logging/",)),
    ("thread pool, locks, waits", ("concurrent/futures", "threading.py", "queue.py", "acquire", "_thread")),
    ("eventmate (dispatch, followup, devices)", ("eventmate/",)),
]
#: Entry points whose cumulative time is listed: (file, function names).
ENTRIES = [("eventmate/dispatch.py", {"run_pass", "claim", "_deliver", "_prepare", "_send", "_decide",
                                      "_apply"}),
           ("eventmate/push.py", {"send", "authorization"}),
           ("pywebpush/__init__.py", {"__init__", "encode"}),
           ("http_ece/__init__.py", {"encrypt"}),
           ("urllib3/", {"request", "urlopen"}),
           ("logging/__init__.py", {"info", "emit"})]


def profile_text(path: Path, top: int = 25) -> tuple[str, dict]:
    stats = pstats.Stats(str(path))
    total = sum(v[2] for v in stats.stats.values())
    areas: Counter[str] = Counter()
    for (file, _line, func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        where = f"{file}:{func}"
        areas[next((name for name, needles in AREAS if any(n in where for n in needles)), "other")] += tottime
    lines = [f"  CPU seconds in the dispatcher, all threads: {total:.2f}", "  by area (own time):"]
    for name, seconds in areas.most_common():
        lines.append(f"    {seconds:7.2f} s  {seconds / total * 100:5.1f} %  {name}")

    def short(key) -> str:
        file, line, func = key
        for marker in ("site-packages/", "lib/python3.11/", str(ROOT) + "/"):
            if marker in file:
                file = file.split(marker, 1)[1]
        return f"{file}:{line}({func})" if line else func

    by_own = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)
    lines += [f"  top {top} functions by own CPU time:", f"    {'own s':>7} {'cum s':>7} {'calls':>9}  function"]
    lines += [f"    {own:7.2f} {cum:7.2f} {nc:>9}  {short(key)}" for key, (_cc, nc, own, cum, _) in by_own[:top]]
    entries = sorted(((key, v) for key, v in stats.stats.items()
                      if any(f in key[0] and key[2] in names for f, names in ENTRIES)),
                     key=lambda e: e[1][3], reverse=True)
    lines.append("  entry points (cumulative CPU, including callees; threads summed):")
    lines += [f"    {cum:7.2f} s {nc:>9}  {short(key)}" for key, (_cc, nc, _own, cum, _) in entries[:16]]
    return "\n".join(lines), {"total_cpu_s": total, "areas": dict(areas)}


# --------------------------------------------------------------------------- one run


def postgres_port(url: str) -> int | None:
    import sqlalchemy as sa

    made = sa.engine.make_url(url)
    return (made.port or 5432) if made.get_backend_name() == "postgresql" else None


def bench_one(name: str, args, workdir: Path, variant: dict) -> dict:
    """One fan-out on a fresh database: the product as shipped (one `flask send-prompts`), or
    a variant (several processes; or a child that changes the dispatcher; or a profiled pass)."""
    profile = bool(variant.get("profile"))
    tag = ",".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in variant.items())
    label = f"{name} [{tag}]" if tag else name
    secret, vapid_key = secrets.token_urlsafe(32), new_vapid_key()
    batch = variant.get("batch") or args.batch
    result: dict = {"database": name, "label": label, "variant": variant, "count": args.count,
                    "sample_every": args.sample_every, "batch": batch, "profile": profile}
    slug = "".join(c if c.isalnum() else "_" for c in label)
    with database(name, workdir) as url, push_service(args.count, args.sample_every) as service:
        started = time.perf_counter()
        migrate(url, secret, vapid_key)
        env = dispatcher_env(url, secret, vapid_key, batch)
        empty = run_dispatcher(env, workdir, f"{slug}-empty")
        if empty["returncode"] != 0:
            raise RuntimeError(f"send-prompts with nothing due failed:\n{empty['stderr_tail']}")
        result["empty_pass"] = {k: empty[k] for k in ("seconds", "max_rss_mb", "cpu_s", "summary")}
        people = seed(url, service.subs)
        payloads = expected_payloads(people)
        print(f"  {label}: migrated, {args.count} subscriptions made by the receiver (pid {service.pid}), "
              f"seeded; {time.perf_counter() - started:.1f} s", flush=True)
        if not profile:
            result["encrypt_before_s"] = encrypt_only(service.subs, payloads, vapid_key)[0]
        result["quiet_busy_percent"] = round(wait_for_quiet(args.quiet_wait), 1)
        service.conn.send("mark")
        service.conn.recv()
        child = {k: v for k, v in variant.items() if k not in ("processes", "batch")}
        if profile:
            child["profile"] = str(workdir / f"{slug}.pstats")
        command = ([sys.executable, str(Path(__file__).resolve()), "--dispatch-child", json.dumps(child)]
                   if child else FLASK_SEND_PROMPTS)
        pg_port = postgres_port(url)
        machine0, pg0, own0 = _machine_ticks(), _postgres_ticks(pg_port), _cpu_seconds()
        run = run_dispatcher(env, workdir, slug, [command] * variant.get("processes", 1))
        machine1, pg1, own1 = _machine_ticks(), _postgres_ticks(pg_port), _cpu_seconds()
        service.conn.send("report")
        received = service.conn.recv()
        if not profile:
            result["encrypt_after_s"] = encrypt_only(service.subs, payloads, vapid_key)[0]
        rows = check_rows(url, args.count)
    if run["returncode"] != 0:
        raise RuntimeError(f"{label}: the dispatcher exited with {run['returncode']}:\n{run['stderr_tail']}")
    wall = run["seconds"]
    cpu = {"dispatcher": run["cpu_s"], "receiver": received["cpu_s"],
           "db": (pg1 - pg0) / CLK_TCK if pg_port else None, "bench": own1 - own0}
    cpu["rest"] = max(0.0, (machine1[0] - machine0[0]) / CLK_TCK - sum(v for v in cpu.values() if v))
    cpu["steal"] = (machine1[1] - machine0[1]) / CLK_TCK
    # Every decrypted payload is exactly what the dispatcher should have composed for its attendee.
    expected = {sub["endpoint"].rpartition("/")[2]: payload
                for sub, (_topic, payload) in zip(service.subs, payloads, strict=True)}
    wrong = [sub_id for sub_id, payload in received["payloads"].items() if payload != expected.get(sub_id)]
    first, last = received["first_at"], received["last_at"]
    result.update({
        "seconds": wall,
        "rate": args.count / wall,
        "max_rss_mb": run["max_rss_mb"],
        "processes": run["processes"],
        # The pass's own CPU: minus what a pass with nothing due costs (start-up, imports), per process.
        "cpu_ms_per_message": (run["cpu_s"] - run["processes"] * result["empty_pass"]["cpu_s"])
        / args.count * 1000,
        "dispatcher": {k: run[k] for k in ("cpu_s", "user_s", "system_s", "summary", "log_lines",
                                           "log_problems")},
        "first_push_after_s": first - run["started_at"] if first else None,
        "push_window_s": last - first if first else None,
        "cpu_s": cpu,
        "cpu_percent": {k: (round(v / wall * 100) if v is not None else None) for k, v in cpu.items()},
        "receiver": {k: v for k, v in received.items() if k != "payloads"},
        "payloads_checked": len(received["payloads"]),
        "payloads_wrong": len(wrong),
        "rows": rows,
    })
    result["delivery_ok"] = (received["deliveries"] == args.count
                             and received["statuses"] == {201: args.count}
                             and received["rejections"] == 0
                             and received["delivered_once"] == args.count == received["subscriptions"]
                             and received["attempts"] == args.count
                             and received["decrypted"] == len(received["payloads"]) > 0
                             and not wrong)
    said = json.loads(run["stdout"].strip().splitlines()[-1]) if child else {}
    if said.get("phases"):
        result["phases"] = {name: {"calls": c, "wall_s": w, "main_thread_cpu_s": m, "process_cpu_s": p}
                            for name, (c, w, m, p) in said["phases"].items()}
    if profile:
        text, data = profile_text(Path(child["profile"]), args.profile_top)
        result["profile"] = {**data, "pass_seconds": said["seconds"], "threads": said["threads"],
                             "text": text}
    else:
        mean = (result["encrypt_before_s"] + result["encrypt_after_s"]) / 2
        result["encrypt_rate"] = args.count / mean
        result["encrypt_rates"] = [args.count / result["encrypt_before_s"],
                                   args.count / result["encrypt_after_s"]]
        result["ratio"] = result["rate"] / result["encrypt_rate"]
    return result


# --------------------------------------------------------------------------- report


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def passed(d: dict) -> bool:
    return (d["seconds"] <= TARGET_SECONDS and d.get("ratio", 0) >= TARGET_RATIO and d["delivery_ok"]
            and d["rows"]["ok"])


def verdicts(d: dict) -> list[str]:
    r, rows = d["receiver"], d["rows"]
    out = [f"time {_mark(d['seconds'] <= TARGET_SECONDS)}: {d['count']} in {d['seconds']:.2f} s "
           f"(target <= {TARGET_SECONDS:g} s)"]
    if "ratio" in d:
        out.append(f"ratio {_mark(d['ratio'] >= TARGET_RATIO)}: {d['ratio']:.3f} x encrypt-only "
                   f"(target >= {TARGET_RATIO:g})")
    out.append(
        f"delivery {_mark(d['delivery_ok'])}: {r['statuses']} statuses, {r['rejections']} rejections, "
        f"{r['delivered_once']}/{r['subscriptions']} subscriptions exactly once ({r['duplicates']} "
        f"duplicates, {r['missing']} missing), {r['attempts']} POSTs, {d['payloads_checked']} decrypted "
        f"and {d['payloads_checked'] - d['payloads_wrong']} match the composed text, VAPID claims {r['claims']}")
    out.append(f"rows {_mark(rows['ok'])}: {rows['messages']}, push_delivery {rows['push_delivery']} "
               f"({rows['push_delivery_subscriptions']} subscriptions), three fixed {rows['three_fixed']}")
    return out


def table(results: list[dict]) -> str:
    header = (f"{'run':32} {'total s':>7} {'msgs/s':>6} {'encrypt/s':>9} {'ratio':>6} {'RSS MB':>6} "
              f"{'idle MB':>7} {'CPU ms/msg':>10} {'start s':>7} {'window s':>8}  "
              "CPU % disp/recv/db/rest/steal  verdict")
    rows = [header, "-" * len(header)]
    for d in results:
        if d["profile"]:
            continue
        cpu = "/".join("-" if d["cpu_percent"][k] is None else str(d["cpu_percent"][k])
                       for k in ("dispatcher", "receiver", "db", "rest", "steal"))
        noisy = ("  <- other load" if d["cpu_percent"]["rest"] + d["cpu_percent"]["steal"] > NOISY_REST_PERCENT
                 else "")
        rss = f"{d['max_rss_mb']:.1f}" + (f"x{d['processes']}" if d["processes"] > 1 else "")
        start, window = (f"{v:.2f}" if v is not None else "-" for v in (d["first_push_after_s"],
                                                                         d["push_window_s"]))
        rows.append(
            f"{d['label']:32} {d['seconds']:>7.2f} {d['rate']:>6.0f} {d['encrypt_rate']:>9.0f} "
            f"{d['ratio']:>6.3f} {rss:>6} {d['empty_pass']['max_rss_mb']:>7.1f} "
            f"{d['cpu_ms_per_message']:>10.2f} {start:>7} {window:>8}  {cpu:28}  {_mark(passed(d))}{noisy}")
    return "\n".join(rows)


def report(results: list[dict], count: int) -> str:
    lines = [f"Morning fan-out, {count} due prompts per run:", table(results), "",
             "total s = `flask --app app send-prompts` from spawn to exit (a [variant] changes that; "
             "see bench/README.md); msgs/s = prompts / total s;",
             "encrypt/s = Pusher.send's work without the POST, one thread, mean of before and after the "
             "fan-out; ratio = msgs/s / encrypt/s;",
             "RSS MB = the dispatcher's peak RSS (xN: each of N processes; idle MB: `send-prompts` with "
             "nothing due); CPU ms/msg = the dispatcher's user + system CPU, minus that of the idle pass, "
             "/ prompts;",
             "start s = spawn to the first push received; window s = first to last push received;",
             "CPU % of one core during the fan-out (the machine has "
             f"{os.cpu_count()} CPUs); rest = everything else on the machine (other people's work, the kernel); "
             "steal = time the hypervisor gave our virtual CPUs to another guest.",
             f"Targets: all in <= {TARGET_SECONDS:g} s, >= {TARGET_RATIO:g}x encrypt-only; every push 201, "
             "no rejection, each subscription once, every prompt sent by push."]
    for d in results:
        lines.append(f"  {d['label']}:")
        lines += [f"    {line}" for line in verdicts(d)]
        disp = d["dispatcher"]
        lines.append(f"    dispatcher said: {disp['summary']!r}; {disp['log_lines']} log lines; problems: "
                     f"{disp['log_problems'] or 'none'}; CPU {disp['cpu_s']:.2f} s ({disp['user_s']:.2f} user, "
                     f"{disp['system_s']:.2f} system; {d['empty_pass']['cpu_s']:.2f} s and "
                     f"{d['empty_pass']['seconds']:.2f} s wall with nothing due); receiver CPU "
                     f"{d['receiver']['cpu_s']:.2f} s")
        for name, ph in d.get("phases", {}).items():
            lines.append(f"    step {name:17} x{ph['calls']:<4} wall {ph['wall_s']:6.2f} s "
                         f"({ph['wall_s'] / d['count'] * 1000:.2f} ms/msg), CPU {ph['process_cpu_s']:6.2f} s "
                         f"({ph['process_cpu_s'] / d['count'] * 1000:.2f} ms/msg; main thread "
                         f"{ph['main_thread_cpu_s']:.2f} s)")
        if d["profile"]:
            p = d["profile"]
            lines.append(f"    profiled pass: {p['pass_seconds']:.2f} s with {p['threads']} push threads "
                         "(cProfile with a CPU-time clock in every thread slows it down)")
            lines.append(p["text"])
        else:
            lines.append(f"    encrypt-only before/after: {d['encrypt_rates'][0]:.0f} / {d['encrypt_rates'][1]:.0f} "
                         f"msgs/s; machine busy before the run: {d['quiet_busy_percent']} %")
    if any(not passed(d) for d in results if not d["profile"]) and not any(d["profile"] for d in results):
        lines.append("A target was missed: `--profile` (run.py: `--fanout-profile`) shows where the "
                     "dispatcher's CPU goes.")
    return "\n".join(lines)


def run(databases: list[str], args) -> tuple[list[dict], str]:
    """Run the fan-out on each database; (results, the printable report)."""
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="eventmate-fanout-"))
    try:
        for name in databases:
            if name == "postgresql" and not os.environ.get("EVENTMATE_TEST_POSTGRES_URL"):
                print("fan-out, PostgreSQL SKIPPED: EVENTMATE_TEST_POSTGRES_URL is not set "
                      "(run through `make bench` or scripts/with-postgres.sh).", flush=True)
                continue
            plan = [{}] * args.runs + list(args.variant or []) + ([{"profile": True}] if args.profile else [])
            for variant in plan:
                result = bench_one(name, args, workdir, variant)
                results.append(result)
                if not result["profile"]:
                    print(f"  {result['label']}: {result['count']} prompts in {result['seconds']:.2f} s "
                          f"({result['rate']:.0f}/s; encrypt-only {result['encrypt_rate']:.0f}/s, "
                          f"ratio {result['ratio']:.3f}), peak RSS {result['max_rss_mb']:.1f} MB, "
                          f"dispatcher CPU {result['cpu_ms_per_message']:.2f} ms/msg, "
                          f"{_mark(passed(result))}", flush=True)
        layers = components(1000, args.sample_every) if args.profile else []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(results, args.count)
    if layers:
        text += ("\nOne push, layer by layer (this process, one thread, no profiler; the push service in "
                 "its own process):\n")
        text += "\n".join(f"  {cpu:6.2f} ms CPU {wall:6.2f} ms wall  {name}" for name, cpu, wall in layers)
        results.append({"components": [{"step": n, "cpu_ms": c, "wall_ms": w} for n, c, w in layers]})
    return results, text


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The fan-out's options; run.py adds them with prefix 'fanout-'."""
    parser.add_argument(f"--{prefix}count", type=int, default=COUNT, help="due prompts (and subscriptions)")
    parser.add_argument(f"--{prefix}sample-every", type=int, default=SAMPLE_EVERY,
                        help="the receiver decrypts every Nth subscription's push (VAPID is checked on all)")
    parser.add_argument(f"--{prefix}batch", type=int, default=None,
                        help="EVENTMATE_DISPATCH_BATCH for the dispatcher (default: the app's)")
    parser.add_argument(f"--{prefix}runs", type=int, default=1, help="timed runs per database")
    parser.add_argument(f"--{prefix}profile", action="store_true",
                        help="also a profiled fan-out per database, and the cost of each layer of one push")
    parser.add_argument(f"--{prefix}profile-top", type=int, default=25, help="functions listed")
    parser.add_argument(f"--{prefix}variant", action="append", metavar="SPEC", type=parse_variant,
                        help="also run a variant, to measure a fix without editing the app: processes=N "
                             "(N `flask send-prompts` at once), batch=N (EVENTMATE_DISPATCH_BATCH), "
                             "threads=N (push threads), phases=1 (time each step of a batch), profile=1 "
                             "(profile that variant); comma-separated, repeatable")
    parser.add_argument(f"--{prefix}quiet-wait", type=float, default=20.0,
                        help="seconds to wait for the machine to go quiet before the fan-out")


def options(args, prefix: str = "") -> SimpleNamespace:
    """The fan-out's options from a namespace parsed with add_arguments(prefix=...)."""
    key = prefix.replace("-", "_")
    return SimpleNamespace(**{name: getattr(args, key + name) for name in (
        "count", "sample_every", "batch", "runs", "profile", "profile_top", "quiet_wait", "variant")})


def main() -> int:
    if sys.argv[1:2] == ["--dispatch-child"]:
        _dispatch_child(json.loads(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    add_arguments(parser)
    args = parser.parse_args()
    if args.count < 4:
        parser.error("--count must be at least 4 (each attendee picks three others)")
    results, text = run(args.databases, options(args))
    print()
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
