"""Fuzzing every form and JSON body the app accepts (issue "Trust", made permanent).

Hypothesis builds requests from what a browser would send for each form (or what the pages'
scripts send as JSON) and then spoils them: Unicode edge cases (combining marks, right-to-left
text, emoji, the last code point), control characters, huge and empty values, numbers and
lists where text belongs, the same field twice, malformed JSON, the wrong content type, a
missing or wrong CSRF token. Whatever arrives, the app must answer below 500 and never show a
stack trace.

Each target gets its own world (one per test function, on both databases through the `app`
fixture); examples share it, so they tolerate what earlier examples changed (a pick removed,
a coffee answered), and a few targets put their piece of the world back before each example.

Profiles: `ci` (the default, part of `make test`) and `fuzz` (`make fuzz`, at least 10,000
examples per database), chosen with HYPOTHESIS_PROFILE. Every test prints how many examples
it ran; the module prints the totals at the end.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from conftest import EVENING, csrf_token, login
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from eventmate import clock, coffee, handover, letters, notes, organisers, picks
from eventmate.extensions import db, limiter
from eventmate.models import Attendee, Coffee

# --- profiles --------------------------------------------------------------------------------

#: Examples per target. `ci` keeps the whole file under a minute per database; `fuzz` runs
#: at least 10,000 examples per database across the targets (checked in `test_targets`).
EXAMPLES = {"ci": 20, "fuzz": 400}
for _name, _count in EXAMPLES.items():
    settings.register_profile(
        f"eventmate-{_name}", max_examples=_count, deadline=None, database=None, print_blob=False,
        # One world per test function, shared by its examples; huge values are the point.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in EXAMPLES:
    raise ValueError(f"HYPOTHESIS_PROFILE must be one of {sorted(EXAMPLES)}, not {PROFILE!r}")
FUZZ_SETTINGS = settings(settings.get_profile(f"eventmate-{PROFILE}"))

#: The long profile takes minutes per database: lift pytest-timeout's two minutes for it.
pytestmark = pytest.mark.timeout(120 if PROFILE == "ci" else 3600)

#: The morning after the evening (it ended 22:00 UTC): follow-up, inbox, coffee.
MORNING = EVENING + timedelta(hours=15, minutes=30)
#: What a stack trace in a page would look like.
TRACE_MARKERS = ("Traceback", 'File "/')

#: EVENTMATE_FUZZ_KEEP_GOING=path: don't stop at the first crash; append every one to that file
#: (to list them all at once; the tests then pass whatever they find).
KEEP_GOING = os.environ.get("EVENTMATE_FUZZ_KEEP_GOING")

#: Examples run, per (target, database) — printed per test and summed at the end.
COUNTS: Counter = Counter()
TIMES: Counter = Counter()

# Placeholders a drawn request carries; the live value is filled in when it is sent, so
# what Hypothesis prints stays readable and the example does not depend on one world.
CSRF, FORM_TOKEN, VERSION = "<csrf>", "<form_token>", "<version>"

# --- values ----------------------------------------------------------------------------------

CONTROL = st.characters(codec=None, categories=["Cc"])  # NUL, ESC, DEL, C1 …
FORMAT = st.characters(categories=["Cf"])  # RTL/LTR marks and overrides, ZWJ, BOM, soft hyphen
COMBINING = st.characters(categories=["Mn", "Me"])
ODD_PIECES = st.sampled_from([
    "\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627", "\u202e", "\u202b", "\u200f",  # RTL
    "\U0001f600", "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\U0001f44d\U0001f3fd", "\U0001f1ec\U0001f1e7", "Z\u0335\u0321\u031b\u0354a\u0335\u0301", "e\u0301", "\ufb01",
    "\ufdfa", "\U0010ffff", "\ufffd", "\ufeff", "\u2028", "\u2029", "\u0085", "\u00a0", "\u3000", "\ud7ff",
    "\U000e0041", "\u0130", "\u00df", "\u1e9e", "\u2126",
])
ODD_TEXT = st.lists(st.one_of(CONTROL, FORMAT, COMBINING, ODD_PIECES, st.text(max_size=3)),
                    min_size=1, max_size=25).map("".join)
TRICKY = st.sampled_from([
    "", " ", "\t", "\n", "\r\n", "\x00", "%00", "0", "-1", "00", "1.5", "1e309", "9" * 30, "9" * 5000,
    "\u00b2", "\u0661\u0662", "\U0001d7d9", "\u216b", "null", "true", "[]", "{}", "../../etc/passwd",
    "<script>alert(1)</script>", "' OR '1'='1", "%' --", "_%\\", "{{7*7}}", "%s%n", "${jndi:ldap://x}",
    "\u202eevil", "2026-02-30", "24:00", "23:59:60", "0001-01-01T00:00", "9999-12-31T23:59",
    "2026-05-14T18:30", "2026-05-15", "12:30", "UTC", "Factory", "localtime", "Europe/London", "A" * 300,
    "//evil.example", "/\t/evil.example", "/e/x?\nSet-Cookie: a=b", "javascript:alert(1)", "a@b.c",
    "nobody@example.org", "x" * 7, "AAAA-AAAA-AAAA-AAAA", "00000000-0000-4000-8000-000000000000",
])
#: Past the fields' limits, and past the 1 MB request limit (413).
HUGE = st.builds(lambda piece, times: (piece or "x") * times, st.text(min_size=1, max_size=3),
                 st.sampled_from([121, 1001, 2001, 5000, 60_000, 400_000]))
NUMBERS = st.one_of(st.integers(), st.floats()).map(str)
#: One form value as sent (text on the wire, whatever it meant).
VALUE = st.one_of(st.text(), ODD_TEXT, TRICKY, HUGE, NUMBERS, st.booleans().map(str))
#: In a URL (a path or a query string) long means a few kilobytes, not a megabyte.
URL_VALUE = st.one_of(st.text(), ODD_TEXT, TRICKY, NUMBERS,
                      st.builds(lambda piece, times: (piece or "x") * times, st.text(min_size=1, max_size=3),
                                st.sampled_from([121, 1001, 5000])))
#: Field names a browser sends as they are (a backslash is not escaped in multipart names).
ODD_NAMES = st.sampled_from(["a\\", "\\", 'a"', "a\r\nb", "", " ", "\x00", "csrf_token\\", "a[]", "a.b"])

JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), ODD_TEXT, TRICKY)
JSON_ANY = st.recursive(
    JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

RAW_TYPES = [
    "text/plain", "application/json", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-16", "multipart/form-data",
    "multipart/form-data; boundary=zzz", "application/xml", "application/octet-stream",
    "application/json; charset=latin-1", "", "*/*", "text/html; charset=\u00ff",
]
RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
    st.sampled_from([
        b"a=%zz&&=&b=%&%%%", b"=", b"&&&", b"a=1&a=2&a=3", b"\xff\xfe\x00a\x00=\x001", b"\x00" * 64,
        b'{"a": ', b"[" * 50_000, b"{" * 50_000, b'{"a":' * 20_000, b"1e999999", b"NaN", b"-Infinity",
        b'"\\ud800"', b'{"a": "\\u0000"}', b"\xef\xbb\xbf{}", b'{"__proto__": {}}',
        b"--zzz\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nhi\r\n--zzz--\r\n",
        b"--zzz\r\nContent-Disposition: form-data\r\n\r\n", b"--zzz\r\n" * 1000,
    ]),
)


# --- requests --------------------------------------------------------------------------------

@dataclass
class Req:
    """One request as drawn: form pairs (repeatable keys), or JSON, or raw bytes."""

    method: str
    path: str
    mode: str  # form | multipart | json | raw
    pairs: list = field(default_factory=list)
    json: Any = None
    raw: bytes = b""
    content_type: str = ""
    query: list = field(default_factory=list)
    csrf: str = "field"  # field | header | none | wrong | twice
    accept_json: bool = False


@dataclass(frozen=True)
class Target:
    """A form or JSON body: where it goes, who sends it, and what a browser would put in it."""

    name: str
    path: Any  # world → path
    who: str  # a role in `world.clients`, or "fresh": a new browser per example
    fields: dict = field(default_factory=dict)  # name → (world → strategy of valid values)
    query: dict = field(default_factory=dict)  # query-string fields, same shape
    method: str = "POST"
    moment: str = "evening"
    api: bool = False  # a JSON route: the body is JSON (`body`), CSRF in a header
    body: Any = None  # world → strategy of JSON bodies a script would send
    accept_json: bool = False
    before: Any = None  # (world, client) → None: put the target's piece of the world back


def fixed(*values):
    return lambda w: st.sampled_from(values)


def ids(*names):
    """Valid-looking person ids: people in the world (and myself, and someone elsewhere)."""
    return lambda w: st.sampled_from([str(getattr(w, n).id) for n in names])


def client_ids(w):
    return st.one_of(st.uuids(version=4).map(str), st.just("00000000-0000-4000-8000-000000000001"))


def _date(i):
    return lambda w: st.just(w.slots[f"date{i}"])


def _time(i):
    return lambda w: st.just(w.slots[f"time{i}"])


COFFEE_FIELDS = {**{f"date{i}": _date(i) for i in range(3)}, **{f"time{i}": _time(i) for i in range(3)},
                 "place": fixed("The Corner Café", ""), "version": fixed(VERSION, ""),
                 "from": fixed("follow-up", "thread")}
PROFILE_FIELDS = {"name": fixed("Ana Lima"), "what_i_do": fixed("Design studio"),
                  "how_i_help": fixed("Feedback"), "looking_for": fixed("A marketing lead"),
                  "contact": fixed("ana@studio.example · +44 20 7946 0958", ""),
                  "email": fixed("ana@mail.example", ""), "form_token": fixed(FORM_TOKEN)}
EVENT_FIELDS = {"name": fixed("Thursday founders evening"), "venue": fixed("The Corner Room"),
                "timezone": fixed("UTC", "Europe/London", "Asia/Tokyo", "America/St_Johns"),
                "starts_local": fixed("2026-05-14T18:00"), "ends_local": fixed("2026-05-14T22:00"),
                "prompt_hour": fixed("9", "0", "23")}
NOTE_FIELDS = {**{name: fixed("a podcast about small presses", "") for name, _ in notes.PROMPTS},
               **{notes.BASE + name: fixed("a podcast about small presses", "") for name, _ in notes.PROMPTS},
               "client_id": client_ids}
LETTER_FIELDS = {"body": fixed("Hi Ben,\n\nLovely to meet you."), "client_id": client_ids}
PASSWORDS = {"new_password": fixed("a new long password"), "new_password_again": fixed("a new long password")}


def _reset_coffee(w, client):
    """A's invitation to B is back on the table, whatever the last example did to it."""
    with w.app.app_context():
        db.session.execute(sa.update(Coffee).where(Coffee.id == w.coffee_id).values(
            state="proposed", proposer_id=w.a.id, starts_at=None))
        db.session.commit()


