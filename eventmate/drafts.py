"""Drafting the morning-after follow-up note, from the author's own listening notes.

The product's advice is: follow up within 24 hours, show you listened by being specific about
what you heard, give first, and suggest a coffee. `draft` turns an attendee's private notes
about one of their picks into a short, warm note they can edit and send. It is deterministic
(templates with several phrasings chosen by `seed`; no model, no network) and pure (no Flask,
no database), so the same inputs always give the same text.

Each note value is placed at the end of its sentence after a colon, so it reads naturally
whether it is a fragment ("a CRM for vets") or a full sentence ("She is hiring a CTO.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: The longest draft we return, in characters.
MAX_DRAFT = 900
#: A note value is cut (on a word boundary, ending with "…") at about this many characters.
NOTE_LIMIT = 160
#: Shorter caps tried, in order, when a draft with long names and notes would be too long.
_FALLBACK_LIMITS = (120, 90, 60, 40)
NAME_LIMIT = 40
EVENT_LIMIT = 80
ELLIPSIS = "…"

_TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "professor", "doctor"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
#: A list marker at the start of a line: "-", "*", "•" (and friends), or "1." / "2)".
_BULLET = re.compile(r"^(?:[-*•‣◦▪–—]+\s*(?!\d)|\d{1,2}[.)]\s+)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,;:.!?…])(?=\s|$)")
_DOTS = re.compile(r"\.{2,}|…\.+")
_REPEATED = re.compile(r"([,;:])\1+")
_TRAILING = " \t.,;:-–—(["
_TERMINAL = ("?", "!", ELLIPSIS)


# --- cleaning -------------------------------------------------------------------------------


def _tidy(line: str) -> str:
    """One line: collapse whitespace, tidy stray spacing and dots, no trailing ".,;:"."""
    text = " ".join(line.split())
    text = _DOTS.sub(ELLIPSIS, _SPACE_BEFORE_PUNCT.sub(r"\1", _DOTS.sub(ELLIPSIS, text)))
    text = _REPEATED.sub(r"\1", text)
    return text.lstrip(" ,;:").rstrip(_TRAILING)


def _shorten(text: str, limit: int) -> str:
    """Cut to at most `limit` characters on a word boundary, ending with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if text[limit - 1] != " " and space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(_TRAILING + "…") + ELLIPSIS


def clean_note(text: str | None, limit: int = NOTE_LIMIT) -> str:
    """A note value ready to quote: one line, bullets joined with "; ", no trailing ".,;:".

    A final "?", "!" or "…" is kept. Returns "" when nothing worth quoting is left.
    """
    joined, after = "", ""
    for raw in (text or "").splitlines():
        item = _tidy(_BULLET.sub("", raw.strip()))
        if not any(ch.isalnum() for ch in item):
            continue
        joined += after + item
        # "Needs:" heading a list keeps its colon: "Needs: funding; a CTO".
        after = ": " if raw.rstrip().endswith(":") else " " if item.endswith(_TERMINAL) else "; "
    joined = joined.rstrip(_TRAILING)
    if not any(ch.isalnum() for ch in joined):
        return ""
    return _shorten(joined, limit)


def first_name(name: str) -> str:
    """How to address someone: their first word ("Ana Lima" → "Ana"), or "there" if no name.

    A leading title is skipped ("Dr. Chloé O'Neil" → "Chloé"); an all-lowercase first name is
    capitalised ("ben" → "Ben"). Names written in Chinese, Japanese or Korean put the family
    name first, so those are kept whole ("李 雷").
    """
    words = (name or "").split()
    if not words:
        return "there"
    if _CJK.search(words[0]):
        return _shorten(" ".join(words), NAME_LIMIT)
    if len(words) > 1 and words[0].rstrip(".").lower() in _TITLES:
        words = words[1:]
    word = words[0].rstrip(",;:") or words[0]
    if word.islower():
        word = word[0].upper() + word[1:]
    return _shorten(word, NAME_LIMIT)


# --- phrasings ------------------------------------------------------------------------------


def _sentence(lead: str, value: str) -> str:
    """`lead` + `value` + a full stop, unless the value already ends a sentence ("?", "!", "…")."""
    return f"{lead}{value}" + ("" if value.endswith(_TERMINAL) else ".")


def _pick(options: Sequence[str], seed: int, offset: int) -> str:
    return options[(seed + offset) % len(options)]


