"""End-to-end tests in a real Chromium (a package, so its conftest does not shadow tests/conftest.py)."""