def _fresh_invite(w, client):
    with w.app.app_context():
        w.values["invite"] = organisers.create_invitation(
            db.session, db.session.get(organisers.Organiser, w.x.id))[1]


def _fresh_reset(w, client):
    with w.app.app_context():
        w.values["reset"] = organisers.request_password_reset(db.session, w.r.email)[1]


def _fresh_hello(w, client):
    """A home-screen hand-over for A, unused (each example may redeem the last one)."""
    w.values["hello"] = handover.make(w.app.config["SECRET_KEY"], w.event.id, w.a.code)


def _checkin_form(w, client):
    """The poster's form, opened in this browser: its one-time token (and any cookie with it)."""
    page = client.get(w.event.checkin_path).get_data(as_text=True)
    match = re.search(r'name="form_token" value="([^"]+)"', page)
    w.values["form_token"] = match.group(1) if match else ""


TARGETS = [
    # organisers
    Target("organiser.login", lambda w: "/organiser/login", "fresh",
           {"email": lambda w: st.sampled_from([w.x.email, "nobody@example.org"]),
            "password": lambda w: st.sampled_from([w.x.password, "wrong password"])},
           query={"next": fixed("/organiser/invitations", "/%09/evil.example")}),
    Target("organiser.signup", lambda w: "/organiser/signup", "fresh",
           {"email": lambda w: st.uuids().map(lambda u: f"{u.hex[:10]}@example.org"),
            "password": fixed("a good long password")},
           query={"invite": lambda w: st.just(w.values["invite"])}, before=_fresh_invite),
    Target("organiser.password", lambda w: "/organiser/password", "z",
           {"current_password": lambda w: st.just(w.z.password), **PASSWORDS}),
    Target("organiser.reset", lambda w: f"/organiser/reset/{w.values['reset']}", "fresh", PASSWORDS,
           before=_fresh_reset),
    Target("organiser.new_event", lambda w: "/organiser/events/new", "x", EVENT_FIELDS),
    Target("organiser.edit_event", lambda w: f"/organiser/events/{w.event.id}/edit", "x", EVENT_FIELDS),
    Target("organiser.invitations", lambda w: "/organiser/invitations", "x"),
    Target("organiser.revoke_invitation", lambda w: f"/organiser/invitations/{w.invitation_id}/revoke", "x"),
    Target("organiser.set_checkin", lambda w: f"/organiser/events/{w.spare_event.id}/checkin", "x",
           {"mode": fixed("auto", "open", "closed")}),
    Target("organiser.rotate_key", lambda w: f"/organiser/events/{w.spare_event.id}/rotate-key", "x"),
    Target("organiser.door_check_in", lambda w: f"/organiser/events/{w.event.id}/people/check-in", "x",
           {"name": fixed("Walk-in Guest"), "what_i_do": fixed("Bookshops", ""), "door_token": client_ids}),
    Target("organiser.door_undo", lambda w: f"/organiser/events/{w.event.id}/people/{w.c.id}/undo", "x"),
    Target("organiser.door_check_in_again",
           lambda w: f"/organiser/events/{w.event.id}/people/{w.c.id}/check-in", "x"),
    Target("organiser.door_code", lambda w: f"/organiser/events/{w.event.id}/people/{w.c.id}/code", "x"),
    Target("organiser.delete_event", lambda w: f"/organiser/events/{w.spare_event.id}/delete", "x",
           {"confirm_name": fixed("not its name", "")}),
    Target("organiser.team", lambda w: f"/organiser/events/{w.event.id}/team", "x",
           {"email": fixed("nobody@example.org", "x@example.org", "")}),
    Target("organiser.remove_from_team", lambda w: f"/organiser/events/{w.event.id}/team/{w.x.id}/remove", "x"),
    Target("organiser.people_csv", lambda w: f"/organiser/events/{w.event.id}/people.csv", "x"),
    Target("organiser.people", lambda w: f"/organiser/events/{w.event.id}/people", "x", method="GET",
           query={"q": fixed("ana", ""), "sort": fixed("name", "-time"), "page": fixed("1", "2")}),
    Target("organiser.logout", lambda w: "/organiser/logout", "fresh"),
    # A file field drawn as text is what a form without its file sends; multipart is drawn too.
    Target("organiser.import_people", lambda w: f"/organiser/events/{w.event.id}/people/import", "x",
           {"file": fixed("name,email\nGuest One,guest1@example.org\n", "")}),
    Target("organiser.import_confirm", lambda w: f"/organiser/events/{w.event.id}/people/import/confirm", "x",
           {"rows": fixed("name,email\r\nGuest One,guest1@example.org\r\n", "")}),
    # getting in
    Target("attendee.check_in", lambda w: w.event.checkin_path, "fresh", PROFILE_FIELDS, before=_checkin_form),
    Target("attendee.return_code", lambda w: "/return", "fresh",
           {"code": lambda w: st.sampled_from([w.a.code, w.a.code.lower(), "0000-0000-0000-0000"])}),
    Target("attendee.return_link", lambda w: "/r/", "fresh", method="GET"),  # the code is the path
    # at the event
    Target("attendee.who", lambda w: f"/e/{w.event.slug}/people", "a", method="GET",
           query={"q": fixed("Ben", "design", ""), "page": fixed("1", "2")}),
    Target("attendee.add_pick", lambda w: f"/e/{w.event.slug}/picks", "a",
           {"person": ids("c", "e", "b", "a", "d"), "next": lambda w: st.just(f"/e/{w.event.slug}/people?q=x")}),
    Target("attendee.swap_pick", lambda w: f"/e/{w.event.slug}/picks/swap", "a",
           {"drop": ids("b", "c", "e"), "person": ids("c", "e", "b", "d")}),
    Target("attendee.remove_pick", lambda w: f"/e/{w.event.slug}/picks/{w.c.id}/remove", "a",
           {"next": lambda w: st.just(f"/e/{w.event.slug}/people")}),
    # The same three through the phone's outbox: a client id, a JSON answer, replays.
    Target("attendee.add_pick.outbox", lambda w: f"/e/{w.event.slug}/picks", "a",
           {"person": ids("c", "e", "b", "a", "d"), "client_id": client_ids}, accept_json=True),
    Target("attendee.swap_pick.outbox", lambda w: f"/e/{w.event.slug}/picks/swap", "a",
           {"drop": ids("b", "c", "e"), "person": ids("c", "e", "b", "d"), "client_id": client_ids},
           accept_json=True),
    Target("attendee.remove_pick.outbox", lambda w: f"/e/{w.event.slug}/picks/{w.c.id}/remove", "a",
           {"client_id": client_ids}, accept_json=True),
    Target("mine.answers", lambda w: f"/e/{w.event.slug}/you/answers", "a",
           {k: v for k, v in PROFILE_FIELDS.items() if k != "form_token"}),
    Target("pwa.hello", lambda w: f"/hello/{w.values['hello']}", "fresh", before=_fresh_hello),
    Target("attendee.person_notes", lambda w: f"/e/{w.event.slug}/notes/{w.b.id}", "a", NOTE_FIELDS),
    Target("attendee.person_notes.autosave", lambda w: f"/e/{w.event.slug}/notes/{w.b.id}", "a", NOTE_FIELDS,
           accept_json=True),
    Target("attendee.leave", lambda w: f"/e/{w.event.slug}/leave", "a"),
    Target("attendee.rejoin", lambda w: f"/e/{w.event.slug}/rejoin", "a"),
    # the morning after
    Target("after.send_note", lambda w: f"/e/{w.event.slug}/follow-up/{w.b.id}/send", "a", LETTER_FIELDS,
           moment="morning"),
    Target("after.followed_up", lambda w: f"/e/{w.event.slug}/follow-up/{w.b.id}/done", "a",
           {"channel": fixed("email", "sms", "share", "copy", "confirmed")}, moment="morning"),
    Target("after.write", lambda w: f"/e/{w.event.slug}/with/{w.b.id}/write", "a", LETTER_FIELDS,
           moment="morning"),
    Target("after.propose_coffee", lambda w: f"/e/{w.event.slug}/with/{w.b.id}/coffee", "a", COFFEE_FIELDS,
           moment="morning"),
    *(Target(f"after.answer_coffee.{action}", lambda w, action=action: (
              f"/e/{w.event.slug}/coffee/{w.coffee_id}/{action}"), "a" if action == "cancel" else "b",
             {"slot": fixed("0", "1", "2"), "version": fixed(VERSION)}, moment="morning", before=_reset_coffee)
      for action in ("accept", "decline", "cancel")),
    Target("after.mute", lambda w: f"/e/{w.event.slug}/with/{w.b.id}/mute", "a", moment="morning"),
    Target("after.unmute", lambda w: f"/e/{w.event.slug}/with/{w.b.id}/unmute", "a", moment="morning"),
    # your phones and your data (a tick in "confirm" would delete A: it is drawn, rarely)
    Target("mine.sign_out", lambda w: f"/e/{w.event.slug}/you/devices/sign-out", "a",
           {"device": fixed("987654")}),
    Target("mine.new_code", lambda w: f"/e/{w.event.slug}/you/new-code", "a"),
    Target("mine.delete", lambda w: f"/e/{w.event.slug}/you/delete", "a", {"confirm": fixed("no", "")}),
    Target("pwa.unsubscribe", lambda w: f"/u/{w.values['unsubscribe']}", "fresh", moment="morning"),
    # JSON API (push subscriptions)
    Target("api.push_subscriptions.post", lambda w: "/api/push/subscriptions", "a", api=True,
           body=lambda w: subscriptions(w)),
    Target("api.push_subscriptions.delete", lambda w: "/api/push/subscriptions", "a", api=True,
           method="DELETE", body=lambda w: subscriptions(w)),
    Target("api.renew_subscription", lambda w: "/api/push/subscriptions/renew", "fresh", api=True,
           body=lambda w: renewals(w)),
]
BY_NAME = {t.name: t for t in TARGETS}


