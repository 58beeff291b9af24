"""The `push_receiver` fixture: a local Web Push service for one test (see push_receiver.py).

Use it from a test file with

    from push_fixtures import push_receiver  # noqa: F401

Ruff then reports F811 wherever a test takes `push_receiver` as an argument (the argument
shadows the import). To stay lint-clean, import the fixture under its other name instead:

    from push_fixtures import push_receiver_fixture  # noqa: F401

The fixture is still called `push_receiver` in test signatures either way.
"""

from __future__ import annotations

import pytest
from push_receiver import PushReceiver


@pytest.fixture(name="push_receiver")
def push_receiver_fixture():
    """A started PushReceiver on 127.0.0.1 (a free port); stopped after the test."""
    with PushReceiver() as receiver:
        yield receiver


push_receiver = push_receiver_fixture
