"""Every setting EventMate reads, in one place.

Settings come from `EVENTMATE_*` environment variables (see CONTRACT.md). Secrets that are
not given are generated once and kept in the instance folder, so restarts and several
worker processes agree on them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_PORT = 5000
DEFAULT_HOST = "127.0.0.1"


def command_line_base_url() -> str:
    """Where links point when the command line has no request: the local server `make run` starts."""
    return f"http://{DEFAULT_HOST}:{_env('PORT', str(DEFAULT_PORT))}"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"EVENTMATE_{name}")
    return value if value not in (None, "") else default


def _flag(name: str) -> bool:
    """An on/off setting: `1`, `true`, `yes` or `on` turn it on; anything else leaves it off."""
    return (_env(name) or "").strip().lower() in ("1", "true", "yes", "on")


def read_or_create_secret(path: Path, make) -> str:
    """Return the secret stored at `path`, creating it atomically when missing.

    Several gunicorn workers may start at once: each writes its candidate to a temporary
    file and hard-links it into place; only the first link wins and everyone rereads it.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(make())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _new_vapid_key() -> str:
    """A fresh P-256 key for VAPID (RFC 8292), as PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load(instance_path: str) -> dict:
    """Build the Flask config mapping from the environment."""
    instance = Path(instance_path)
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance / 'eventmate.sqlite3'}"
    secret_key = _env("SECRET_KEY") or read_or_create_secret(
        instance / "secret_key", lambda: secrets.token_urlsafe(48)
    )
    return {
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No pre-ping (a round trip before every request's first query): a SQLite file has no
        # server, and PostgreSQL connections are recycled before servers or firewalls drop
        # idle ones. A server restart costs each worker one failed request, after which
        # SQLAlchemy replaces the worker's whole pool.
        "SQLALCHEMY_ENGINE_OPTIONS": {} if database_url.startswith("sqlite") else {
            "pool_recycle": int(_env("DATABASE_POOL_RECYCLE_SECONDS", "300")),
        },
        # Public origin for QR codes and links; None means "the request's origin".
        "BASE_URL": (_env("BASE_URL") or "").rstrip("/") or None,
        "PROXY_HOPS": int(_env("PROXY_HOPS", "0")),
        # X-Forwarded-Host is off even behind a proxy: nginx passes a client's own header on by
        # default, and links would then follow a host the client chose.
        "PROXY_TRUST_HOST": _flag("PROXY_TRUST_HOST"),
        # Requests larger than this are refused (413) before their body is read.
        "MAX_CONTENT_LENGTH": int(_env("MAX_REQUEST_BYTES", str(1024 * 1024))),
        # Web Push: the key is given, or generated once into the instance folder (PEM).
        "VAPID_PRIVATE_KEY": _env("VAPID_PRIVATE_KEY") or read_or_create_secret(
            instance / "vapid_private_key.pem", _new_vapid_key
        ),
        "VAPID_SUBJECT": _env("VAPID_SUBJECT", "mailto:admin@localhost"),
        "SMTP_URL": _env("SMTP_URL"),
        #: Sender of the email fallback.
        "MAIL_FROM": _env("MAIL_FROM", "EventMate <eventmate@localhost>"),
        # The dispatcher: how long a worker's claim on a message lasts before another worker
        # may take it over (a worker killed mid-pass), and how long one push may take.
        "DISPATCH_CLAIM_SECONDS": int(_env("DISPATCH_CLAIM_SECONDS", "120")),
        #: Messages one worker claims at a time: what a `kill -9` can cause to be sent twice.
        "DISPATCH_BATCH": int(_env("DISPATCH_BATCH", "100")),
        # Attendee data of an event is deleted this many days after it ends (the worker's
        # pass does it); the event's counts are kept as numbers.
        "RETENTION_DAYS": max(1, int(_env("RETENTION_DAYS", "90"))),
        "PUSH_TIMEOUT_SECONDS": float(_env("PUSH_TIMEOUT_SECONDS", "10")),
        # Push endpoints on this machine are only for the tests' local push service.
        "PUSH_ALLOW_LOOPBACK": False,
        # A note page stays open all evening: tie CSRF tokens to the session, not the hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        # werkzeug's scrypt (n=2^15, r=8): tens of milliseconds per log-in by design. The test
        # suite alone sets a cheap method; nothing reads it from the environment.
        "PASSWORD_HASH_METHOD": "scrypt",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Rate limits. Memory storage is per worker process (FIELD-NOTES); the limits are
        # generous enough that this only matters for abuse. `eventmate-memory://` is
        # limits' memory storage without its timer thread per hit (extensions.py).
        "RATELIMIT_STORAGE_URI": "eventmate-memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute"),
        # Failed log-ins per address, whatever the email (password spraying). Only failures
        # count, so an office of organisers behind one address logging in is never stopped.
        "LOGIN_FAILURE_RATE_LIMIT": _env("LOGIN_FAILURE_RATE_LIMIT", "20 per 10 minutes"),
        # "Forgot your password?" emails, per address and per email address asked about.
        "PASSWORD_RESET_RATE_LIMIT": _env("PASSWORD_RESET_RATE_LIMIT", "5 per hour"),
        "PASSWORD_RESET_EMAIL_RATE_LIMIT": _env("PASSWORD_RESET_EMAIL_RATE_LIMIT", "3 per hour"),
        # Check-in: per form/device, plus a ceiling per address that a crowd behind one
        # venue NAT never reaches.
        "CHECKIN_RATE_LIMIT": _env("CHECKIN_RATE_LIMIT", "10 per minute"),
        "CHECKIN_ADDRESS_RATE_LIMIT": _env("CHECKIN_ADDRESS_RATE_LIMIT", "300 per minute"),
        # Return codes: only codes that match no one count — per address (NAT-sized: a venue
        # full of people getting back in is never stopped) and per code, from any address.
        "RETURN_CODE_RATE_LIMIT": _env("RETURN_CODE_RATE_LIMIT", "20 per minute"),
        "RETURN_CODE_PER_CODE_RATE_LIMIT": _env("RETURN_CODE_PER_CODE_RATE_LIMIT", "10 per 10 minutes"),
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        # The cheapest levels (measured in bench/README.md): Brotli 1 costs a third of level
        # 4 on a who's-here page for 0.5 KB more on the wire, far inside the page budgets;
        # gzip 1 likewise. Below 1.5 KB compressing costs more than the bytes it saves.
        "COMPRESS_BR_LEVEL": 1,
        "COMPRESS_LEVEL": 1,
        "COMPRESS_MIN_SIZE": 1500,
        "COMPRESS_MIMETYPES": [
            "text/html", "text/css", "application/javascript", "application/json",
            "image/svg+xml", "text/csv", "application/manifest+json",
        ],
        # An organiser's open event page polls its live numbers every 10 s; each server process
        # keeps what it answered for this long (per event), however many dashboards are open.
        "LIVE_POLL_CACHE_SECONDS": 5.0,
        # Who's here says how many people are there (or match a search): each server process
        # keeps that count this long per event and search, rather than count everyone present
        # on every view. The list itself is always read fresh.
        "WHO_TOTAL_CACHE_SECONDS": 5.0,
        # Only honoured when TESTING: lets a live test server run at a chosen time.
        "TEST_NOW": None,
    }