def spoil(valid: st.SearchStrategy, values=VALUE) -> st.SearchStrategy:
    """One field's values: as a browser sends it (most often), missing, fuzzed, or repeated."""
    return st.one_of(
        valid.map(lambda v: [v]), valid.map(lambda v: [v]),
        st.just([]),
        values.map(lambda v: [v]),
        st.lists(st.one_of(valid, values), min_size=2, max_size=4),
    )


@st.composite
def form_pairs(draw, target: Target, w, specs: dict, values=VALUE) -> list:
    pairs = []
    for name, valid in specs.items():
        pairs += [(name, v) for v in draw(spoil(valid(w), values), label=name)]
    extra_names = st.one_of(st.text(max_size=20), ODD_NAMES, st.sampled_from([*specs, "csrf_token", "next", "id"]))
    extras = draw(st.lists(st.tuples(extra_names, values), max_size=3), label="extra fields")
    return extras + pairs if draw(st.booleans(), label="extras first") else pairs + extras


@st.composite
def requests_for(draw, target: Target, w) -> Req:
    path = target.path(w)
    if target.name == "attendee.return_link":  # the code is the URL: fuzz the path itself
        code = draw(st.one_of(st.just(w.a.code), URL_VALUE), label="code")
        path += quote(code, safe="") or "%20"
    query = draw(form_pairs(target, w, target.query, URL_VALUE), label="query") if target.query else []
    if target.method == "GET":
        return Req("GET", path, "form", query=query)
    csrf = draw(st.sampled_from(["field"] * 6 + ["header", "none", "wrong", "twice"]), label="csrf")
    if target.api:
        mode = draw(st.sampled_from(["json"] * 6 + ["raw", "form"]), label="mode")
        csrf = "header" if csrf == "field" else csrf
    else:
        mode = draw(st.sampled_from(["form"] * 5 + ["multipart"] * 2 + ["json", "raw"]), label="mode")
    if mode in ("json", "raw") and csrf == "field":
        csrf = "header"
    req = Req(target.method, path, mode, query=query, csrf=csrf, accept_json=target.accept_json)
    if mode in ("form", "multipart"):
        req.pairs = draw(form_pairs(target, w, target.fields) if not target.api else
                         st.lists(st.tuples(st.text(max_size=12), VALUE), max_size=4), label="form")
    elif mode == "json":
        if target.api:
            req.json = draw(target.body(w), label="json")
        else:  # a form's fields, as JSON (what a confused script would send), or any JSON
            req.json = draw(st.one_of(
                form_pairs(target, w, target.fields).map(dict),
                st.dictionaries(st.sampled_from([*target.fields, "x"]), JSON_ANY, max_size=6),
                JSON_ANY), label="json")
    else:
        req.raw = draw(RAW_BODIES, label="raw body")
        req.content_type = draw(st.sampled_from(RAW_TYPES), label="content type")
    return req


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _new_subscription(n: int) -> dict:
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": f"http://127.0.0.1:9/push/fuzz-{n}-{uuid.uuid4().hex}",
            "keys": {"p256dh": _b64(key), "auth": _b64(uuid.uuid4().bytes)}}


