"""Where a form may send people back to: only paths on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def same_site_path(target: str | None, prefix: str = "/") -> str | None:
    """`target` if it is a path on this site under `prefix`, else None.

    Control characters are refused outright rather than stripped: browsers and Python's URL
    parser drop tabs and newlines, so "/\\t/evil.example" passes a naive "starts with one
    slash" check and then becomes "//evil.example" (another site); a newline left in a
    Location header is a server error.
    """
    if not target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//") or not parts.path.startswith(prefix):
        return None
    return target
