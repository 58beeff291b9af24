"""Random tokens and the typed codes people read off a screen."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford's base32: no I, L, O or U, so a code read aloud or typed survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPO_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def random_code(length: int) -> str:
    """A random code of `length` base32 characters (5 bits each)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def derived_code(secret: str, message: str, length: int) -> str:
    """A code derived from `message` with an HMAC; the same inputs give the same code."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(ALPHABET[index])
    return "".join(chars)


def normalise_code(text: str) -> str:
    """Undo what people do to codes: spaces, dashes, lower case, O for 0."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return cleaned.translate(_TYPO_FIXES)


def group(code: str, size: int = 4) -> str:
    """`ABCD1234EFGH5678` → `ABCD-1234-EFGH-5678`, easier to read and type."""
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def digest(token: str) -> str:
    """What we store instead of a bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def url_token() -> str:
    """A 256-bit token for links and forms."""
    return secrets.token_urlsafe(32)
