"""A second event with a crowd already checked in, for the "who's here" benchmark.

    EVENTMATE_DATABASE_URL=... EVENTMATE_SECRET_KEY=... .venv/bin/python -m bench.seed_people --count 2000

Run from the repository root against an already migrated database (run.py does this before
gunicorn starts). It creates an event that is on now through the app's own service
(`events.create_event`, owned by the `flask demo` organiser when there is one), then checks
`--count` people in through `checkin.check_in`, the service the check-in form uses: a signed
form token each, the same validation, the same columns (`search_text`, return code hash,
pick-me token), one commit per person. People are varied and realistic: names from many
languages (accents, apostrophes, hyphens, non-Latin scripts), and one-liners of 16-125
characters built from roles, sectors and offers. The same `--seed` gives the same crowd.
On PostgreSQL it then runs `ANALYZE attendee`, as autovacuum would soon after a crowd arrives.

Prints one JSON line: the event's slug, its check-in path, how many were checked in, the
search word the benchmark uses and how many people it matches, and the time taken.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: The word the benchmark searches for: found in some roles and offers (a full page of
#: results, and a fair share of the crowd, not nearly everyone).
SEARCH_WORD = "café"

FIRST = [
    "José", "María", "Zoë", "Chloé", "Søren", "Björn", "Łukasz", "Małgorzata", "Siobhán", "Seán",
    "François", "Hélène", "Jürgen", "Günther", "Dvořák", "Ana María", "Nguyễn Thị", "Thảo", "Ægir",
    "Ingrid", "Oğuz", "Çağla", "Ömer", "Ayşe", "Mónica", "João", "Inês", "Gonçalo", "Amara",
    "Chidi", "Ngozi", "Kwame", "Yaw", "Fatima", "Youssef", "Aïcha", "Noémie", "Rémi", "Matthias",
    "Katarzyna", "Zuzana", "Tomáš", "Jiří", "Dóra", "Bence", "Ilse", "Pieter", "Saoirse", "Eoin",
    "Priya", "Arjun", "Ananya", "Rohan", "Mei", "Wei", "Hiroshi", "Yuki", "Min-jun", "Seo-yeon",
    "Olivia", "Liam", "Emma", "Noah", "Sam", "Alex", "Jordan", "Taylor", "Chris", "Pat",
    "Александр", "Мария", "Δημήτρης", "Ελένη", "أحمد", "李娜", "Raúl", "Sofía", "Émile", "Maëlle",
]
LAST = [
    "García", "Müller", "Nørgaard", "Åström", "Ó Briain", "O'Connor", "Núñez", "Kowalczyk",
    "Wiśniewska", "Dubois", "Lefèvre", "Schröder", "Weiß", "Novák", "Horváth", "Yılmaz",
    "Öztürk", "Nguyễn", "Trần", "Okafor", "Mensah", "Asante", "Haddad", "El Amrani", "Fernández",
    "da Silva", "Gonçalves", "Rodríguez-López", "van der Berg", "de Vries", "Jansen", "Chen",
    "Wang", "Tanaka", "Suzuki", "Kim", "Park", "Patel", "Sharma", "Iyer", "Smith", "Jones",
    "Williams", "Brown", "Taylor", "Murphy", "Kelly", "Walsh", "Rossi", "Bianchi", "Esposito",
    "Papadopoulos", "Ivanova", "Petrov", "Lindqvist", "Virtanen", "Korhonen", "Hansen", "Berg",
    "Mac Giolla Phádraig", "St-Pierre", "Côté", "Gagnon", "Ben-David", "Cohen", "Al-Sayed",
]
ROLES = [
    "Founder", "Co-founder", "Freelance", "Head of product", "Product designer", "UX researcher",
    "Service designer", "Brand designer", "Software engineer", "Data scientist", "Accountant",
    "Patent attorney", "Grant writer", "Community manager", "Head of marketing", "Chef",
    "Architect", "Urban planner", "Nurse practitioner", "Physiotherapist", "Photographer",
    "Journalist", "Translator", "Teacher", "Researcher", "Investor", "Recruiter", "Sales lead",
    "Operations manager", "Solicitor", "Interior designer", "Game designer", "Sound engineer",
]
ORGS = [
    "a small design studio", "a bike-courier co-op", "a city-centre bakery group", "a fintech start-up",
    "the university hospital", "a family-run hotel", "an energy co-operative", "a climate NGO",
    "a 12-person law firm", "the regional council", "a children's book publisher", "a craft brewery",
    "a logistics company", "a language school", "a social enterprise café", "an indie game studio",
    "a museum", "a football club's foundation", "a robotics lab", "a housing association",
    "Café Müller & Söhne", "Ñandú Studio", "Łódź Tech Hub", "Åkerlund Design", "Crème de la Code",
]
HELPS = [
    "Happy to review your pitch deck or {topic} over coffee",
    "Can introduce you to people at {place}",
    "Knows every supplier in town and loves making introductions",
    "Free first look at your {topic}",
    "Will share what worked (and didn't) when we {did}",
    "Can help you hire your first {hire}",
    "Ten years of {topic}: ask me anything",
    "Glad to translate for you: Portuguese, Spanish, français",
    "I can give honest feedback on your brand, website or product design",
    "Knows the grant landscape for {sector} projects",
]
LOOKING = [
    "An accountant who understands co-operatives",
    "A head of marketing at a {sector} company",
    "Hardware founders about to raise a seed round",
    "Someone who has franchised a {sector} business",
    "A mentor in {topic}",
    "People working on {sector} in the city",
    "A designer for a small rebrand, paid, starting next month",
    "Beta testers for an app that {app}",
    "A co-founder with a background in {topic}",
    "Introductions to buyers at {place}",
]
TOPICS = ["onboarding flows", "pricing", "service design", "fundraising", "supply chains",
          "accessibility", "data protection", "export rules", "café operations", "UX writing",
          "interaction design", "employment law", "bookkeeping", "public speaking"]
PLACES = ["the city council", "the regional development agency", "two local hotel groups",
          "the chamber of commerce", "the big hospitals", "the university's spin-out office",
          "the Saturday market", "Zürich's start-up scene", "São Paulo's design week"]
DID = ["moved production abroad", "raised our first round", "opened a second shop",
       "rebranded", "switched to a four-day week", "won a public tender"]
HIRES = ["developer", "designer", "salesperson", "bookkeeper", "chef", "community manager"]
SECTORS = ["food", "hospitality", "health", "energy", "mobility", "education", "housing",
           "retail", "culture", "fintech", "design"]
APPS = ["splits bills between flatmates", "finds quiet cafés to work from",
        "books physio appointments", "tracks allotment harvests", "helps people learn Irish"]


def person(rng: random.Random, n: int) -> dict[str, str]:
    """One realistic check-in form, as a phone would post it."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if rng.random() < 0.08:
        name = f"{rng.choice(FIRST)}-{rng.choice(FIRST)} {rng.choice(LAST)}"
    fill = {"topic": rng.choice(TOPICS), "place": rng.choice(PLACES), "did": rng.choice(DID),
            "hire": rng.choice(HIRES), "sector": rng.choice(SECTORS), "app": rng.choice(APPS)}
    what = f"{rng.choice(ROLES)} at {rng.choice(ORGS)}"
    if rng.random() < 0.3:
        what += f", working on {rng.choice(TOPICS)}"
    helps = rng.choice(HELPS).format(**fill)
    looking = rng.choice(LOOKING).format(**fill)
    if rng.random() < 0.25:
        looking += f"; also {rng.choice(LOOKING).format(**fill).lower()}"
    form = {"name": name[:80], "what_i_do": what[:140], "how_i_help": helps[:280],
            "looking_for": looking[:280], "email": "", "contact": ""}
    if rng.random() < 0.4:
        form["email"] = f"person{n}@example.org"
    if rng.random() < 0.3:
        form["contact"] = f"Signal +44 7700 9{n:05d}\nlinkedin.com/in/person-{n}"
    return form


