"""Importing registrations (issue "The organiser dashboard", people and data): Eventbrite and
Luma exports detected by their headers, a generic name,email file, a preview with per-row
problems that writes nothing, the door listing people not here yet, and a QR check-in with the
same email claiming the imported row instead of adding the person twice."""

from __future__ import annotations

import csv
import html
import io
import re
import threading
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from conftest import csrf_token, login, post, profile, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from eventmate import checkin, imports, notes, picks
from eventmate.extensions import db
from eventmate.models import Attendee, Event, Organiser, OrganiserAction

EVENTBRITE_HEADER = ["Order #", "Order Date", "First Name", "Last Name", "Email", "Quantity", "Ticket Type",
                     "Order Type", "Total Paid", "Eventbrite Fees", "Eventbrite Payment Processing",
                     "Attendee Status", "Job Title", "Company"]
LUMA_HEADER = ["api_id", "name", "first_name", "last_name", "email", "phone_number", "created_at",
               "approval_status", "checked_in_at", "custom_source", "qr_code_url", "amount", "amount_tax",
               "currency", "coupon_code", "ticket_type_id", "ticket_name"]


def csv_bytes(rows, delimiter=",", encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def eventbrite_file() -> bytes:
    def order(n, first, last, email, status="Attending"):
        return [str(1187000000 + n), "2026-05-01 10:12:00", first, last, email, "1", "General admission",
                "Eventbrite Completed", "GBP 12.00", "GBP 1.20", "GBP 0.40", status, "Founder", "Studio Lima"]
    return csv_bytes([EVENTBRITE_HEADER,
                      order(1, "Ana", "Lima", "Ana.Lima@Example.org"),
                      order(2, "Zoë", "Émond", "zoe@example.org"),
                      order(3, "Kwame", "Mensah", "kwame@example"),            # no dot in the domain
                      order(4, "Priya", "Nair", "priya@example.org", "Not Attending"),
                      order(5, "Ana", "Lima", "ana.lima@example.org"),        # bought twice
                      order(6, "", "", "nobody@example.org")])


def luma_file() -> bytes:
    def guest(n, name, email, status):
        first, _, last = name.partition(" ")
        return [f"gst-{n:06d}", name, first, last, email, "", "2026-05-02T09:00:00.000Z", status, "",
                "", f"https://lu.ma/check-in/{n}", "0", "0", "", "", "evtticket-1", "Free"]
    return csv_bytes([LUMA_HEADER,
                      guest(1, "Björn Ólafsson", "bjorn@example.is", "approved"),
                      guest(2, "Chloé Martin", "chloe@example.fr", "declined"),
                      guest(3, "José Ruiz", "jose@example.es", "waitlist"),
                      guest(4, "Mei Chen", "mei@example.org", "approved")], encoding="utf-8")


@pytest.fixture
def org(app, client, make_organiser, make_event, at_the_event):
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    return SimpleNamespace(organiser=organiser, event=event, people=f"/organiser/events/{event.id}/people",
                           importing=f"/organiser/events/{event.id}/people/import")


def check_in(client, path, follow_redirects=False, **fields):
    page = client.get(path)
    token = re.search(r'name="form_token" value="([^"]+)"', text(page)).group(1)
    return post(client, path, {**profile(**fields), "form_token": token}, follow_redirects=follow_redirects)


def upload(client, org, data: bytes, filename="registrations.csv"):
    """Post a file as a browser does. The body is built in memory: the test client would spool a
    large one to a temporary file it never closes."""
    boundary, body = encode_multipart({"csrf_token": csrf_token(client),
                                       "file": FileStorage(io.BytesIO(data), filename, content_type="text/csv")})
    return client.post(org.importing, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def confirm(client, org, preview_response):
    rows = re.search(r'name="rows" value="([^"]*)"', text(preview_response), re.S).group(1)
    return post(client, f"{org.importing}/confirm", {"rows": html.unescape(rows)}, follow_redirects=True)


def people(app, event_id):
    with app.app_context():
        return db.session.execute(sa.select(Attendee.name, Attendee.email, Attendee.checked_in_at.is_not(None))
                                  .where(Attendee.event_id == event_id).order_by(Attendee.id)).all()


def test_an_eventbrite_export_is_previewed_row_by_row_and_written_only_when_confirmed(app, client, org):
    preview = upload(client, org, eventbrite_file(), "Attendee Summary Report.csv")
    page = text(preview)
    assert preview.status_code == 200
    assert "read as Eventbrite" in page and "2 people to add" in page
    assert "Not an email address" in page and "Left out: Not attending (Eventbrite)" in page
    assert "Same email as line 2" in page and "No name" in page
    assert "3 rows have problems" in page
    assert people(app, org.event.id) == []  # nothing written by a preview

    done = confirm(client, org, preview)
    assert "2 people are on the list" in text(done)
    assert people(app, org.event.id) == [("Ana Lima", "ana.lima@example.org", False),
                                          ("Zoë Émond", "zoe@example.org", False)]
    listed = text(client.get(f"{org.people}?show=registered"))
    assert "Ana Lima" in listed and "registered, not here yet" in listed and "imported registrations" in listed
    # On the list is not checked in: the live counters and who's here don't count them.
    assert "<dd data-checked-in>0</dd>" in text(client.get(f"/organiser/events/{org.event.id}"))
    # The same file again adds nobody.
    again = upload(client, org, eventbrite_file())
    assert "0 people to add" in text(again) and text(again).count("Already on the list") == 2


def test_a_luma_export_leaves_out_who_is_not_coming(app, client, org):
    page = text(upload(client, org, luma_file(), "guests.csv"))
    assert "read as Luma" in page and "2 people to add" in page
    assert "Declined (Luma)" in page and "On the waitlist (Luma)" in page
    confirm(client, org, upload(client, org, luma_file()))
    assert [p.name for p in people(app, org.event.id)] == ["Björn Ólafsson", "Mei Chen"]


@pytest.mark.parametrize("data, expected", [
    (csv_bytes([["Full name", "E-mail"], ["Ana Lima", "ana@example.org"]], delimiter=";"), ("Ana Lima", "ana@example.org")),
    (csv_bytes([["Ana Lima", "ana@example.org"]]), ("Ana Lima", "ana@example.org")),  # no header
    (csv_bytes([["First name", "Surname", "Email address"], ["Ana", "Lima", "ANA@example.org"]], delimiter="\t"),
     ("Ana Lima", "ana@example.org")),
    ("name,email\r\nJosé Ruiz,jose@example.es\r\n".encode("utf-16"), ("José Ruiz", "jose@example.es")),
])
def test_a_generic_name_and_email_file_in_any_common_shape(app, client, org, data, expected):
    preview = upload(client, org, data)
    assert "1 person to add" in text(preview)
    confirm(client, org, preview)
    assert people(app, org.event.id) == [(*expected, False)]


@pytest.mark.parametrize("data, message", [
    ("name,email\nJosé Ruiz,jose@example.es\n".encode("cp1252"), "isn't UTF-8 text"),
    (csv_bytes([["Company", "Phone"], ["Studio Lima", "+44 20 7946 0000"]]), "couldn't find a name and an email column"),
    (b"PK\x03\x04" + b"\x00" * 200, "looks like an Excel file"),
    (b"", "This file is empty"),
    (b"   \r\n", "This file is empty"),
    (csv_bytes([["name", "email"]]), "only a header row"),
    (b"name,email\nBen Okafor,ben@example.org\n\"Ana Lima,ana@example.org\n" + b"x" * 200_000,
     'a quote (") seems to be left open near line'),
])
def test_a_file_that_cannot_be_read_says_why_and_writes_nothing(app, client, org, data, message):
    response = upload(client, org, data)
    assert response.status_code == 422
    assert message in html.unescape(text(response)) and 'aria-invalid="true"' in text(response)
    assert people(app, org.event.id) == []


def test_no_file_chosen_says_so(app, client, org):
    response = client.post(org.importing, data={"csrf_token": csrf_token(client)}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Please choose a CSV file." in text(response)


def test_a_ten_megabyte_file_is_refused_on_the_import_page(app, client, org):
    big = b"name,email\n" + b"Ana Lima,ana@example.org\n" * (10 * 1024 * 1024 // 25)
    response = upload(client, org, big)
    assert response.status_code == 413
    assert "larger than 5 MB" in text(response) and "Import registrations" in text(response)
    assert people(app, org.event.id) == []
    # A file over 1 MB (the limit elsewhere) but under the import's is read.
    many = csv_bytes([["name", "email"]] + [[f"Guest {n} " + "x" * 68, f"guest{n}@a-long-example-domain.org"]
                                            for n in range(9_000)])
    assert len(many) > 1024 * 1024
    assert "9,000 people to add" in text(upload(client, org, many))


def test_export_then_import_gives_the_same_people(app, client, org, make_event):
    for name, email in (("Ana Lima", "ana@example.org"), ("=Zoë Émond", "zoe@example.org"),
                        ("Kwame, Jr.", "k@example.org")):
        check_in(app.test_client(), org.event.checkin_path, name=name, email=email, contact_consent="yes")
    exported = client.post(f"{org.people}.csv", data={"csrf_token": csrf_token(client)}).data
    assert b"'=Zo" in exported  # neutralised for spreadsheets, and read back as typed
    later = make_event(SimpleNamespace(id=org.organiser.id), name="The next evening")
    org2 = SimpleNamespace(importing=f"/organiser/events/{later.id}/people/import")
    preview = upload(client, org2, exported, "eventmate-people.csv")
    assert "3 people to add" in text(preview)
    confirm(client, org2, preview)
    came = sorted((name, email) for name, email, _ in people(app, org.event.id))
    assert sorted((name, email) for name, email, _ in people(app, later.id)) == came
    assert len(came) == 3


def test_a_registered_person_who_scans_the_poster_is_matched_not_added_twice(app, client, org):
    confirm(client, org, upload(client, org, csv_bytes([["name", "email"], ["Anastasia Lima-Registered", "ana@example.org"]])))
    phone = app.test_client()
    welcome = check_in(phone, org.event.checkin_path, name="Ana", email="ANA@Example.org",
                                follow_redirects=True)
    assert welcome.status_code == 200
    assert "Anastasia" not in text(welcome) and "Registered" not in text(welcome)
    assert people(app, org.event.id) == [("Ana", "ana@example.org", True)]
    with app.app_context():
        ana = db.session.scalar(sa.select(Attendee))
        assert ana.imported_at is not None and ana.what_i_do == profile()["what_i_do"]
        assert ana.search_text.startswith("ana ")
    listed = text(client.get(org.people))
    assert "Ana" in listed and '<span class="muted">registered, not here yet</span>' not in listed
    # The same email on another phone is someone else now: a new row, nothing of Ana's.
    other = app.test_client()
    page = text(check_in(other, org.event.checkin_path, name="Not Ana", email="ana@example.org",
                                  follow_redirects=True))
    assert "Not Ana" in page
    assert len(people(app, org.event.id)) == 2


def test_a_registration_once_on_a_phone_is_never_claimed_again(app, client, org):
    """Claimed by phone A, then undone at the door: a phone typing the same email must not
    get A's row (it holds A's picks and notes)."""
    confirm(client, org, upload(client, org, csv_bytes([["name", "email"], ["Ana Lima", "ana@example.org"],
                                                        ["Ben Okafor", "ben@example.org"]])))
    ana_phone = app.test_client()
    check_in(ana_phone, org.event.checkin_path, name="Ana Lima", email="ana@example.org")
    with app.app_context():
        ana = db.session.scalar(sa.select(Attendee).where(Attendee.name == "Ana Lima"))
        ben = db.session.scalar(sa.select(Attendee).where(Attendee.name == "Ben Okafor"))
        post(client, f"{org.people}/{ben.id}/check-in", {})
        picks.pick(db.session, db.session.get(Attendee, ana.id), ben.id)
        notes.save(db.session, db.session.get(Attendee, ana.id), ben.id, {"working_on": "SECRET-PLAN"},
                   str(uuid.uuid4()))
        ana_id = ana.id
    post(client, f"{org.people}/{ana_id}/undo", {})
    thief = app.test_client()
    check_in(thief, org.event.checkin_path, name="Mallory", email="ana@example.org")
    with app.app_context():
        assert db.session.get(Attendee, ana_id).name == "Ana Lima"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 3
    assert "SECRET-PLAN" not in text(thief.get(f"/e/{org.event.slug}"))


def test_a_registration_checked_in_at_the_door_can_be_given_a_code(app, client, org):
    confirm(client, org, upload(client, org, csv_bytes([["name", "email"], ["Ben Okafor", "ben@example.org"]])))
    with app.app_context():
        ben_id = db.session.scalar(sa.select(Attendee.id))
    assert "Ben Okafor is checked in." in text(post(client, f"{org.people}/{ben_id}/check-in", {}, follow_redirects=True))
    handed = post(client, f"{org.people}/{ben_id}/code", {})
    assert handed.status_code == 200 and "A code for Ben Okafor" in text(handed)
    assert people(app, org.event.id) == [("Ben Okafor", "ben@example.org", True)]


def test_another_organiser_cannot_import_into_my_event(app, client, org, make_organiser):
    login(other := app.test_client(), make_organiser())
    assert other.get(org.importing).status_code == 404
    response = other.post(org.importing, data={"csrf_token": csrf_token(other),
                                               "file": (io.BytesIO(b"name,email\nEve,eve@example.org\n"), "x.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 404
    assert post(other, f"{org.importing}/confirm", {"rows": "name,email\nEve,eve@example.org\n"}).status_code == 404
    assert people(app, org.event.id) == []


def _threads(target, n):
    barrier = threading.Barrier(n)
    errors = []

    def run(i):
        try:
            barrier.wait()
            target(i)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors


def test_two_imports_of_the_same_people_at_once_add_each_person_once(app, org):
    data = csv_bytes([["name", "email"]] + [[f"Guest {n}", f"guest{n}@example.org"] for n in range(40)])

    def run(_i):
        with app.app_context():
            event = db.session.get(Event, org.event.id)
            imports.confirm(db.session, event, db.session.get(Organiser, org.organiser.id), data)
            db.session.remove()

    _threads(run, 4)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 40
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrganiserAction)) >= 1


def test_two_phones_typing_one_registered_email_at_once_claim_it_once(app, org):
    with app.app_context():
        imports.confirm(db.session, db.session.get(Event, org.event.id),
                        db.session.get(Organiser, org.organiser.id), b"name,email\nAna Lima,ana@example.org\n")
    secret = app.config["SECRET_KEY"]

    def run(i):
        with app.app_context():
            event = db.session.get(Event, org.event.id)
            checkin.check_in(db.session, event, profile(f"Phone {i}", email="ana@example.org"),
                             form_token=checkin.new_form_token(secret), secret=secret)
            db.session.remove()

    _threads(run, 4)
    with app.app_context():
        rows = db.session.execute(sa.select(Attendee.name, Attendee.imported_at.is_not(None),
                                            Attendee.checked_in_at.is_not(None))).all()
    assert len(rows) == 4 and all(checked for *_, checked in rows)
    assert sum(1 for _, imported, _ in rows if imported) == 1
    assert "Ana Lima" not in [name for name, *_ in rows]


def test_attendees_see_nothing_of_people_registered_but_not_here(app, client, org, make_attendee):
    confirm(client, org, upload(client, org, csv_bytes([["name", "email"], ["Registered Rita", "rita@example.org"]])))
    with app.app_context():
        rita_id = db.session.scalar(sa.select(Attendee.id))
    others = [make_attendee(org.event, f"Guest {n}") for n in range(4)]
    phone = app.test_client()
    post(phone, "/return", {"code": others[0].code})
    slug = org.event.slug
    assert "Registered Rita" not in text(phone.get(f"/e/{slug}/people"))
    assert "Registered Rita" not in text(phone.get(f"/e/{slug}/people?q=rita"))
    for other in others[1:]:
        post(phone, f"/e/{slug}/picks", {"person": str(other.id)})
    refused = post(phone, f"/e/{slug}/picks", {"person": str(rita_id)})  # three chosen already
    assert refused.status_code >= 400 and "Rita" not in text(refused)
