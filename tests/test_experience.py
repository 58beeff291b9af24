"""A night out, not a form (issue 10): faces in lists (initials on a colour from the name, white
text readable on every colour), the frame on every attendee page, my three as three places
with an undo, and who's here keeping your place when you choose someone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import post, text

from eventmate.web.templating import AVATAR_COLOURS, avatar_colour, initials

CSS = (Path(__file__).resolve().parent.parent / "static" / "css" / "app.css").read_text()


@pytest.mark.parametrize(("name", "expected"), [
    ("Zoë Ōkubo 🌱", "ZŌ"), ("ana", "A"), ("🌱 Ben Okafor", "BO"), ("Jean-Luc Picard", "JP"),
    ("Björn Ólafsson", "BÓ"), ("李 小龍", "李小"), ("   ", "?"), ("Wolfeschlegelsteinhausenbergerdorff", "W"),
])
def test_initials_are_the_first_and_last_words_letters(name, expected):
    assert initials(name) == expected


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_white_initials_pass_aa_on_every_avatar_colour():
    colours = dict(re.findall(r"\.avatar-(\d) \{ background: (#[0-9a-f]{6}); \}", CSS))
    assert sorted(colours) == [str(n) for n in range(AVATAR_COLOURS)]
    for number, colour in colours.items():
        ratio = (1.05) / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, f"avatar-{number} {colour}: {ratio:.2f}"
    # Stable per name, whatever its case; spread over the palette.
    assert avatar_colour("Ana Lima") == avatar_colour("ANA LIMA")
    assert len({avatar_colour(f"Guest {n}") for n in range(40)}) == AVATAR_COLOURS


@pytest.fixture
def evening(app, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser(), venue="The Corner Room")
    me = make_attendee(event, "Ana Lima")
    others = [make_attendee(event, name) for name in ("Ben Okafor", "Chloé Martin", "Dev Patel")]
    phone = app.test_client()
    post(phone, "/return", {"code": me.code})
    return type("Evening", (), dict(event=event, me=me, others=others, phone=phone, home=f"/e/{event.slug}"))


def test_every_attendee_page_has_the_frame(evening):
    for path in ("", "/people", "/inbox", "/qr"):
        page = text(evening.phone.get(evening.home + path))
        assert '<nav class="tabbar" aria-label="At the event">' in page, path
        assert page.count('aria-current="page"') == 1, path
        assert "Thursday founders evening" in page and "The Corner Room" in page, path


def test_my_three_is_three_places_and_a_removal_can_be_undone(evening):
    ben = evening.others[0]
    page = text(evening.phone.get(evening.home))
    assert page.count("data-empty-slot") == 3 and "Choose someone" in page
    post(evening.phone, f"{evening.home}/picks", {"person": str(ben.id)})
    page = text(evening.phone.get(evening.home))
    assert page.count("data-empty-slot") == 2 and 'data-chosen="Ben Okafor"' in page
    assert 'class="avatar avatar-' in page and ">BO<" in page
    removed = post(evening.phone, f"{evening.home}/picks/{ben.id}/remove", {})
    assert removed.headers["Location"] == f"{evening.home}?removed={ben.id}"
    page = text(evening.phone.get(removed.headers["Location"]))
    assert "Ben Okafor is no longer one of your three" in page and f'name="person" value="{ben.id}"' in page
    # A stale or foreign "removed" shows nothing.
    assert "no longer one of your three" not in text(evening.phone.get(f"{evening.home}?removed=999999"))


def test_choosing_someone_comes_back_to_their_row(evening):
    chloe = evening.others[1]
    listed = text(evening.phone.get(f"{evening.home}/people?q=chlo"))
    assert f'id="p-{chloe.id}"' in listed
    assert f'name="next" value="/e/{evening.event.slug}/people?q=chlo#p-{chloe.id}"' in listed
    chosen = post(evening.phone, f"{evening.home}/picks",
                  {"person": str(chloe.id), "next": f"/e/{evening.event.slug}/people?q=chlo#p-{chloe.id}"})
    assert chosen.headers["Location"].endswith(f"/people?q=chlo#p-{chloe.id}")
    assert "1 of 3 chosen" in text(evening.phone.get(f"{evening.home}/people"))


def test_an_attendee_edits_their_answers_and_others_see_the_change(app, evening):
    form = text(evening.phone.get(f"{evening.home}/you/answers"))
    assert 'value="Ana Lima"' in form and "I run a small design studio" in form
    bad = post(evening.phone, f"{evening.home}/you/answers",
               {"name": "Ana Lima", "what_i_do": "x" * 141, "how_i_help": "Brand feedback",
                "looking_for": "A hotel marketer", "email": "not-an-email"})
    assert bad.status_code == 422 and "Brand feedback" in text(bad) and 'aria-invalid="true"' in text(bad)
    saved = post(evening.phone, f"{evening.home}/you/answers",
                 {"name": "Ana Lima-Sousa", "what_i_do": "Brand studio for boutique hotels",
                  "how_i_help": "Brand feedback", "looking_for": "A hotel marketer",
                  "email": "ana@example.org", "contact": "ana.studio", "contact_consent": "yes"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#you")
    ben = app.test_client()
    post(ben, "/return", {"code": evening.others[0].code})
    listed = text(ben.get(f"{evening.home}/people?q=boutique"))
    assert "Ana Lima-Sousa" in listed and "Brand studio for boutique hotels" in listed
