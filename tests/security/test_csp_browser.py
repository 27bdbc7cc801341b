"""The web UI works under the Content-Security-Policy: a real Chromium signs in as each role and opens
their screens, and the browser reports no policy violation (no inline script or style was blocked)."""

import pytest

from tests.frontend.conftest import browser, frontend_dist, log_in, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_no_screen_breaks_the_content_security_policy(page, make_user):  # noqa: F811
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))")
    for role, name, paths in (("labeler", "lena", ["/work", "/history"]),
                              ("admin", "ada", ["/manage/dashboard", "/manage/guidelines", "/manage/review", "/manage/quality"]),
                              ("ml_engineer", "mia", ["/ml/jobs", "/ml/snapshots", "/ml/models", "/ml/evaluation"])):
        make_user(role, username=name)
        log_in(page, name)
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("Username").wait_for()
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert violations == []