ENDPOINTS = st.one_of(
    st.text().map(lambda s: "https://push.example/" + s), VALUE,
    st.sampled_from(["https://[::1", "https://push.example:99999/x", "https://push.example:-1/",
                     "ftp://push.example/x", "https://" + "a" * 3000 + ".example/", "https://exa mple/x",
                     "https:///x", "http://10.0.0.1/x", "http://localhost/x", "https://user:pw@push.example/",
                     "https://push.example/\x00", "//push.example/x", "https://\u0430pple.com/x"]),
)
B64ISH = st.one_of(VALUE, st.binary(max_size=80).map(_b64), st.binary(max_size=80).map(
    lambda b: base64.b64encode(b).decode()), st.just("BA" + "A" * 85), st.just("=" * 4))


@st.composite
def spoiled_subscription(draw, w) -> Any:
    sub = draw(st.sampled_from(w.subscriptions), label="subscription")
    sub = {"endpoint": sub["endpoint"], "keys": dict(sub["keys"]), "expirationTime": None}
    for key, values in (("endpoint", ENDPOINTS), ("expirationTime", JSON_ANY)):
        choice = draw(st.sampled_from(["keep", "keep", "drop", "fuzz", "type"]), label=key)
        if choice == "drop":
            sub.pop(key)
        elif choice == "fuzz":
            sub[key] = draw(values)
        elif choice == "type":
            sub[key] = draw(JSON_ANY)
    keys_choice = draw(st.sampled_from(["keep", "keep", "inner", "drop", "type"]), label="keys")
    if keys_choice == "drop":
        sub.pop("keys")
    elif keys_choice == "type":
        sub["keys"] = draw(JSON_ANY)
    elif keys_choice == "inner":
        for key in ("p256dh", "auth"):
            choice = draw(st.sampled_from(["keep", "drop", "fuzz", "type"]), label=key)
            if choice == "drop":
                sub["keys"].pop(key)
            elif choice == "fuzz":
                sub["keys"][key] = draw(B64ISH)
            elif choice == "type":
                sub["keys"][key] = draw(JSON_ANY)
    return sub


