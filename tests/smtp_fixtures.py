"""The `smtp_server` fixture: a real local SMTP server (see smtp_server.py).

Use it from a test file with

    from smtp_fixtures import smtp_server  # noqa: F401

and send to `smtp_server.url`; read `smtp_server.messages` or `smtp_server.wait_for(n)`.
Ruff then reports F811 wherever a test takes `smtp_server` as an argument (the argument
shadows the import). To stay lint-clean, import the fixture under its other name instead:

    from smtp_fixtures import smtp_server_fixture  # noqa: F401

The fixture is still called `smtp_server` in test signatures either way.
"""

from __future__ import annotations

import pytest
from smtp_server import SmtpServer


@pytest.fixture(name="smtp_server")
def smtp_server_fixture():
    """A plain SMTP server on 127.0.0.1 (no TLS, no AUTH) that records every message."""
    with SmtpServer() as server:
        yield server


smtp_server = smtp_server_fixture
