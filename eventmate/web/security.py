"""Strict response headers on every page."""

from __future__ import annotations

from flask import request
from flask.sessions import SecureCookieSessionInterface

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; "
    "manifest-src 'self'; worker-src 'self'; connect-src 'self'"
)


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Return-code links carry a secret in the path: never send it to another site. Same-origin
    # requests keep their Referer, which CSRF protection checks on HTTPS form posts.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        # Pages carry a CSRF token and personal data: keep them out of shared caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def _buffer_static(response):
    """Static files are small: read them into memory so compression can't leave the
    file handle open (Flask-Compress swaps a streamed body for a generator)."""
    if request.endpoint == "static" and response.direct_passthrough:
        response.direct_passthrough = False
        response.make_sequence()
    return response


def register(app) -> None:
    app.session_interface = SessionInterface()
    app.after_request(_headers)
    # Registered after Flask-Compress, so it runs before it (after_request runs in reverse).
    app.after_request(_buffer_static)
