"""QR codes as SVG, for posters and personal codes."""

from __future__ import annotations

import re

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def svg(data: str, *, title: str = "QR code") -> str:
    """A standalone SVG document: error correction M, a 4-module quiet zone, scalable."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(data)
    code.make(fit=True)
    text = code.make_image().to_string(encoding="unicode")
    # Size comes from the page, not from millimetres baked into the file.
    text = re.sub(r'\s(width|height)="[^"]*"', "", text, count=2)
    # A white ground of its own, so the code scans on a dark page too.
    return text.replace(
        ">", f' role="img" aria-label="{_attr(title)}"><rect width="100%" height="100%" fill="#fff"/>', 1
    ).replace(' id="qr-path"', "")


def inline_svg(data: str, *, title: str = "QR code") -> str:
    """The same code, without the XML declaration, for embedding in HTML."""
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg(data, title=title))


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