def subscriptions(w):
    return st.one_of(spoiled_subscription(w), spoiled_subscription(w), JSON_ANY)


@st.composite
def renewal(draw, w) -> Any:
    known = draw(st.sampled_from(w.subscriptions), label="old")
    old = {"endpoint": known["endpoint"], "auth": known["keys"]["auth"]}
    choice = draw(st.sampled_from(["keep", "keep", "fuzz", "type", "drop"]), label="old mode")
    if choice == "fuzz":
        old = {"endpoint": draw(ENDPOINTS), "auth": draw(B64ISH)}
    elif choice == "type":
        old = draw(JSON_ANY)
    body = {"old": old, "new": draw(spoiled_subscription(w))}
    if choice == "drop":
        body.pop("old")
    return body


def renewals(w):
    return st.one_of(renewal(w), renewal(w), JSON_ANY)


# --- the world -------------------------------------------------------------------------------

class Clients:
    """Browsers by role, made (and signed in) the first time a target needs them."""

    def __init__(self, w):
        self.w, self.made, self.tokens = w, {}, {}

    def __getitem__(self, role):
        if role == "fresh":
            return self.w.app.test_client()
        if role not in self.made:
            client = self.w.app.test_client()
            if role in ("a", "b"):
                person = getattr(self.w, role)
                response = client.post("/return", data={"code": person.code, "csrf_token": csrf_token(client)})
                assert response.status_code == 302
            else:
                login(client, self.w.organiser(role))
            self.made[role] = client
        return self.made[role]


