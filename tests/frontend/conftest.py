"""Browser tests: real headless Chromium (Debian's, driven by Playwright) against pytest-django's live
server, which serves the built single-page app and the real API on the test database.

The frontend is built once per session (scripts/build_frontend.sh) when frontend/dist is missing.
Screenshots of each main screen go to test-artifacts/screenshots/ (git-ignored)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "a-Long-passw0rd"


@pytest.fixture(scope="session")
def frontend_dist():
    """Build the web UI if it is not built, and let the static-file finders see frontend/dist."""
    if not (DIST / "index.html").exists():
        subprocess.run([str(ROOT / "scripts" / "build_frontend.sh")], check=True, cwd=ROOT)
    from django.conf import settings
    from django.contrib.staticfiles import finders

    if DIST not in [Path(d) for d in settings.STATICFILES_DIRS]:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, DIST]
        finders.get_finder.cache_clear()
    return DIST


@pytest.fixture(scope="module")
def browser(frontend_dist):
    """One Chromium per test module. Playwright's sync API keeps an event loop in this thread while it
    runs, and Django's ORM refuses to run beside one unless told it is safe (it is: the loop only
    drives the browser), so that is allowed for as long as the browser lives, and no longer."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        # Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, username, password=PASSWORD, expect_path=None):
    """Sign in through the login form using the keyboard."""
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for()
    if expect_path:
        page.wait_for_url(f"**{expect_path}")


def tab_to(page, predicate_js, limit=60):
    """Press Tab until the focused element matches (a JS expression over `el`); keyboard only."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return Boolean({predicate_js}); }})()"):
            return
    raise AssertionError(f"could not reach an element matching {predicate_js} with Tab")
