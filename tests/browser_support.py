"""A headless Chromium for the tests that use the pages as a person does (Debian's chromium, driven by Playwright).

Without chromium these tests skip, except in CI (``CI=true``), where a missing browser is a failure: install it
with ``tools/install-system-packages.sh`` (or ``apt-get install chromium``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def missing(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, which must run the browser tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator:
    """A launched headless Chromium (skipped or failed as ``missing`` says when there is none)."""
    executable = next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)
    if executable is None:
        missing("chromium is not installed (tools/install-system-packages.sh, or apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()
