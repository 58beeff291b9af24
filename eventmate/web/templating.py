"""What every template can use."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.routing import IntegerConverter

from .. import addresses, clock, contact, drafts, push, tokens


def public_url(path: str) -> str:
    """An absolute URL under EVENTMATE_BASE_URL, or the request's own origin."""
    base = current_app.config.get("BASE_URL") or request.host_url.rstrip("/")
    return base + path


def base_url_warning(url: str) -> str | None:
    """Why phones may not be able to use a URL, in an organiser's words; None if fine."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if addresses.is_unspecified(host):
        # 0.0.0.0 / :: is where a server listens ("every address"), not an address to open.
        lan = addresses.lan_address()
        better = (f"Open EventMate at {addresses.url(lan, parts.port)} instead, or set"
                  if lan else "Open EventMate at this computer's address on your network, or set")
        return (f"This code points to {host}, which no phone can open. {better} "
                "EVENTMATE_BASE_URL to the address phones use (see the README).")
    if addresses.is_local_only(host):
        return (
            f"This code points to {host}, which only this computer can reach — phones can't. "
            "Set EVENTMATE_BASE_URL to the address phones use (see the README)."
        )
    if parts.scheme != "https":
        return (
            "This code uses plain http. Check-in works, but installing the app and "
            "notifications need HTTPS: put EventMate behind a TLS proxy and set EVENTMATE_BASE_URL."
        )
    return None


def push_key() -> str:
    """The VAPID public key the page subscribes with (derived once per key)."""
    return _public_key(current_app.config["VAPID_PRIVATE_KEY"])


@cache
def _public_key(private_key: str) -> str:
    return push.application_server_key(private_key)


def format_local(moment: datetime | None, zone, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime(fmt)


class IdConverter(IntegerConverter):
    """Row ids in URLs: at most 9 digits, so no number can overflow a database integer."""

    regex = r"\d{1,9}"


#: Avatar backgrounds: white initials on each pass WCAG AA (4.5:1) in light and dark mode.
AVATAR_COLOURS = 8


def initials(name: str) -> str:
    """'Zoë Ōkubo' -> 'ZŌ', 'ana' -> 'A', '🌱 Ben' -> 'B': the first letter of the first and
    last words that have one."""
    words = [next((ch for ch in word if ch.isalpha()), "") for word in (name or "").split()]
    letters = [w for w in words if w]
    if not letters:
        return "?"
    return (letters[0] + (letters[-1] if len(letters) > 1 else "")).upper()


def avatar_colour(name: str) -> int:
    """A stable colour (0-7) per name, the same on every page and every phone."""
    return int(hashlib.sha256((name or "").casefold().encode()).hexdigest()[:8], 16) % AVATAR_COLOURS


def register(app) -> None:
    app.url_map.converters["id"] = IdConverter
    from . import device, pwa

    app.jinja_env.globals.update(public_url=public_url, now=clock.now, manifest_href=pwa.manifest_href,
                                 device_code=lambda event: device.codes().get(str(event.id)))
    app.jinja_env.filters["local"] = format_local
    app.jinja_env.filters["initials"] = initials
    app.jinja_env.filters["avatar_colour"] = avatar_colour
    app.jinja_env.filters["grouped"] = tokens.group
    app.jinja_env.filters["contact_links"] = contact.linkify
    app.jinja_env.filters["first_name"] = drafts.first_name
