"""Small helpers that turn raw form values into clean ones, collecting messages per field."""

from __future__ import annotations

import re
import unicodedata

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Fields:
    """Collects cleaned values and per-field messages while a service reads its input."""

    def __init__(self, data: dict):
        self.data = data
        self.errors: dict[str, str] = {}
        self.values: dict = {}

    def text(self, name: str, label: str, *, max_len: int, required: bool = True,
             multiline: bool = False) -> str | None:
        raw = self.data.get(name)
        value = clean_text(raw if isinstance(raw, str) else "", multiline=multiline)
        if not value:
            if required:
                self.errors[name] = f"Please add {label}."
            return None
        if len(value) > max_len:
            self.errors[name] = f"Please keep {label} under {max_len} characters ({len(value)} now)."
            return None
        self.values[name] = value
        return value

    def email(self, name: str, *, required: bool) -> str | None:
        value = self.text(name, "an email address", max_len=254, required=required)
        if value is None:
            return None
        if not EMAIL_RE.match(value):
            self.errors[name] = "That doesn't look like an email address (name@example.com)."
            return None
        value = value.casefold()
        self.values[name] = value
        return value

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def clean_text(value: str, *, multiline: bool = False) -> str:
    """NFC-normalise, drop control characters, trim; keep every printable script."""
    value = unicodedata.normalize("NFC", value)
    if not multiline:
        value = re.sub(r"\s", " ", value)
    keep = {"\n"} if multiline else set()
    value = "".join(
        ch for ch in value
        if ch in keep or unicodedata.category(ch)[0] != "C" or ch in "\u200d"
    )
    if multiline:
        value = value.replace("\r\n", "\n")
        return "\n".join(line.rstrip() for line in value.strip().split("\n"))
    return " ".join(value.split())
