"""Static files under content-hashed URLs: `url_for('static', filename='css/app.css')` gives
`/static/css/app.css?v=3f2a9c1d0b`. A request with the current hash is cached for a year
(`immutable`: no revalidation round trip on every page at 400 ms venue wifi); any other
static URL (an old hash, none) must revalidate. A changed file gets a new URL, so a phone
never mixes an old stylesheet with a new page."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from flask import Flask, current_app, request

YEAR = 365 * 24 * 3600
#: filename as asked -> (checked at, mtime, hash). Pages ask for the same few files on
#: every view: each is looked up on disk at most once per CHECK_EVERY seconds per process.
_hashes: dict[str, tuple[float, float, str | None]] = {}
CHECK_EVERY = 2.0


def version(filename: str) -> str | None:
    """The first 10 hex digits of the file's SHA-256 (recomputed when the file changes)."""
    now = time.monotonic()
    known = _hashes.get(filename)
    if known is not None and now - known[0] < CHECK_EVERY:
        return known[2]
    folder = Path(current_app.static_folder).resolve()
    path = (folder / filename).resolve()
    digest = None
    mtime = -1.0
    if folder in path.parents:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            pass
        else:
            digest = known[2] if known is not None and known[1] == mtime else \
                hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    if len(_hashes) < 1000:  # static URLs come from our templates; never grows with requests
        _hashes[filename] = (now, mtime, digest)
    return digest


def _versioned(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        v = version(values["filename"])
        if v:
            values["v"] = v


def _cache(response):
    if request.endpoint == "static" and response.status_code in (200, 304):
        current = request.view_args and version(request.view_args.get("filename", ""))
        if current and request.args.get("v") == current:
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
    return response


def register(app: Flask) -> None:
    app.url_defaults(_versioned)
    app.after_request(_cache)
