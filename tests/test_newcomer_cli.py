"""What a newcomer tripped on, part two (issue 10, defects 6, 9, 11, 12, 13): the command line
and `make run` as an operator meets them, a check-in form that outlives its moment, and
invitation dates. Each test failed before its fix."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import EVENING, PASSWORD, login, post, profile, text
from test_make_run import _free_port, _healthy

from eventmate import addresses, clock, events, organisers
from eventmate.cli import DEMO_EMAIL, DEMO_PASSWORD
from eventmate.extensions import db
from eventmate.models import Attendee, Event, Organiser

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKENS_RE = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


def _tokens(response) -> dict:
    return dict(TOKENS_RE.findall(text(response)))


def _checkin_link(output: str) -> str:
    """The path of the check-in link `demo` printed."""
    return urlsplit(re.search(r"Check-in link:\s+(\S+)", output).group(1)).path


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- defect 6: the command line on a new install ------------------------------------------

def test_demo_leaves_the_first_signup_to_the_person_trying_it(app, runner, client, other_client):
    """`demo` on an empty install took the free first sign-up, silently."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "/organiser/signup" in result.output and "first sign-up" in result.output
    assert client.get("/organiser/signup").status_code == 200
    response = post(client, "/organiser/signup", {"email": "me@example.org", "password": PASSWORD})
    assert response.status_code == 302, text(response)
    with app.app_context():
        founder = db.session.scalar(sa.select(Organiser.email).where(Organiser.is_founder.is_(True)))
    assert founder == "me@example.org"
    # Now it is taken: the next person needs an invitation, and the demo still logs in.
    assert other_client.get("/organiser/signup").status_code == 403
    login(other_client, type("O", (), {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "/organiser/signup" not in again.output


def test_demo_gives_back_a_first_signup_an_earlier_version_took(app, runner, client):
    with app.app_context():  # what `demo` used to leave behind on an empty install
        organisers.create_organiser(db.session, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        db.session.commit()
    assert client.get("/organiser/signup").status_code == 403
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert client.get("/organiser/signup").status_code == 200


def test_command_line_links_follow_eventmate_port(sqlite_template, tmp_path):
    """As an operator runs them: the project's own flask, in a real process."""
    db_file = tmp_path / "eventmate.sqlite3"
    shutil.copy(sqlite_template, db_file)
    env = {**os.environ, "EVENTMATE_DATABASE_URL": f"sqlite:///{db_file}", "EVENTMATE_PORT": "8123"}
    env.pop("EVENTMATE_BASE_URL", None)

    def flask(*args: str) -> str:
        done = subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    created = flask("create-organiser", "--email", "lee@example.org", "--password", PASSWORD)
    demo = flask("demo")
    assert "http://127.0.0.1:8123/organiser/login" in created
    assert "http://127.0.0.1:8123/organiser/login" in demo and "http://127.0.0.1:8123/c/" in demo
    assert ":5000" not in created + demo


def test_readme_runs_the_projects_own_flask():
    """A bare `flask --app app …` runs whatever flask is first on PATH, not the one `make run`
    installed; Quick start stays two commands."""
    readme = (ROOT / "README.md").read_text()
    assert re.findall(r"(?<![/\w])flask --app app[^`\n]*", readme) == []
    quick_start = readme.split("## Quick start", 1)[1].split("```")[1]
    assert quick_start.split() == ["sh", "make", "run", "make", "test"]


# --- defect 12: `demo` again on a later day -------------------------------------------------

def test_demo_on_a_later_day_is_an_evening_on_now(app, runner, client):
    """Yesterday's demo event was reused: "Demo ready" with a check-in link answering 403 (or a
    CheckInClosed traceback). Also after its data was deleted, and after check-in was closed."""
    clock.set_now(EVENING)
    assert runner.invoke(args=["demo"]).exit_code == 0
    for later, before in [(EVENING + timedelta(days=1), None),
                          (EVENING + timedelta(days=200), "send-prompts"),  # retention deletes its people
                          (EVENING + timedelta(days=200, minutes=5), "close")]:
        clock.set_now(later)
        if before == "send-prompts":
            assert "deleted the attendee data" in runner.invoke(args=["send-prompts"]).output
        if before == "close":
            with app.app_context():
                events.set_checkin_mode(db.session, db.session.scalar(sa.select(Event)), "closed")
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
        assert "Demo ready" in result.output
        form = client.get(_checkin_link(result.output))
        assert form.status_code == 200 and "A little about you" in text(form), later
        with app.app_context():
            event = db.session.scalar(sa.select(Event))
            assert event.starts_at <= clock.now() < event.ends_at
        assert _count(app, Event) == 1
        assert _count(app, Attendee, Attendee.checked_in_at.isnot(None), Attendee.event_id == event.id) == 4


# --- defect 9: a check-in form that outlives its moment -----------------------------------

ANSWERS = profile("Zoë Martin", looking_for="A buyer at a hotel group who cares about local bakeries")


def _open_form(app, event):
    phone = app.test_client()
    form = phone.get(event.checkin_path)
    assert form.status_code == 200
    return phone, _tokens(form)


def _shows_answers(page: str) -> bool:
    return 'value="Zoë Martin"' in page and ANSWERS["looking_for"] in page and "Traceback" not in page


def test_checkin_closing_while_someone_types_keeps_their_answers(app, make_organiser, make_event,
                                                                  at_the_event):
    """It was a bare "Check-in is closed" page, and everything typed was gone."""
    event = make_event(make_organiser())
    phone, tokens = _open_form(app, event)
    with app.app_context():
        events.set_checkin_mode(db.session, db.session.get(Event, event.id), "closed")
    refused = phone.post(event.checkin_path, data={**ANSWERS, **tokens})
    page = text(refused)
    assert refused.status_code == 403
    assert _shows_answers(page) and "closed while you were filling this in" in page
    assert _count(app, Attendee) == 0
    with app.app_context():  # the organiser opens it again; the same form, one tap
        events.set_checkin_mode(db.session, db.session.get(Event, event.id), "auto")
    retried = phone.post(event.checkin_path, data={**ANSWERS, **_tokens(refused)})
    assert retried.status_code == 302
    assert _count(app, Attendee, Attendee.name == "Zoë Martin") == 1


def test_a_checkin_form_whose_session_is_gone_comes_back_with_its_answers(app, make_organiser,
                                                                          make_event, at_the_event):
    """A phone that closed its browser while its owner typed has no session cookie, so the
    CSRF token is refused: that was a bare error page, and the answers were gone."""
    event = make_event(make_organiser())
    phone, tokens = _open_form(app, event)
    phone.delete_cookie("session")
    refused = phone.post(event.checkin_path, data={**ANSWERS, **tokens})
    page = text(refused)
    assert refused.status_code == 400
    assert _shows_answers(page) and "Your answers are still here" in page
    assert _count(app, Attendee) == 0
    retried = phone.post(event.checkin_path, data={**ANSWERS, **_tokens(refused)})
    assert retried.status_code == 302
    assert _count(app, Attendee, Attendee.name == "Zoë Martin") == 1


def test_a_poster_key_changed_while_someone_types_shows_what_they_typed(app, make_organiser,
                                                                        make_event, at_the_event):
    event = make_event(make_organiser())
    phone, tokens = _open_form(app, event)
    with app.app_context():
        events.rotate_checkin_key(db.session, db.session.get(Event, event.id))
    refused = phone.post(event.checkin_path, data={**ANSWERS, **tokens})
    page = text(refused)
    assert refused.status_code == 404 and "no longer valid" in page
    assert "Zoë Martin" in page and ANSWERS["looking_for"] in page
    assert tokens["form_token"] not in page  # the page's own tokens are never shown back


# --- defect 11: 0.0.0.0 is not an address to open ------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "[::]"])  # noqa: S104 (a URL, not a bind)
def test_a_poster_for_an_unspecified_address_says_phones_cannot_open_it(make_app, make_organiser,
                                                                        make_event, host):
    """It carried only the plain-http warning."""
    client = make_app(BASE_URL=f"http://{host}:5000").test_client()
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    for path in (f"/organiser/events/{event.id}", f"/organiser/events/{event.id}/poster"):
        page = text(client.get(path))
        assert "no phone can open" in page, path
        lan = addresses.lan_address()
        if lan:
            assert f"http://{lan}:5000" in page


def test_make_run_on_every_address_says_where_phones_find_it(sqlite_template, tmp_path):
    """`EVENTMATE_HOST=0.0.0.0 make run` said "Open that address" of http://0.0.0.0:5000."""
    db_file = tmp_path / "eventmate.sqlite3"
    shutil.copy(sqlite_template, db_file)
    stamp = tmp_path / "installed"  # newer than requirements.txt: make installs nothing
    stamp.touch()
    port = _free_port()
    env = {**os.environ, "EVENTMATE_DATABASE_URL": f"sqlite:///{db_file}"}
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen(["make", "--no-print-directory", "run", f"BIN={BIN}", f"STAMP={stamp}",
                                "EVENTMATE_HOST=0.0.0.0", f"EVENTMATE_PORT={port}"],
                               cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(f"http://127.0.0.1:{port}/healthz") and time.monotonic() < deadline:
            assert run.poll() is None, log.read_text()
            time.sleep(0.2)
        assert _healthy(f"http://127.0.0.1:{port}/healthz"), log.read_text()
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            raise
        time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):  # test_make_run checks Ctrl-C; here only tidy up
            os.killpg(run.pid, signal.SIGKILL)
    output = log.read_text()
    assert "http://0.0.0.0" not in output and "http://[::]" not in output, output
    lan = addresses.lan_address()
    if lan:
        assert f"EventMate is starting on http://{lan}:{port}" in output, output
        assert "Open that address" in output
    else:
        assert "this computer's address on your network" in output, output


def test_unspecified_and_loopback_addresses_are_for_this_computer_only():
    local = ("0.0.0.0", "::", "[::]", "127.0.0.1", "::1", "localhost", "LOCALHOST")  # noqa: S104 (names, not binds)
    for host in local:
        assert addresses.is_local_only(host), host
    for host in ("192.168.1.20", "fd00::2", "meet.example.org"):
        assert not addresses.is_local_only(host), host
    lan = addresses.lan_address()
    assert lan is None or not addresses.is_local_only(lan)


# --- defect 13: invitation dates in the organiser's time zone ------------------------------

def test_invitation_dates_are_in_the_time_zone_of_the_organisers_events(app, client, make_organiser,
                                                                        make_event, other_client):
    """They were UTC dates: made at 01:30 on 15 May in Auckland showed "Made 14 May"."""
    organiser = make_organiser()
    make_event(organiser, timezone="Pacific/Auckland", starts_local="2026-05-20T18:00",
               ends_local="2026-05-20T22:00")
    clock.set_now(datetime(2026, 5, 14, 13, 30, tzinfo=UTC))  # 01:30 on 15 May in Auckland
    login(client, organiser)
    post(client, "/organiser/invitations")
    page = text(client.get("/organiser/invitations"))
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "Made 15 May 2026" in words and "Made 14 May" not in words
    assert "expires Fri 22 May, 01:30" in words  # seven days, to the minute
    assert "Times in Pacific/Auckland" in words
    # Someone with no event yet: UTC, and the page says so.
    newcomer = make_organiser()
    login(other_client, newcomer)
    post(other_client, "/organiser/invitations")
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text(other_client.get("/organiser/invitations"))))
    assert "Times in UTC." in words and "Made 14 May 2026" in words and "expires Thu 21 May, 13:30" in words
