"""Which addresses phones can reach: loopback and "every address" (0.0.0.0, ::) are for this
computer only; the machine's address on the local network is what a phone needs.

`python -m eventmate.addresses` prints what `make run` says when it starts (scripts/run.sh).
"""

from __future__ import annotations

import contextlib
import os
import socket
from ipaddress import ip_address

from .config import DEFAULT_HOST, DEFAULT_PORT

#: Any address outside this machine: connecting a UDP socket to it sends nothing, but makes
#: the system pick the interface (and so the address) it would use to get there.
_ROUTE_PROBE = "192.0.2.1"


def _ip(host: str):
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_local_only(host: str) -> bool:
    """Is `host` of no use to a phone: loopback ("localhost", 127.0.0.1, ::1) or the
    unspecified address a server listens on (0.0.0.0, ::), which nobody can open?"""
    if host.lower() == "localhost":
        return True
    ip = _ip(host)
    return ip is not None and (ip.is_loopback or ip.is_unspecified)


def is_unspecified(host: str) -> bool:
    """0.0.0.0 or ::: "listen on every address of this computer" — not an address to open."""
    ip = _ip(host)
    return ip is not None and ip.is_unspecified


def lan_address() -> str | None:
    """This computer's IPv4 address on its local network (for phones on the same wifi), or None."""
    candidates = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((_ROUTE_PROBE, 9))
            candidates.append(probe.getsockname()[0])
    except OSError:
        pass  # no route out: try what the host name says
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    for candidate in candidates:
        if not is_local_only(candidate):
            return candidate
    return None


def url(host: str, port: int | str | None) -> str:
    """An http origin for `host` (IPv6 in brackets) and `port` (none: the scheme's own)."""
    ip = _ip(host)
    origin = f"http://[{host}]" if ip is not None and ip.version == 6 else f"http://{host}"
    return f"{origin}:{port}" if port else origin


def startup_lines(host: str, port: int | str) -> list[str]:
    """What `make run` says before serving: where to open EventMate, and what phones need."""
    demo = ".venv/bin/flask --app app demo"
    if str(port) != str(DEFAULT_PORT):
        demo = f"EVENTMATE_PORT={port} {demo}"  # so its links carry this port too
    if is_unspecified(host):
        lan = lan_address()
        where = (f"{url(lan, port)} (and every other address of this computer)" if lan else
                 f"port {port} of every address of this computer")
        lines = [f"  EventMate is starting on {where}."]
        lines.append("  New here? Open that address to create the first organiser account."
                     if lan else
                     f"  New here? Open http://<this computer's address on your network>:{port} to"
                     " create the first organiser account (`hostname -I` shows the address).")
        lines.append("  Phones on your network use it too; install and push need HTTPS (see README).")
    else:
        lines = [f"  EventMate is starting on {url(host, port)}",
                 "  New here? Open that address to create the first organiser account."]
        if is_local_only(host):
            lines.append("  Phones on your network need EVENTMATE_HOST=0.0.0.0 and, for install and"
                         " push, HTTPS (see README).")
    return ["", *lines,
            f"  Want sample data? In another terminal: {demo}",
            "  A worker runs alongside and sends the next-morning prompts. Ctrl-C stops both.",
            ""]


if __name__ == "__main__":
    host = os.environ.get("EVENTMATE_HOST") or DEFAULT_HOST
    port = os.environ.get("EVENTMATE_PORT") or str(DEFAULT_PORT)
    print("\n".join(startup_lines(host, port)), flush=True)