@pytest.fixture
def world(app, make_organiser, make_event, make_attendee):
    clock.set_now(EVENING + timedelta(hours=1))  # check-in is open, the evening is on
    x = make_organiser("x@example.org")
    event = make_event(x, name="X's evening")
    spare_event = make_event(x, name="Spare evening")
    elsewhere = make_event(x, name="Another evening")
    a = make_attendee(event, "Ana Lima", email="ana@mail.example", contact="ana@studio.example")
    b = make_attendee(event, "Ben Okafor", contact="ben@press.example")
    c = make_attendee(event, "Chloe Dubois")
    e = make_attendee(event, "Eve Spare")
    d = make_attendee(elsewhere, "Dev Elsewhere")
    with app.app_context():
        ana = db.session.get(Attendee, a.id)
        picks.pick(db.session, ana, b.id)
        picks.pick(db.session, ana, c.id)
        notes.save(db.session, ana, b.id, {"working_on": "a podcast"}, str(uuid.uuid4()))
        letters.send(db.session, ana, b.id, {"body": "Lovely to meet you."}, str(uuid.uuid4()))
        clock.set_now(MORNING)
        slots = coffee.form_values(ana.event, coffee.default_slots(ana.event))
        coffee_id = coffee.propose(db.session, ana, b.id, {**slots, "place": "The Corner Café"}, "").id
        clock.set_now(EVENING + timedelta(hours=1))
        invitation_id = organisers.create_invitation(db.session, db.session.get(organisers.Organiser, x.id))[0].id
        from eventmate import followup
        unsubscribe = followup.unsubscribe_token(app.config["SECRET_KEY"], a.id)
    made: dict = {}

    def organiser(role):
        """X owns the events; Z changes its own password; R gets reset links (made when needed)."""
        if role == "x":
            return x
        if role not in made:
            made[role] = make_organiser(f"{role}@example.org")
        return made[role]

    w = SimpleNamespace(app=app, x=x, event=event, spare_event=spare_event, a=a, b=b, c=c, d=d, e=e,
                        slots=slots, coffee_id=coffee_id, invitation_id=invitation_id, organiser=organiser,
                        values={"unsubscribe": unsubscribe}, subscriptions=[_new_subscription(n) for n in range(4)])
    w.clients = Clients(w)
    yield w
    clock.reset()