def seed(count: int, seed_value: int) -> dict:
    import sqlalchemy as sa
    from flask import current_app

    from eventmate import checkin, clock, events
    from eventmate.cli import DEMO_EMAIL
    from eventmate.extensions import db
    from eventmate.models import Attendee, Organiser

    session = db.session
    secret = current_app.config["SECRET_KEY"]
    organiser = session.scalar(sa.select(Organiser).where(Organiser.email == DEMO_EMAIL))
    if organiser is None:
        organiser = session.scalar(sa.select(Organiser).order_by(Organiser.id))
    if organiser is None:
        raise SystemExit("no organiser: run `flask demo` first")
    start = clock.now().astimezone(ZoneInfo("Europe/Lisbon")) - timedelta(minutes=45)
    event = events.create_event(session, organiser, {
        "name": "Who's here benchmark: a big evening", "venue": "Pavilhão, Rua da Prata 80",
        "timezone": "Europe/Lisbon",
        "starts_local": start.strftime(events.LOCAL_FORMAT),
        "ends_local": (start + timedelta(hours=4)).strftime(events.LOCAL_FORMAT),
        "prompt_hour": "9",
    })
    rng = random.Random(seed_value)
    t0 = time.perf_counter()
    for n in range(count):
        checkin.check_in(session, event, person(rng, n), checkin.new_form_token(secret), secret)
    seconds = time.perf_counter() - t0
    if session.get_bind().dialect.name == "postgresql":
        # What autovacuum does within a minute or so of a real crowd arriving: without it, the
        # planner has no statistics for the 2,000 new rows and picks poor plans (see README).
        session.commit()
        session.execute(sa.text("ANALYZE attendee"))
        session.commit()
    here = sa.select(sa.func.count()).where(Attendee.event_id == event.id,
                                            Attendee.checked_in_at.isnot(None))
    try:  # the app's search fold (a --baseline tree from before it casefolded only)
        from eventmate.models import fold
    except ImportError:
        fold = str.casefold
    matches = here.where(Attendee.search_text.like(f"%{fold(SEARCH_WORD)}%"))
    return {"slug": event.slug, "checkin_path": events.checkin_path(event),
            "checked_in": session.scalar(here), "search_word": SEARCH_WORD,
            "search_matches": session.scalar(matches), "seconds": round(seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    logging.getLogger("eventmate.actions").disabled = True  # 2,000 "checked in" lines
    from eventmate import create_app

    with create_app().app_context():
        print(json.dumps(seed(args.count, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