GREETINGS = ("Hi {name},", "Hello {name},")
#: "{when}" is " last night" (with its leading space) or ""; "{at}" is " at Event" or "".
OPENINGS = (
    "Great to meet you{when}{at}.",
    "It was a real pleasure meeting you{when}{at}.",
    "I really enjoyed our conversation{when}{at}.",
    "Thanks for the chat{when}{at}.",
)
WORKING_ON = (
    "I've been thinking about what you're working on: ",
    "What you told me about your work has stayed with me: ",
    "I keep coming back to what you're building: ",
)
NEEDS = (
    "I made a note of what you said would help most right now: ",
    "You mentioned what you need at the moment: ",
    "I heard what you're looking for right now: ",
)
LOOKING_FOR = (
    "I saw the introduction you're hoping for: ",
    "I noticed the introduction you're looking for: ",
)
OFFERS = (
    "As promised: ",
    "Following up on what I offered: ",
    "From my side, as I mentioned: ",
)
#: When I noted a need but no offer: keep an eye out.
KEEP_AN_EYE_OUT = (
    "I'll keep an eye out, and if I come across anything useful, I'll pass it on.",
    "If I think of anyone who could help with that, I'll put you in touch.",
    "I'll keep my ears open on that front.",
)
#: When they said whom they'd like to meet and I have no offer: offer an introduction.
INTRODUCE = (
    "If I meet someone who fits, I'd be glad to introduce you.",
    "I'll keep that in mind, and I'm happy to make an introduction if I can.",
)
COFFEE = (
    "Would you be up for a coffee in the next week or two?",
    "Shall we grab a coffee soon and carry on the conversation?",
    "If you have half an hour in the coming weeks, I'd love to continue over coffee.",
    "Fancy a coffee sometime soon to pick up where we left off?",
    "It would be good to continue over a coffee. Do you have time in the next couple of weeks?",
)
SIGN_OFFS = ("Best,", "All the best,", "Warm regards,", "Speak soon,")


# --- the draft ------------------------------------------------------------------------------


def draft(*, me_name: str, their_name: str, event_name: str, when: str | None,
          working_on: str = "", needs: str = "", offer: str = "", looking_for: str = "",
          seed: int = 0) -> str:
    """The note, ready to edit: plain text with line breaks, at most MAX_DRAFT characters.

    Empty fields leave their sentence out. Consecutive seeds give different openings and
    coffee lines, so three notes written with seeds n, n+1, n+2 all read differently.
    """
    for limit in (NOTE_LIMIT, *_FALLBACK_LIMITS):
        text = _render(
            me_name=me_name, their_name=their_name, event_name=event_name, when=when,
            notes=[clean_note(v, limit) for v in (working_on, needs, offer, looking_for)],
            seed=seed,
        )
        if len(text) <= MAX_DRAFT:
            return text
    return _shorten(text, MAX_DRAFT)  # unreachable with the caps above; a last guard


def _render(*, me_name: str, their_name: str, event_name: str, when: str | None,
            notes: list[str], seed: int) -> str:
    working_on, needs, offer, looking_for = notes
    listening = [_opening(event_name, when, seed)]
    if working_on:
        listening.append(_sentence(_pick(WORKING_ON, seed, 1), working_on))
    if needs:
        listening.append(_sentence(_pick(NEEDS, seed, 2), needs))
    elif looking_for:
        listening.append(_sentence(_pick(LOOKING_FOR, seed, 0), looking_for))

    giving: list[str] = []
    if offer:
        giving.append(_sentence(_pick(OFFERS, seed, 0), offer))
    elif needs:
        giving.append(_pick(KEEP_AN_EYE_OUT, seed, 1))
    elif looking_for:
        giving.append(_pick(INTRODUCE, seed, 1))
    giving.append(_pick(COFFEE, seed, 0))

    me = (me_name or "").strip()
    closing = _pick(SIGN_OFFS, seed, 3) + (f"\n{first_name(me)}" if me.split() else "")
    paragraphs = [
        _pick(GREETINGS, seed, 0).format(name=first_name(their_name)),
        " ".join(listening),
        " ".join(giving),
        closing,
    ]
    return "\n\n".join(paragraphs)


def _opening(event_name: str, when: str | None, seed: int) -> str:
    event = _shorten(_tidy(event_name or ""), EVENT_LIMIT)
    moment = _tidy(when or "")
    text = _pick(OPENINGS, seed, 2).format(
        when=f" {moment}" if moment else "",
        at=f" at {event}" if event else "",
    )
    return _fix_end(text)


def _fix_end(text: str) -> str:
    """"…at Yahoo!." → "…at Yahoo!": a value that ends a sentence needs no extra full stop."""
    return text[:-1] if text.endswith(tuple(f"{t}." for t in _TERMINAL)) else text


__all__: list[str] = ["MAX_DRAFT", "NOTE_LIMIT", "clean_note", "draft", "first_name"]