def _world_extra(w, target: Target):
    """Pieces only some targets need: an organiser whose password changes, one who resets it,
    and a subscription the renew route can find."""
    if target.who == "z" or target.name == "organiser.password":
        w.z = w.organiser("z")
    if target.name == "organiser.reset":
        w.r = w.organiser("r")
    if target.name.startswith("api."):
        phone = w.clients["a"]
        for sub in w.subscriptions[:2]:
            response = phone.post("/api/push/subscriptions", json=sub,
                                  headers={"X-CSRFToken": csrf_token(phone), "Accept": "application/json"})
            assert response.status_code in (200, 201), response.get_data(as_text=True)


# --- sending ---------------------------------------------------------------------------------

class Traces(logging.Handler):
    """The app logs an unexpected error with its traceback before answering 500: keep it."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record):
        if record.exc_info:
            self.seen.append("".join(traceback.format_exception(*record.exc_info)))
        else:
            self.seen.append(record.getMessage())


def _current_version(w) -> str:
    with w.app.app_context():
        version = db.session.scalar(sa.select(Coffee.version).where(Coffee.id == w.coffee_id))
        db.session.remove()
    return "" if version is None else str(version)


def send(w, target: Target, client, req: Req):
    token = csrf_token(client)
    live = {CSRF: token, FORM_TOKEN: w.values.get("form_token", ""), VERSION: ""}
    if any(VERSION in str(v) for _k, v in req.pairs) or (isinstance(req.json, dict) and VERSION in req.json.values()):
        live[VERSION] = _current_version(w)

    def fill(value):
        return live.get(value, value) if isinstance(value, str) else value

    headers = {"Accept": "application/json"} if req.accept_json or target.api else {}
    if req.csrf in ("header", "twice"):
        headers["X-CSRFToken"] = token
    pairs = [(k, fill(v)) for k, v in req.pairs]
    if req.csrf in ("field", "twice"):
        pairs.insert(0, ("csrf_token", token))
    if req.csrf == "twice":
        pairs.append(("csrf_token", "not-the-token"))
    if req.csrf == "wrong":
        headers["X-CSRFToken"] = "IjAwMDAi.not-a-token"
    url = req.path + ("?" + urlencode([(k, fill(v)) for k, v in req.query]) if req.query else "")
    if req.method == "GET":
        return client.get(url, headers=headers)
    if req.mode == "form":
        return client.open(url, method=req.method, data=MultiDict(pairs), headers=headers)
    if req.mode == "multipart":  # encoded here, in memory (the client would spool a big one to a file)
        boundary, body = encode_multipart(MultiDict(pairs))
        return client.open(url, method=req.method, data=body, headers=headers,
                           content_type=f"multipart/form-data; boundary={boundary}")
    if req.mode == "json":
        body = {k: fill(v) for k, v in req.json.items()} if isinstance(req.json, dict) else req.json
        return client.open(url, method=req.method, json=body, headers=headers)
    return client.open(url, method=req.method, data=req.raw, content_type=req.content_type or None,
                       headers=headers)


def _database(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]


# --- the tests -------------------------------------------------------------------------------

def test_targets(app):
    """Every form route is fuzzed, and the long profile reaches 10,000 examples per database."""
    form_routes = {r.endpoint for r in app.url_map.iter_rules()
                   if r.endpoint != "static" and r.methods & {"POST", "PUT", "PATCH", "DELETE"}}
    covered = {t.name.split(".")[0] + "." + t.name.split(".")[1] for t in TARGETS}
    # organiser.forgot: 404 without SMTP (test_trust_auth). The four added at stop 17 are not
    # fuzzed yet (a named gap): their odd input is covered by tests/test_imports.py (malformed
    # files), tests/test_install.py (tampered hand-overs) and tests/test_experience.py (answers).
    not_yet = {"organiser.forgot"}
    assert form_routes - covered <= not_yet, (
        f"routes that take a body but are not fuzzed: {sorted(form_routes - covered - not_yet)}")
    assert EXAMPLES["fuzz"] * len(TARGETS) >= 10_000


@pytest.mark.parametrize("name", list(BY_NAME))
def test_fuzz(app, world, name, capsys):
    target = BY_NAME[name]
    _world_extra(world, target)
    database = _database(app)
    traces = Traces()
    logger = logging.getLogger("eventmate")
    logger.addHandler(traces)

    @FUZZ_SETTINGS
    @given(data=st.data())
    def fuzz(data):
        COUNTS[(name, database)] += 1
        clock.set_now(MORNING if target.moment == "morning" else EVENING + timedelta(hours=1))
        with app.app_context():
            limiter.reset()  # limits are tested elsewhere; here they would only hide the forms
        client = world.clients[target.who]
        if target.before:
            target.before(world, client)
        req = data.draw(requests_for(target, world), label="request")
        traces.seen.clear()
        response = send(world, target, client, req)
        body = response.get_data().decode("utf-8", "replace")
        status = response.status_code
        response.close()
        sent = repr(req)
        shown = [marker for marker in TRACE_MARKERS if marker in body and marker not in sent]
        trace = "\n".join(traces.seen)[-3000:]
        if KEEP_GOING and (status >= 500 or shown):
            with open(KEEP_GOING, "a", encoding="utf-8") as log:
                print(f"=== {name} on {database}: {status} {shown}\n{sent[:1500]}\n{trace[-1200:]}", file=log)
            return
        assert status < 500 and not shown, (
            f"{req.method} {req.path} ({name}) answered {status}"
            f"{' showing ' + str(shown) if shown else ''}\n--- the app logged ---\n{trace}")

    started = time.monotonic()
    try:
        fuzz()
    finally:
        logger.removeHandler(traces)
        TIMES[(name, database)] += time.monotonic() - started
        with capsys.disabled():
            total = sum(n for (_t, d), n in COUNTS.items() if d == database)
            print(f"\nfuzz {name} on {database}: {COUNTS[(name, database)]} examples, "
                  f"{time.monotonic() - started:.1f} s (so far on {database}: {total} examples, "
                  f"{sum(t for (_t, d), t in TIMES.items() if d == database):.0f} s)", end="")
