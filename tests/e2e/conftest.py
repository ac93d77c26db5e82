"""The browser tests' shared set-up (the demo with its admin's password, a real `dpa serve`, a
chromium page), defined in test_browser.py and offered here to every browser test module."""

from tests.e2e.test_browser import browser_page, demo_token, server

__all__ = ["browser_page", "demo_token", "server"]
