"""Static files under content-hashed URLs: `url_for('static', filename='css/app.css')` gives
`/static/css/app.css?v=3f2a9c1d0b`. A request with the current hash is cached for a year
(`immutable`: no revalidation round trip on every page at 400 ms venue wifi); any other
static URL (an old hash, none) must revalidate. A changed file gets a new URL, so a phone
never mixes an old stylesheet with a new page."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, current_app, request

YEAR = 365 * 24 * 3600
_hashes: dict[str, tuple[float, str]] = {}


def version(filename: str) -> str | None:
    """The first 10 hex digits of the file's SHA-256 (recomputed when the file changes)."""
    folder = Path(current_app.static_folder).resolve()
    path = (folder / filename).resolve()
    if folder not in path.parents:
        return None
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    known = _hashes.get(str(path))
    if known is None or known[0] != mtime:
        known = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:10])
        _hashes[str(path)] = known
    return known[1]


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
