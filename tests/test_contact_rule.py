"""The contact rule: the details I share go to the people *I* pick, never to the people who
pick me. "Who chose you" shows each person who picked me with what they share. And contact
details are tappable: emails, phone numbers and web addresses become links, safely."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import event_form, post, profile, text
from test_services import SECRET, new_organiser
from test_web import check_in_via_form

from eventmate import checkin, clock, events, picks
from eventmate.contact import linkify
from eventmate.extensions import db
from eventmate.models import Attendee

# --- contact details as links -----------------------------------------------------------

R = ' rel="noopener nofollow"'

LINKS = [
    # emails
    ("ada@studio.example", '<a href="mailto:ada@studio.example">ada@studio.example</a>'),
    ("Email: ada.l+events@studio.example.",
     'Email: <a href="mailto:ada.l+events@studio.example">ada.l+events@studio.example</a>.'),
    ("ada@studio", "ada@studio"),
    # phone numbers: tel: gets the digits and a leading +
    ("+44 20 7946 0958", '<a href="tel:+442079460958">+44 20 7946 0958</a>'),
    ("+44 (0)20 7946 0958", '<a href="tel:+442079460958">+44 (0)20 7946 0958</a>'),
    ("+1 (555) 123-4567", '<a href="tel:+15551234567">+1 (555) 123-4567</a>'),
    ("(020) 7946-0958", '<a href="tel:02079460958">(020) 7946-0958</a>'),
    ("Call 06 12 34 56 78 after 6", 'Call <a href="tel:0612345678">06 12 34 56 78</a> after 6'),
    ("555 1234", '<a href="tel:5551234">555 1234</a>'),
    ("Room 12, since 1987", "Room 12, since 1987"),
    ("2026-05-14, 2019-2024", "2026-05-14, 2019-2024"),
    ("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6"),
    # web addresses: always https:, the text as typed
    ("https://ada.studio/work", f'<a href="https://ada.studio/work"{R}>https://ada.studio/work</a>'),
    ("http://ada.studio", f'<a href="https://ada.studio"{R}>http://ada.studio</a>'),
    ("www.ada.studio", f'<a href="https://www.ada.studio"{R}>www.ada.studio</a>'),
    ("ada.studio/work", f'<a href="https://ada.studio/work"{R}>ada.studio/work</a>'),
    ("LinkedIn: linkedin.com/in/ada", f'LinkedIn: <a href="https://linkedin.com/in/ada"{R}>linkedin.com/in/ada</a>'),
    ("see ada.studio/work.", f'see <a href="https://ada.studio/work"{R}>ada.studio/work</a>.'),
    ("(ada.studio)", f'(<a href="https://ada.studio"{R}>ada.studio</a>)'),
    ("en.wikipedia.org/wiki/Ada_(name)",
     f'<a href="https://en.wikipedia.org/wiki/Ada_(name)"{R}>en.wikipedia.org/wiki/Ada_(name)</a>'),
    ("ada.studio/?a=1&b=2", f'<a href="https://ada.studio/?a=1&amp;b=2"{R}>ada.studio/?a=1&amp;b=2</a>'),
    ("Node.js, cv.pdf, john.smith, e.g. Ph.D.", "Node.js, cv.pdf, john.smith, e.g. Ph.D."),
    # several on separate lines: the line breaks stay
    ("ada@x.org\n+44 20 7946 0958\nada.studio",
     '<a href="mailto:ada@x.org">ada@x.org</a>\n<a href="tel:+442079460958">+44 20 7946 0958</a>\n'
     f'<a href="https://ada.studio"{R}>ada.studio</a>'),
    # hostile text is only ever text
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("Ada \"the\" O'Neil & co <b>", "Ada &#34;the&#34; O&#39;Neil &amp; co &lt;b&gt;"),
    ("javascript:alert(document.cookie)", "javascript:alert(document.cookie)"),
    ("javascript:ada.studio", "javascript:ada.studio"),
    ("javascript://ada.studio/%0aalert(1)", "javascript://ada.studio/%0aalert(1)"),
    ("data:text/html,<b>hi</b>", "data:text/html,&lt;b&gt;hi&lt;/b&gt;"),
    ('https://ada.studio/"onmouseover="alert(1)',
     f'<a href="https://ada.studio/"{R}>https://ada.studio/</a>&#34;onmouseover=&#34;alert(1)'),
    ("https://ada.studio@evil.example", "https://ada.studio@evil.example"),
    ("", ""),
]


@pytest.mark.parametrize(("typed", "shown"), LINKS)
def test_contact_details_become_links(typed, shown):
    assert str(linkify(typed)) == shown


@pytest.mark.parametrize(("typed", "_shown"), LINKS)
def test_links_keep_every_character_and_use_only_safe_schemes(typed, _shown):
    out = str(linkify(typed))
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == typed  # nothing lost, nothing added
    for href in re.findall(r'href="([^"]*)"', out):
        assert href.startswith(("mailto:", "tel:", "https://")), href
    assert "<script" not in out and "javascript:" not in " ".join(re.findall(r"<a [^>]*>", out))


def test_no_contact_is_empty_markup():
    assert linkify(None) == "" and hasattr(linkify(None), "__html__")


# --- the rule, in the services -------------------------------------------------------------

@pytest.fixture
def trio(session, at_the_event):
    """Ada, Ben and Cleo at one event, each sharing contact details."""
    owner = new_organiser(session)
    event = events.create_event(session, owner, event_form())
    people = {}
    for name in ("Ada", "Ben", "Cleo"):
        people[name], _ = checkin.check_in(
            session, event, profile(name, contact=f"{name.lower()}@example.org"),
            checkin.new_form_token(SECRET), SECRET)
    return people


def contacts_in_three(session, me):
    return {c.person.name: c.shared_contact for c in picks.my_three(session, me)}


def chose(session, me):
    return [(c.person.name, c.shared_contact, c.picked_back) for c in picks.chose_me(session, me)]


def test_when_ada_picks_ben_ben_sees_adas_contact_and_ada_sees_nothing_of_bens(session, trio):
    ada, ben = trio["Ada"], trio["Ben"]
    picks.pick(session, ada, ben.id)
    assert chose(session, ben) == [("Ada", "ada@example.org", False)]
    assert contacts_in_three(session, ada) == {"Ben": None}  # picking never reveals theirs
    assert chose(session, ada) == []


def test_when_both_pick_both_see_each_other(session, trio):
    ada, ben = trio["Ada"], trio["Ben"]
    picks.pick(session, ada, ben.id)
    picks.pick(session, ben, ada.id)
    assert contacts_in_three(session, ada) == {"Ben": "ben@example.org"}
    assert contacts_in_three(session, ben) == {"Ada": "ada@example.org"}
    assert chose(session, ben) == [("Ada", "ada@example.org", True)]
    assert [c.is_mutual for c in picks.my_three(session, ada)] == [True]


def test_unpicking_takes_my_contact_back(session, trio):
    ada, ben = trio["Ada"], trio["Ben"]
    picks.pick(session, ada, ben.id)
    picks.pick(session, ben, ada.id)
    picks.unpick(session, ada, ben.id)
    assert chose(session, ben) == []
    assert contacts_in_three(session, ben) == {"Ada": None}
    assert chose(session, ada) == [("Ben", "ben@example.org", False)]  # Ben still picks Ada


def test_chose_me_in_the_order_they_picked_also_those_who_left(session, trio):
    ada, ben, cleo = trio["Ada"], trio["Ben"], trio["Cleo"]
    picks.pick(session, cleo, ada.id)
    clock.set_now(clock.now() + timedelta(minutes=5))
    picks.pick(session, ben, ada.id)
    cleo.left_at = clock.now()
    session.commit()
    assert [name for name, *_ in chose(session, ada)] == ["Cleo", "Ben"]
    ben.contact = ""
    session.commit()
    assert chose(session, ada)[1] == ("Ben", None, False)  # nothing shared: nothing shown


@contextmanager
def counting_selects(session):
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_who_chose_me_is_one_query_however_many(session, trio):
    ada = trio["Ada"]
    picks.pick(session, trio["Ben"], ada.id)
    session.expire_all()
    session.refresh(ada)
    with counting_selects(session) as one:
        [(c.person.name, c.shared_contact, c.picked_back) for c in picks.chose_me(session, ada)]
    picks.pick(session, trio["Cleo"], ada.id)
    picks.pick(session, ada, trio["Cleo"].id)
    session.expire_all()
    session.refresh(ada)
    with counting_selects(session) as two:
        [(c.person.name, c.shared_contact, c.picked_back) for c in picks.chose_me(session, ada)]
    assert len(one) == len(two) == 1, two


# --- the rule, on the pages ------------------------------------------------------------------

ADA_CONTACT = "ada@studio.example · +44 20 7946 0958 · ada.studio/work"


@pytest.fixture
def phones(app, make_organiser, make_event, at_the_event):
    """Ada, Ben and Cleo each check in on a phone of their own, through the poster's form."""
    event = make_event(make_organiser())
    contacts = {"Ada": ADA_CONTACT, "Ben": "ben@sales.example", "Cleo": "cleo@books.example"}
    room = {"event": event}
    for name, contact in contacts.items():
        client = app.test_client()
        assert check_in_via_form(client, event.checkin_path, name=name, contact=contact).status_code == 302
        with app.app_context():
            person_id = db.session.scalar(sa.select(Attendee.id).where(Attendee.name == name))
        room[name] = client
        room[f"{name}_id"] = person_id
    return room


