"""The access matrix (issue "Trust", made permanent): every route in `app.url_map` × every role ×
{GET, its write methods}, against a table of who may do what.

A route without an entry in `ACCESS` fails the test, so a new route cannot escape the matrix.
For each cell the test sends a real request (writes with the client's own CSRF token) into a
world built through the services, and checks that

* nothing answers 500 or more;
* a refused role gets the refusal the table names (302 to the log-in page for organiser routes,
  403 or 404 for attendee routes, 404 for organiser Y on organiser X's event);
* planted unique strings (A's private note, A's and B's contact details, emails and return
  codes, A's note to B) reach only the roles allowed to see them;
* a refused request, and any GET, leaves every table as it was (columns a read legitimately
  touches are ignored: see `IGNORED_COLUMNS`).

Allowed writes run last, in an order that keeps the world usable (`Access.order`): they must not
fail or be refused, and must not leak what cannot change hands.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from conftest import EVENING, PASSWORD, csrf_token, event_form, login, post
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.routing.converters import AnyConverter

from eventmate import clock, coffee, events, followup, handover, letters, notes, organisers, picks, tokens
from eventmate.extensions import db, limiter
from eventmate.models import Attendee, Event

#: The morning after the evening (it ended 22:00 UTC): the prompt went out at 09:00.
MORNING = EVENING + timedelta(hours=15, minutes=30)

ANON, A, B, C, OTHER, X, Y, Z = ("anonymous", "attendee_a", "attendee_b", "bystander_c", "other_event",
                                 "organiser_x", "organiser_y", "co_organiser_z")
#: C is a third attendee of the same event, in nobody's three and no conversation: the one
#: who might guess a coffee's id or a person's id.
#: Z co-organises X's event: Z runs it with X (door, dashboard, poster), but only X deletes it
#: or changes who runs it, and Z has nothing of X's own (invitations).
ROLES = (ANON, A, B, C, OTHER, X, Y, Z)
OK, LOGIN = "ok", "login"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# --- who may do what -------------------------------------------------------------------------

#: Anyone, signed in or not (a secret in the URL or body, if any, is the key).
PUBLIC = dict.fromkeys(ROLES, OK)
#: Someone checked in at this event, on this device; everyone else sees "not checked in here".
ATTENDEE_HERE = {ANON: 403, A: OK, B: OK, C: OK, OTHER: 403, X: 403, Y: 403, Z: 403}
#: The two people in a conversation or a coffee (A ↔ B): the URL names the other one (C's
#: names A). C has no conversation with A: not found.
CONVERSATION = {**ATTENDEE_HERE, C: 404}
#: Writing to someone (a note, coffee times): only where the evening allows (a pick either way,
#: or they wrote first); C may not write to A.
WRITE_TO = {**ATTENDEE_HERE, C: 403}
#: One of my three: A chose B; B and C did not choose A, so their URL about A is not found.
MY_THREE = {**ATTENDEE_HERE, B: 404, C: 404}
#: An attendee's device, at any event (JSON API); organisers and strangers are refused.
DEVICE = {ANON: 403, A: OK, B: OK, C: OK, OTHER: OK, X: 403, Y: 403, Z: 403}
#: Any logged-in organiser.
ORGANISER = {ANON: LOGIN, A: LOGIN, B: LOGIN, C: LOGIN, OTHER: LOGIN, X: OK, Y: OK, Z: OK}
#: The organiser who owns the event (or invitation); another organiser cannot tell it exists.
OWNER = {ANON: LOGIN, A: LOGIN, B: LOGIN, C: LOGIN, OTHER: LOGIN, X: OK, Y: 404, Z: OK}
#: What only the owner may do: delete the event, change who runs it; X's own invitations.
OWNER_ONLY = {**OWNER, Z: 404}


@dataclass(frozen=True)
class Access:
    rule: dict
    #: What a write sends: world, role → form fields (or the JSON body when `json`).
    body: object = None
    json: bool = False
    #: Statuses an allowed GET may answer with.
    get_ok: frozenset = frozenset({200})
    #: Statuses an allowed write may answer with (a form with a mistake is 422, a clash 409).
    write_ok: frozenset = frozenset({200, 201, 302, 303, 409, 422})
    #: Allowed writes run in this order, so the destructive ones (log-out, unpick) come last.
    order: int = 0
    #: Planted strings the URL itself carries, which the page may echo back.
    echoes: frozenset = frozenset()
    #: URL arguments taken from the world under another name.
    args: dict = field(default_factory=dict)


def _note_form(world, role):
    return {"working_on": world.plant["note_a"] if role == A else "overwritten", "client_id": str(uuid.uuid4())}


def _letter(world, role):
    return {"body": "Lovely to meet you.", "client_id": str(uuid.uuid4())}


def _coffee_form(world, role):
    return {**world.slots, "place": "The Corner Café", "version": ""}


def _answer(world, role):
    return {"slot": "0", "version": str(world.coffee_version)}


def _subscription(world, role):
    return world.subscription()


def _renew(world, role):
    return {"old": {"endpoint": "https://push.example/unknown", "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
            "new": world.subscription()}


ACCESS: dict[str, Access] = {
    # front door, app shell, health
    "public.index": Access(PUBLIC, get_ok=frozenset({200, 302})),
    "public.healthz": Access(PUBLIC),
    "pwa.manifest": Access(PUBLIC),
    "pwa.service_worker": Access(PUBLIC),
    "pwa.offline": Access(PUBLIC),
    # A hand-over nobody can use (made with another key): every role gets "used or too old"
    # (tests/test_install.py signs an installed app in with a real one).
    "pwa.hello": Access(PUBLIC, body=lambda w, r: {}, args={"token": "hello_x"}, get_ok=frozenset({410}),
                        write_ok=frozenset({410})),
    "pwa.unsubscribe": Access(PUBLIC, body=lambda w, r: {}, args={"token": "unsubscribe"}),
    # getting in
    # In the morning check-in is closed: 403, or home for someone already in.
    "attendee.check_in": Access(PUBLIC, body=lambda w, r: {}, get_ok=frozenset({200, 302, 403}),
                                write_ok=frozenset({200, 302, 403, 422})),
    "attendee.return_link": Access(PUBLIC, echoes=frozenset({"code_a"}), args={"code": "code_a"}),
    "attendee.return_code": Access(PUBLIC, body=lambda w, r: {"code": "0000-0000-0000-0000"}),
    "attendee.pick_me": Access(ATTENDEE_HERE, args={"token": "pickme_a"}),
    # at the event
    "attendee.home": Access(ATTENDEE_HERE),
    "attendee.who": Access(ATTENDEE_HERE),
    "attendee.my_qr": Access(ATTENDEE_HERE),
    "attendee.fresh_csrf": Access(ATTENDEE_HERE),  # the outbox's token before it sends
    "attendee.leave": Access(ATTENDEE_HERE, body=lambda w, r: {}, order=1),
    "attendee.rejoin": Access(ATTENDEE_HERE, body=lambda w, r: {}, order=2),
    "attendee.add_pick": Access(ATTENDEE_HERE, body=lambda w, r: {"person": str(w.b.id if r == C else w.c.id)}),
    "attendee.swap_pick": Access(ATTENDEE_HERE, order=4,
                                 body=lambda w, r: {"drop": str(w.b.id if r == C else w.c.id), "person": str(w.e.id)}),
    "attendee.remove_pick": Access(ATTENDEE_HERE, body=lambda w, r: {}, order=5),
    "attendee.person_notes": Access(MY_THREE, body=_note_form),
    # the morning after
    "after.follow_up": Access(ATTENDEE_HERE),
    "after.send_note": Access(MY_THREE, body=_letter),
    "after.followed_up": Access(MY_THREE, body=lambda w, r: {"channel": "email"}),
    "after.inbox": Access(ATTENDEE_HERE),
    "after.thread": Access(CONVERSATION),
    "after.write": Access(WRITE_TO, body=_letter),
    # Anyone at the event may mute anyone there (they aren't told).
    "after.mute": Access(ATTENDEE_HERE, body=lambda w, r: {}, order=1),
    "after.unmute": Access(ATTENDEE_HERE, body=lambda w, r: {}, order=2),
    "after.propose_coffee": Access(WRITE_TO, body=_coffee_form),
    "after.answer_coffee": Access(CONVERSATION, body=_answer, order=3),
    "after.coffee_calendar": Access(CONVERSATION),
    # your phones and your data
    "mine.you": Access(ATTENDEE_HERE),
    # An empty form: a 422 that changes nothing (tests/test_experience.py saves real answers).
    "mine.answers": Access(ATTENDEE_HERE, body=lambda w, r: {}),
    "mine.download": Access(ATTENDEE_HERE),
    "mine.contacts": Access(ATTENDEE_HERE),
    # A device id nobody holds: the allowed write is "already signed out", the world stays.
    "mine.sign_out": Access(ATTENDEE_HERE, body=lambda w, r: {"device": "987654"}),
    "mine.new_code": Access(ATTENDEE_HERE, body=lambda w, r: {}, order=10),
    # Without the tick, nothing is deleted (the deletion itself: tests/test_data_rights.py).
    "mine.delete": Access(ATTENDEE_HERE, body=lambda w, r: {}),
    # JSON API
    "api.push_subscriptions": Access(DEVICE, body=_subscription, json=True),
    "api.renew_subscription": Access(PUBLIC, body=_renew, json=True,  # knowing the old auth is the key
                                     write_ok=frozenset({404})),
    # organisers
    "organiser.login": Access(PUBLIC, write_ok=frozenset({401}),
                              body=lambda w, r: {"email": "nobody@example.org", "password": "wrong"}),
    "organiser.logout": Access(PUBLIC, body=lambda w, r: {}, order=9),
    "organiser.signup": Access(PUBLIC, get_ok=frozenset({403}), write_ok=frozenset({403}),  # closed: X exists
                               body=lambda w, r: {"email": "new@example.org", "password": PASSWORD}),
    "organiser.forgot": Access(PUBLIC, get_ok=frozenset({404}), write_ok=frozenset({404}),  # no SMTP here
                               body=lambda w, r: {"email": w.x.email}),
    "organiser.reset": Access(PUBLIC, args={"token": "reset_x"},  # the emailed link is the key
                              body=lambda w, r: {"password": "a new long password", "confirm": "different"}),
    "organiser.password": Access(ORGANISER, order=8,
                                 body=lambda w, r: {"current_password": "wrong", "password": "another long one"}),
    "organiser.events_page": Access(ORGANISER),
    "organiser.new_event": Access(ORGANISER, body=lambda w, r: event_form(name=f"New by {r}")),
    "organiser.invitations": Access(ORGANISER, body=lambda w, r: {}),
    "organiser.revoke_invitation": Access(OWNER_ONLY, body=lambda w, r: {}, order=4),
    "organiser.event": Access(OWNER),
    "organiser.live": Access(OWNER),
    "organiser.people": Access(OWNER),
    # The wrong name: the allowed write is a 422 and nothing is deleted (tests/test_retention.py).
    "organiser.delete_event": Access(OWNER_ONLY, body=lambda w, r: {"confirm_name": "not the name"}),
    # Someone with no account: a sign-up link for them (adding a real organiser would change the
    # roles mid-run); the link is shown to the owner, and makes nobody a co-organiser until used.
    "organiser.team": Access(OWNER_ONLY, body=lambda w, r: {"email": "nobody-yet@example.org"}),
    # Y is not on the team: removing them changes nothing.
    "organiser.remove_from_team": Access(OWNER_ONLY, body=lambda w, r: {}, args={"organiser_id": "y_id"}),
    "organiser.people_csv": Access(OWNER, body=lambda w, r: {}),
    "organiser.import_people_form": Access(OWNER),
    # No file: a 422 that writes nothing (tests/test_imports.py uploads real files).
    "organiser.import_people": Access(OWNER, body=lambda w, r: {}),
    "organiser.import_confirm": Access(OWNER, body=lambda w, r: {"rows": f"name,email\nSigned up via {r},{r}@example.org\n"}),
    "organiser.door_check_in": Access(OWNER, body=lambda w, r: {"name": f"Walk-in by {r}", "door_token": str(uuid.uuid4())}),
    # Eve checked in by QR: no code can be handed over for her (her notes are hers): 302 back.
    "organiser.door_code": Access(OWNER, body=lambda w, r: {}, args={"attendee_id": "eve"}),
    "organiser.door_undo": Access(OWNER, body=lambda w, r: {}, order=6, args={"attendee_id": "eve"}),
    "organiser.door_check_in_again": Access(OWNER, body=lambda w, r: {}, order=7, args={"attendee_id": "eve"}),
    "organiser.edit_event": Access(OWNER, body=lambda w, r: event_form(name="Hijacked evening")),
    "organiser.poster": Access(OWNER),
    "organiser.poster_svg": Access(OWNER),
    "organiser.rotate_key": Access(OWNER, body=lambda w, r: {}, order=4),
    "organiser.set_checkin": Access(OWNER, body=lambda w, r: {"mode": "closed"}, order=4),
}

#: Columns a read legitimately changes: "last seen" on a device (the home page notes that
#: the phone is in use) and a letter's read time (opening a conversation reads it).
IGNORED_COLUMNS = {"device": {"last_seen_at"}, "letter": {"read_at"}}

#: EVENTMATE_MATRIX_LOG=path appends every cell and its answer to that file (to review the table).
MATRIX_LOG = os.environ.get("EVENTMATE_MATRIX_LOG")


def missing_rules(app) -> list[str]:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    return sorted(endpoints - ACCESS.keys())


def test_every_route_has_a_rule(app):
    missing = missing_rules(app)
    assert not missing, f"routes without a rule in tests/test_access_matrix.py ACCESS: {missing}"
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = sorted(ACCESS.keys() - endpoints)
    assert not stale, f"rules for routes that no longer exist: {stale}"


# --- the world -------------------------------------------------------------------------------

def _token(label: str) -> str:
    return f"zq{label}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def world(app, make_organiser, make_event, make_attendee):
    clock.set_now(EVENING + timedelta(hours=1))  # check-in is open, the evening is on
    plant = {"note_a": _token("noteA"), "letter_ab": _token("letterAB"), "contact_a": _token("contactA"),
             "contact_b": _token("contactB"), "email_a": f"{_token('mailA')}@example.org",
             "email_b": f"{_token('mailB')}@example.org"}
    x = make_organiser("x@example.org")
    y = make_organiser("y@example.org")
    z = make_organiser("z@example.org")
    event = make_event(x, name="X's evening")
    elsewhere = make_event(y, name="Y's evening")
    a = make_attendee(event, "Ana Planted", email=plant["email_a"], contact=plant["contact_a"])
    b = make_attendee(event, "Ben Planted", email=plant["email_b"], contact=plant["contact_b"])
    c = make_attendee(event, "Chloe Bystander", contact="chloe@bystander.example")
    d = make_attendee(elsewhere, "Dev Elsewhere")
    e = make_attendee(event, "Eve Spare")  # someone to swap in
    plant["code_a"], plant["code_b"] = a.code, b.code
    with app.app_context():
        ana, ben = db.session.get(Attendee, a.id), db.session.get(Attendee, b.id)
        picks.pick(db.session, ana, b.id)  # A chose B: A's contact goes to B; B chose nobody
        notes.save(db.session, ana, b.id, {"working_on": plant["note_a"]}, str(uuid.uuid4()))
        letters.send(db.session, ana, b.id, {"body": plant["letter_ab"]}, str(uuid.uuid4()))
        slots = coffee.form_values(ana.event, coffee.default_slots(ana.event))
        row = coffee.propose(db.session, ana, b.id, {**slots, "place": "The Corner Café"}, "")
        row = coffee.accept(db.session, ben, row.id, "0", row.version)
        coffee_id, version = row.id, row.version
        invitation, _link = organisers.create_invitation(db.session, db.session.get(organisers.Organiser, x.id))
        invitation_id = invitation.id
        unsubscribe = followup.unsubscribe_token(app.config["SECRET_KEY"], a.id)
        _organiser, reset_x = organisers.request_password_reset(db.session, x.email)
    clients = {role: app.test_client() for role in ROLES}
    for role, person in ((A, a), (B, b), (C, c), (OTHER, d)):
        assert post(clients[role], "/return", {"code": person.code}).status_code == 302
    with app.app_context():
        events.add_co_organiser(db.session, db.session.get(Event, event.id), z.email)
    login(clients[X], x)
    login(clients[Y], y)
    login(clients[Z], z)

    def subscription():
        key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"http://127.0.0.1:9/push/{uuid.uuid4().hex}",
                "keys": {"p256dh": _b64(key), "auth": _b64(uuid.uuid4().bytes)}}

    yield SimpleNamespace(
        event=event, a=a, b=b, c=c, d=d, e=e, x=x, y=y, plant=plant, clients=clients, slots=slots,
        coffee_id=coffee_id, coffee_version=version, invitation_id=invitation_id,
        values={"slug": event.slug, "key": event.key, "event_id": event.id, "coffee_id": coffee_id,
                "invitation_id": invitation_id, "code_a": a.code, "pickme_a": a.pickme,
                "unsubscribe": unsubscribe, "reset_x": reset_x, "eve": e.id, "y_id": y.id,
                "hello_x": handover.make("another key", event.id, a.code)},
        peer=lambda role: b.id if role == A else a.id,  # the other one in A ↔ B
        subscription=subscription,
    )
    clock.reset()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- one cell --------------------------------------------------------------------------------

@dataclass
class Cell:
    endpoint: str
    role: str
    method: str
    url: str
    access: Access
    expected: object

    @property
    def allowed(self) -> bool:
        return self.expected == OK

    def __str__(self) -> str:
        return f"{self.method} {self.url} as {self.role} ({self.endpoint})"


def cells(app, world) -> list[Cell]:
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        access = ACCESS[rule.endpoint]
        methods = sorted(m for m in rule.methods if m == "GET" or m in WRITE_METHODS)
        # `any(...)` arguments (accept, decline, cancel) are each a route of their own.
        variants = [{}]
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter):
                variants = [{**v, name: item} for v in variants for item in sorted(converter.items)]
        for role in ROLES:
            for variant in variants:
                values = {}
                for name in rule.arguments:
                    source = access.args.get(name, name)
                    values[name] = world.peer(role) if name == "person_id" else variant.get(
                        name, world.values.get(source))
                    assert values[name] is not None, (
                        f"{rule.rule}: no value for <{name}>; plant one in `world` or name it in Access.args")
                url = adapter.build(rule.endpoint, values)
                out.extend(Cell(rule.endpoint, role, m, url, access, access.rule[role]) for m in methods)
    return out


def send(world, cell: Cell):
    client = world.clients[cell.role]
    if cell.method == "GET":
        return client.get(cell.url)
    token = csrf_token(client)
    body = cell.access.body(world, cell.role) if cell.access.body else {}
    if cell.access.json:
        return client.open(cell.url, method=cell.method, json=body,
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    return client.open(cell.url, method=cell.method, data={**body, "csrf_token": token})


def snapshot(app) -> dict:
    """Every row of every table (less IGNORED_COLUMNS), each as one text, sorted per table:
    one UNION ALL query, since the matrix takes a snapshot per compared cell."""
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        parts = []
        for table in db.metadata.sorted_tables:
            names = [f'"{c.name}"' for c in table.columns if c.name not in IGNORED_COLUMNS.get(table.name, ())]
            row = (" || char(31) || ".join(f"quote({n})" for n in names) if sqlite
                   else f"ROW({', '.join(names)})::text")
            parts.append(f"SELECT '{table.name}' AS t, {row} AS r FROM \"{table.name}\"")  # noqa: S608
        tables: dict[str, list] = {table.name: [] for table in db.metadata.sorted_tables}
        for name, row in db.session.execute(sa.text(" UNION ALL ".join(parts))):
            tables[name].append(row)
        db.session.remove()
    return {name: sorted(rows) for name, rows in tables.items()}


def changed(before: dict, after: dict) -> list[str]:
    return [f"{name}: {len(before[name])} → {len(after[name])} rows, "
            f"gone {sorted(set(before[name]) - set(after[name]))[:2]} new {sorted(set(after[name]) - set(before[name]))[:2]}"
            for name in before if before[name] != after[name]]


VISIBLE_TO = {"note_a": {A}, "email_a": {A}, "code_a": {A}, "contact_a": {A, B}, "letter_ab": {A, B},
              "email_b": {B}, "code_b": {B}, "contact_b": {B}}
#: What cannot change hands whatever the allowed writes do (a note or a pick moves contacts).
STABLE = {"note_a", "email_a", "code_a", "email_b", "code_b"}


def forms(value: str) -> set[str]:
    """How a planted string may appear: as is, and a code grouped as the pages show it."""
    return {value, tokens.group(value)} if value.isalnum() and value.isupper() else {value}


def leaks(world, cell: Cell, body: str, keys) -> list[str]:
    found = []
    for key in keys:
        if cell.role in VISIBLE_TO[key] or key in cell.access.echoes:
            continue
        if any(form in body for form in forms(world.plant[key])):
            found.append(key)
    return found


def refused_as_expected(cell: Cell, response) -> bool:
    if cell.expected == LOGIN:
        return response.status_code == 302 and "/organiser/login" in response.headers.get("Location", "")
    return response.status_code == cell.expected


def run(app, world, cell: Cell, seen: set, problems: list, before: dict | None = None) -> dict | None:
    """Send one cell and check it. Returns the database as it is after a compared cell, which is
    the next cell's "before" (the snapshot is most of the matrix's time: take it once per cell)."""
    with app.app_context():
        limiter.reset()  # the matrix sends more requests than a person would: limits are tested elsewhere
    compare = not cell.allowed or cell.method == "GET"
    if compare and before is None:
        before = snapshot(app)
    response = send(world, cell)
    body = response.get_data().decode("utf-8", "replace")
    response.close()  # a file response (sw.js) holds its file until closed, as a WSGI server would
    status = response.status_code
    if MATRIX_LOG:
        with open(MATRIX_LOG, "a", encoding="utf-8") as log:
            print(f"{status} {'allowed' if cell.allowed else 'refused'} {cell}", file=log)
    if status >= 500:
        problems.append(f"{cell}: {status}")
        return None
    if cell.allowed:
        ok = cell.access.get_ok if cell.method == "GET" else cell.access.write_ok
        to_login = status == 302 and "/organiser/login" in response.headers.get("Location", "")
        if status not in ok or to_login:
            problems.append(f"{cell}: allowed, but answered {status} {response.headers.get('Location', '')}")
    elif not refused_as_expected(cell, response):
        problems.append(f"{cell}: expected refusal {cell.expected}, got {status} "
                        f"{response.headers.get('Location', '')}")
    keys = VISIBLE_TO.keys() if compare else STABLE
    for key in leaks(world, cell, body + " " + response.headers.get("Location", ""), keys):
        problems.append(f"{cell}: LEAK of {key}")
    seen.update(k for k in VISIBLE_TO if cell.role in VISIBLE_TO[k] and any(f in body for f in forms(world.plant[k])))
    if not compare:
        return None
    after = snapshot(app)
    diff = changed(before, after)
    if diff:
        problems.append(f"{cell}: database changed by a {'refused' if not cell.allowed else 'GET'} request: {diff}")
    return after


@pytest.mark.parametrize("moment", ["evening", "morning"])
def test_access_matrix(app, world, moment, capsys):
    """At the event (check-in open), and the next morning (the prompt is out, drafts are made
    from the notes, check-in is closed)."""
    if moment == "morning":
        clock.set_now(MORNING)
        with app.app_context():  # the emailed reset link lasts an hour: ask for it this morning
            world.values["reset_x"] = organisers.request_password_reset(db.session, world.x.email)[1]
    assert not missing_rules(app), f"routes without a rule in ACCESS: {missing_rules(app)}"
    started = time.monotonic()
    every = cells(app, world)
    first = [c for c in every if not (c.allowed and c.method != "GET")]
    writes = sorted((c for c in every if c.allowed and c.method != "GET"), key=lambda c: c.access.order)
    problems: list[str] = []
    seen: set = set()
    state = None
    for cell in first + writes:
        state = run(app, world, cell, seen, problems, before=state)
    routes = len({c.endpoint for c in every})
    with capsys.disabled():
        print(f"\naccess matrix on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, {moment}: {routes} routes, "
              f"{len(every)} cells ({sum(not c.allowed for c in every)} refused), "
              f"{time.monotonic() - started:.1f} s")
    assert not problems, "\n".join(problems)
    # A probe nobody ever sees proves nothing: each planted string shows up where it belongs.
    assert {"note_a", "code_a", "code_b", "contact_a", "letter_ab"} <= seen, seen
