"""The real EventMate app plus one bare route, for the benchmark: `gunicorn bench.wsgi:app`.

The bare route runs through the same app, so the same extensions (limiter, CSRF, sessions,
compression, security headers) see it; it does no database work and renders no template.
It is the yardstick the check-in is measured against. Run from the repository root.
"""

from __future__ import annotations

from eventmate import create_app

BARE_PATH = "/bench/bare"

app = create_app()


@app.get(BARE_PATH)
def bench_bare():
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