def home(room, who) -> str:
    return text(room[who].get(f"/e/{room['event'].slug}"))


def pick(room, who, whom):
    return post(room[who], f"/e/{room['event'].slug}/picks", {"person": room[f"{whom}_id"]})


def unpick(room, who, whom):
    return post(room[who], f"/e/{room['event'].slug}/picks/{room[f'{whom}_id']}/remove")


def item(page: str, kind: str, name: str) -> str:
    """One person's entry on the home page: kind is "chosen" (my three) or "chose-me"."""
    found = re.search(rf'<li class="[^"]*\bchosen" data-{kind}="{name}">.*?</li>', page, re.S)
    return found.group() if found else ""


ADA_LINKS = ('href="mailto:ada@studio.example"', 'href="tel:+442079460958"',
             'href="https://ada.studio/work" rel="noopener nofollow"')


def shows_adas_contact(page: str) -> bool:
    return any(part in page for part in ("ada@studio.example", "+44 20 7946 0958", "ada.studio"))


def test_ada_picks_ben_ben_sees_her_under_chose_you(app, phones):
    assert pick(phones, "Ada", "Ben").status_code == 302
    ben = home(phones, "Ben")
    entry = item(ben, "chose-me", "Ada")
    assert "<strong>Ada</strong> chose you" in entry
    assert all(link in entry for link in ADA_LINKS)
    assert "Choose Ada too" in entry and not item(ben, "chosen", "Ada")
    ada = home(phones, "Ada")
    assert "ben@sales.example" not in ada and "chose you" not in ada
    assert 'data-chosen="Ben"' in ada


