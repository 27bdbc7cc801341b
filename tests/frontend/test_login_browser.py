"""Signing in through the web UI: a wrong password is reported on the form; the right one lands the
user on the start page of their role."""

import pytest

from tests.frontend.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_wrong_password_is_shown_on_the_form_then_login_lands_on_the_role_home(page, make_user):
    make_user("labeler", username="lena")
    page.goto("/work")
    page.wait_for_url("**/login?next=%2Fwork")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("wrong")
    page.keyboard.press("Enter")
    page.get_by_role("alert").get_by_text("Wrong username or password.").wait_for()
    screenshot(page, "login-error")

    page.get_by_label("Password").fill("a-Long-passw0rd")
    page.keyboard.press("Enter")
    page.wait_for_url("**/work")
    page.get_by_role("heading", name="Start working").wait_for()
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == ["Work", "My history"]


def test_each_role_sees_its_own_navigation(page, make_user):
    make_user("ml_engineer", username="mia")
    log_in(page, "mia", expect_path="/ml/jobs")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == ["Jobs", "Datasets", "Models", "Evaluation"]
    page.goto("/manage/import")
    page.get_by_role("alert").get_by_text("do not give access").wait_for()
