"""Contact details made tappable: the free text an attendee shares, as safe HTML.

Emails become `mailto:` links, phone numbers `tel:` links and web addresses `https:` links;
everything else is escaped text. A link's address is always one of those schemes followed
by what a pattern below matched, so no text can ever become a `javascript:` (or any other)
link, and every character the person typed reaches the page escaped.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

#: Endings that make a bare "name.ending" a web address. Without this list "Node.js",
#: "cv.pdf" or the handle "john.smith" would turn into links; with https:// or www. in
#: front, any ending counts.
WEB_ENDINGS = frozenset({
    "com", "org", "net", "edu", "gov", "int", "info", "biz", "name", "pro", "io", "co", "ai", "app",
    "dev", "me", "tv", "fm", "xyz", "studio", "design", "agency", "tech", "online", "site", "website",
    "blog", "shop", "store", "page", "link", "ltd", "inc", "llc", "club", "cloud", "digital",
    "consulting", "solutions", "art", "photography", "photo", "media", "email", "social", "network",
    "works", "world", "life", "global", "group", "company", "team", "today", "space", "live", "news",
    "ventures", "capital", "fund", "health", "coffee", "travel", "events", "community", "eu", "asia"
})
#: Two letters are a country (.de, .io, .uk) — except these, which are file names here.
NOT_COUNTRIES = frozenset({"js", "ts", "rb", "cs", "py"})

#: Phone numbers: at least 7 digits (shorter is a year or a room number), at most 15 (E.164).
PHONE_DIGITS = (7, 15)
#: Digit groups that look like a phone number but are dates or year ranges.
NOT_PHONES = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{4}|(?:19|20)\d\d-(?:19|20)\d\d")

_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"  # one part of a host name: letters, digits, inner "-"
_HOST_END = r"(?![\w@-]|\.[\w-])"  # the host really ends here (not inside a longer name)
_PORT = r"(?::\d{1,5})?"
_PATH = r"(?:[/?#][^\s<>\"'`]*)?"

TOKEN = re.compile(
    rf"""
    (?P<email>(?<![\w.%+/-])[\w.%+-]+@{_LABEL}(?:\.{_LABEL})*\.[^\W\d_]{{2,}}{_HOST_END})
  | (?P<url>(?<![\w.@/:+-])(?:https?://|www\.)(?:{_LABEL}\.)*{_LABEL}{_HOST_END}{_PORT}{_PATH})
  | (?P<domain>(?<![\w.@/:+%-])(?:{_LABEL}\.)+(?P<ending>[^\W\d_]{{2,24}}){_HOST_END}{_PORT}{_PATH})
  | (?P<phone>(?<![\w+@/.%-])\+?(?:\(\d{{1,6}}\)|\d+)(?:[ -]?\(\d{{1,6}}\)|[ -]\d+|(?<=\))\d+)*(?![\w@]))
    """,
    re.VERBOSE | re.IGNORECASE,
)

_TRAILING = ".,;:!?'\")]}"


def linkify(text: str | None) -> Markup:
    """Contact details as HTML: emails, phone numbers and web addresses as links, the
    rest as escaped text (line breaks kept, for a `white-space: pre-line` box)."""
    if not text:
        return Markup("")
    parts: list[str] = []
    done = 0
    for match in TOKEN.finditer(text):
        found, tail = match.group(), ""
        if match.lastgroup in ("url", "domain"):
            found, tail = _trim(found)
        link = _link(match.lastgroup, found, match.group("ending"))
        if link is None:
            continue  # looked like one, isn't: stays with the text around it
        parts += [escape(text[done:match.start()]), link, escape(tail)]
        done = match.end()
    parts.append(escape(text[done:]))
    return Markup("").join(parts)


def _trim(url: str) -> tuple[str, str]:
    """Split sentence punctuation off the end of an address ("see ada.studio/work.");
    a closing bracket stays when the address opened it (wikipedia.org/wiki/Ada_(name))."""
    end = len(url)
    while end and url[end - 1] in _TRAILING:
        char = url[end - 1]
        opener = {")": "(", "]": "[", "}": "{"}.get(char)
        if opener and url[:end].count(opener) >= url[:end].count(char):
            break
        end -= 1
    return url[:end], url[end:]


def _link(kind: str | None, found: str, ending: str | None) -> Markup | None:
    if kind == "email":
        return Markup('<a href="mailto:{0}">{0}</a>').format(found)
    if kind == "phone":
        number = found.replace("(0)", "") if found.startswith("+") else found  # +44 (0)20 …
        digits = re.sub(r"\D", "", number)
        if NOT_PHONES.fullmatch(found) or not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
            return None
        plus = "+" if found.startswith("+") else ""
        return Markup('<a href="tel:{}{}">{}</a>').format(plus, digits, found)
    if kind == "domain":
        ending = (ending or "").lower()
        known = ending in WEB_ENDINGS or (len(ending) == 2 and ending not in NOT_COUNTRIES)
        if not known:
            return None
    if kind in ("url", "domain"):
        # Always https: whatever was typed (http://, www., a bare name), the phone opens
        # the secure address.
        address = re.sub(r"^https?://", "", found, flags=re.IGNORECASE)
        return Markup('<a href="https://{}" rel="noopener nofollow">{}</a>').format(address, found)
    return None


def addresses(text: str | None) -> tuple[list[str], list[str]]:
    """The email addresses and phone numbers (as `tel:` digits) in shared contact details,
    for "send it by email / by text" — found exactly as `linkify` finds its links."""
    emails: list[str] = []
    phones: list[str] = []
    for match in TOKEN.finditer(text or ""):
        if match.lastgroup == "email":
            emails.append(match.group())
        elif match.lastgroup == "phone":
            link = _link("phone", match.group(), None)
            if link is not None:
                phones.append(re.search(r'href="tel:([^"]+)"', str(link)).group(1))
    return emails, phones