def test_ben_picks_ada_back_in_one_tap_then_both_see_both(app, phones):
    pick(phones, "Ada", "Ben")
    assert pick(phones, "Ben", "Ada").status_code == 302  # the "Choose Ada too" button
    ben = home(phones, "Ben")
    assert all(link in item(ben, "chosen", "Ada") for link in ADA_LINKS)
    assert "data-mutual" in item(ben, "chosen", "Ada")
    chose_you = item(ben, "chose-me", "Ada")
    assert all(link in chose_you for link in ADA_LINKS)
    assert "One of your three" in chose_you and "Choose Ada too" not in chose_you
    ada = home(phones, "Ada")
    assert 'href="mailto:ben@sales.example"' in item(ada, "chosen", "Ben")
    assert 'href="mailto:ben@sales.example"' in item(ada, "chose-me", "Ben")


def test_only_ben_picks_ada_ben_sees_nothing_of_hers_anywhere(app, phones):
    slug = phones["event"].slug
    pick(phones, "Ben", "Ada")
    for url in (f"/e/{slug}", f"/e/{slug}/people", f"/e/{slug}/notes/{phones['Ada_id']}"):
        response = phones["Ben"].get(url)
        assert response.status_code == 200 and not shows_adas_contact(text(response)), url
    assert "chose you" not in home(phones, "Ben")
    assert 'href="mailto:ben@sales.example"' in item(home(phones, "Ada"), "chose-me", "Ben")


def test_unpicking_removes_it_again(app, phones):
    pick(phones, "Ada", "Ben")
    pick(phones, "Ben", "Ada")
    assert unpick(phones, "Ada", "Ben").status_code == 302
    ben = home(phones, "Ben")
    assert not shows_adas_contact(ben) and "chose you" not in ben
    assert 'data-chosen="Ada"' in ben  # still one of Ben's three, just without her details
    assert unpick(phones, "Ben", "Ada").status_code == 302
    assert "ben@sales.example" not in home(phones, "Ada")


def test_chose_you_respects_the_three_and_people_who_left(app, phones, make_attendee):
    event = phones["event"]
    for n in range(3):
        guest = make_attendee(event, f"Guest {n}")
        phones[f"Guest {n}_id"] = guest.id
        pick(phones, "Ben", f"Guest {n}")
    pick(phones, "Ada", "Ben")
    entry = item(home(phones, "Ben"), "chose-me", "Ada")
    assert "Swap someone for Ada" in entry
    full = pick(phones, "Ben", "Ada")
    assert full.status_code == 409 and 'aria-label="Swap Guest 0 for Ada"' in text(full)
    post(phones["Ada"], f"/e/{event.slug}/leave")
    entry = item(home(phones, "Ben"), "chose-me", "Ada")
    assert "Ada has left the event." in entry and "<form" not in entry
    assert all(link in entry for link in ADA_LINKS)  # she picked Ben: her details stay his


def test_hostile_contact_details_are_text_on_the_page(app, phones):
    evil = 'javascript:alert(1) <script>alert("x")</script> <img src=x onerror=alert(1)>'
    with app.app_context():
        db.session.get(Attendee, phones["Cleo_id"]).contact = evil
        db.session.commit()
    pick(phones, "Cleo", "Ben")
    entry = item(home(phones, "Ben"), "chose-me", "Cleo")
    assert "javascript:alert(1) &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in entry
    assert "<script" not in entry and "<img" not in entry and 'href="javascript' not in entry
