"""The morning fan-out under several real worker processes: every prompt is delivered
exactly once, and a `kill -9` mid-pass loses nothing and repeats at most what was in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from push_fixtures import push_receiver_fixture  # noqa: F401

from eventmate import clock, tokens

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = 1000
WORKERS = 4
BATCH = 50
#: Long enough for a batch of 50 on a busy 2-core machine, short enough to wait for once.
KILL_TEST_CLAIM = 10


def _seed(url: str, receiver, count: int) -> list[dict]:
    """An event whose `count` attendees each picked one person, with one subscribed phone each,
    and their prompts due a minute ago (bulk SQL: the setup is not what is tested)."""
    engine = sa.create_engine(url)
    now = clock.now()
    subs = [receiver.new_subscription() for _ in range(count)]
    md = sa.MetaData()
    md.reflect(engine, only=["organiser", "event", "attendee", "pick", "device", "device_attendee",
                             "push_subscription", "message"])
    t = md.tables
    with engine.begin() as conn:
        conn.execute(t["organiser"].insert(), {"id": 1, "email": "o@example.org", "password_hash": "x",
                                                "created_at": now})
        conn.execute(t["event"].insert(), {
            "id": 1, "organiser_id": 1, "slug": "race01", "checkin_key": "k" * 16, "name": "Race night",
            "venue": "Hall", "starts_at": now - timedelta(hours=16), "ends_at": now - timedelta(hours=12),
            "timezone": "UTC", "prompt_hour": 9, "checkin_mode": "auto", "created_at": now})
        people = [{"id": i, "event_id": 1, "name": f"Guest {i}", "what_i_do": "x", "how_i_help": "x",
                   "looking_for": "x", "checked_in_at": now - timedelta(hours=14),
                   "return_code_hash": tokens.digest(f"code{i}"), "pickme_token": f"p{i}", "search_text": ""}
                  for i in range(1, count + 2)]
        conn.execute(t["attendee"].insert(), people)
        target = count + 1
        conn.execute(t["pick"].insert(), [{"event_id": 1, "picker_id": i, "picked_id": target, "slot": 0,
                                           "created_at": now} for i in range(1, count + 1)])
        conn.execute(t["device"].insert(), [{"id": i, "credential_hash": tokens.digest(f"d{i}"), "created_at": now,
                                             "last_seen_at": now} for i in range(1, count + 1)])
        conn.execute(t["device_attendee"].insert(), [{"device_id": i, "attendee_id": i, "created_at": now}
                                                     for i in range(1, count + 1)])
        conn.execute(t["push_subscription"].insert(), [
            {"device_id": i, "endpoint": s["endpoint"], "endpoint_hash": tokens.digest(s["endpoint"]),
             "p256dh": s["keys"]["p256dh"], "auth": s["keys"]["auth"], "created_at": now, "confirmed_at": now}
            for i, s in enumerate(subs, start=1)])
        conn.execute(t["message"].insert(), [
            {"event_id": 1, "attendee_id": i, "kind": "prompt", "dedupe_key": f"prompt:{i}",
             "due_at": now - timedelta(minutes=1), "state": "pending", "attempts": 0, "outcome": "",
             "created_at": now} for i in range(1, count + 1)])
    engine.dispose()
    return subs


def _worker(url: str, logs: Path, claim_seconds: int = 120) -> subprocess.Popen:
    """`flask worker` in its own process, its output kept in a file for the failure message.

    A claim outlives any batch here (the default), except where a test kills a worker and
    wants its claims back soon: on a busy machine a batch can outlast a short claim, and then
    a second worker rightly takes it over and sends it again.
    """
    env = {**os.environ, "EVENTMATE_DATABASE_URL": url, "EVENTMATE_DISPATCH_CLAIM_SECONDS": str(claim_seconds),
           "EVENTMATE_DISPATCH_BATCH": str(BATCH), "EVENTMATE_PUSH_TIMEOUT_SECONDS": "5"}
    log = logs / f"worker-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--interval", "0.2"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.log = log
    return process


def _pending(url: str) -> int:
    """Prompts not yet sent. Only prompts: a prompt sent between 00:00 and 13:00 UTC (this
    event's zone) schedules its reminder for 8 hours later, a pending row by design. Counting
    those too made both tests wait for the whole timeout every morning (stop 17 skipped them)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM message WHERE kind = 'prompt' AND state <> 'sent'")).scalar()
    engine.dispose()
    return left


def _reminders_at_most_one_each(url: str) -> None:
    """Whenever the hour lets a reminder be due the same evening, each prompt sent schedules
    one: four workers at once never make two for anyone (the dedupe key holds it)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows, people = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT attendee_id) FROM message WHERE kind = 'reminder'")).one()
    engine.dispose()
    assert rows == people, (rows, people)


def _wait_until_all_sent(url: str, workers, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _pending(url) and time.monotonic() < deadline:
        for w in workers:
            assert w.poll() is None or w.returncode == -signal.SIGKILL, w.log.read_text()[-3000:]
        time.sleep(0.2)
    assert _pending(url) == 0, "prompts still unsent"


def _stop(workers) -> None:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=20)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()


def _delivered(receiver) -> Counter:
    return Counter(d.subscription_id for d in receiver.deliveries if d.status_returned == 201)


@pytest.mark.timeout(300)  # four processes on two cores: give a busy CI room
def test_four_workers_deliver_a_thousand_prompts_exactly_once(database_url, push_receiver, tmp_path):
    subs = _seed(database_url, push_receiver, PROMPTS)
    workers = [_worker(database_url, tmp_path) for _ in range(WORKERS)]
    try:
        _wait_until_all_sent(database_url, workers)
    finally:
        _stop(workers)
    delivered = _delivered(push_receiver)
    _reminders_at_most_one_each(database_url)
    assert len(delivered) == PROMPTS == len(subs)
    assert set(delivered.values()) == {1}, f"sent twice: {[k for k, v in delivered.items() if v > 1][:5]}"
    assert push_receiver.rejections == []


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_pass_loses_nothing_and_repeats_at_most_its_claims(database_url, push_receiver, tmp_path):
    _seed(database_url, push_receiver, PROMPTS)
    workers = [_worker(database_url, tmp_path, claim_seconds=KILL_TEST_CLAIM) for _ in range(WORKERS)]
    try:
        deadline = time.monotonic() + 60
        while len(push_receiver.deliveries) < PROMPTS // 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        engine = sa.create_engine(database_url)
        with engine.connect() as conn:  # what the dead worker had claimed and not recorded
            in_flight = conn.execute(sa.text(
                "SELECT count(*) FROM message WHERE state = 'pending' AND claimed_by LIKE :me"
            ), {"me": f"%:{victim.pid}:%"}).scalar()
        engine.dispose()
        workers.append(_worker(database_url, tmp_path, claim_seconds=KILL_TEST_CLAIM))  # a restart
        _wait_until_all_sent(database_url, workers)
    finally:
        _stop(workers)
    delivered = _delivered(push_receiver)
    assert len(delivered) == PROMPTS  # nothing lost
    duplicates = sum(count - 1 for count in delivered.values())
    assert in_flight <= BATCH
    assert duplicates <= in_flight, (duplicates, in_flight)
