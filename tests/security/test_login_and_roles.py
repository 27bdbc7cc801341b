"""Login hardening and roles: session login is CSRF-protected, every login path is throttled, the
configured LOGIN_URL works, a Content-Security-Policy is sent, API tokens are listed and revoked by
their owner and admins, a user has one role, and admins see the ML team's jobs and models read-only."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.api import LoginThrottle
from accounts.roles import user_roles
from tests.support.builders import client_as, client_for

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-passw0rd"
ROOT = Path(__file__).resolve().parents[2]


def test_a_cross_site_login_post_without_the_csrf_token_signs_nobody_in(make_user):
    make_user("labeler", username="mallory-target")
    browser = APIClient(enforce_csrf_checks=True)
    response = browser.post("/api/auth/login/", {"username": "mallory-target", "password": PASSWORD}, format="json",
                            HTTP_ORIGIN="https://evil.example", HTTP_REFERER="https://evil.example/")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert browser.get("/api/auth/me/").status_code == 403  # no session was made
    form = browser.post("/api/auth/login/", {"username": "mallory-target", "password": PASSWORD},
                        HTTP_ORIGIN="https://evil.example")  # a plain HTML form post
    assert form.status_code == 403 and "sessionid" not in browser.cookies


def test_the_login_url_sends_the_browser_to_the_uis_sign_in_and_accepts_no_password(make_user):
    make_user("labeler", username="lou")
    client = APIClient()
    page = client.get("/accounts/login/?next=/admin/")
    assert page.status_code == 302 and page["Location"] == "/login?next=/admin/"
    right = client.post("/accounts/login/", {"username": "lou", "password": PASSWORD})
    wrong = client.post("/accounts/login/", {"username": "lou", "password": "nope"})
    assert (right.status_code, right["Location"]) == (wrong.status_code, wrong["Location"]) == (302, "/login")
    assert client.get("/api/auth/me/").status_code == 403  # no oracle and no sign-in there
    assert client.get("/accounts/password_reset/").status_code != 500


@pytest.fixture
def strict_login_throttle(monkeypatch):
    monkeypatch.setattr(LoginThrottle, "THROTTLE_RATES", {"login": "3/min"})
    cache.clear()
    yield
    cache.clear()


def test_django_admins_login_shares_the_login_throttle(make_user, strict_login_throttle):
    make_user("admin", username="ada")
    User.objects.filter(username="ada").update(is_staff=True)
    client = APIClient(REMOTE_ADDR="10.9.8.7")
    guesses = [client.post("/admin/login/", {"username": "ada", "password": f"guess-{i}"}).status_code for i in range(4)]
    assert guesses == [200, 200, 200, 429]  # 200: the form again with an error
    assert client.post("/admin/login/", {"username": "ada", "password": PASSWORD}).status_code == 429
    assert client.get("/admin/login/").status_code == 200  # looking at the form is not an attempt
    # the API's logins count against the same budget
    assert client.post("/api/auth/token/", {"username": "ada", "password": PASSWORD}, format="json").status_code == 429


def test_every_page_carries_a_content_security_policy_without_inline_scripts(client):
    for path in ("/", "/api/schema/", "/api/docs/", "/admin/login/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    for path in ("/", "/api/docs/"):
        page = client.get(path).content.decode()
        inline = [tag for tag in re.findall(r"<script\b[^>]*>", page) if "src=" not in tag]
        assert not inline, (path, inline)  # the policy would block them
    assert "<style" not in client.get("/").content.decode()


def test_tokens_are_listed_and_revoked_by_their_owner_and_by_admins():
    alice, bob, admin = client_as("labeler"), client_as("labeler"), client_as("admin")
    keys = {c.user.username: Token.objects.create(user=c.user).key for c in (alice, bob)}
    mine = alice.get("/api/auth/tokens/").json()
    assert [t["username"] for t in mine] == [alice.user.username] and mine[0]["key_ends"] == keys[alice.user.username][-4:]
    assert keys[alice.user.username] not in str(mine)  # the key itself is never shown again
    assert {t["username"] for t in admin.get("/api/auth/tokens/").json()} == set(keys)
    assert alice.delete(f"/api/auth/tokens/{bob.user.pk}/").status_code == 404  # not hers to revoke
    by_token = APIClient(HTTP_AUTHORIZATION=f"Token {keys[bob.user.username]}")
    assert by_token.get("/api/auth/me/").status_code == 200
    assert admin.delete(f"/api/auth/tokens/{bob.user.pk}/").status_code == 204
    assert by_token.get("/api/auth/me/").status_code in (401, 403)  # 403: session auth comes first (no challenge)
    assert alice.delete(f"/api/auth/tokens/{alice.user.pk}/").status_code == 204
    assert not Token.objects.exists()


def test_giving_a_user_a_new_role_takes_the_old_one_away():
    call_command("create_user", "rolf", role="admin", password=PASSWORD)
    call_command("create_user", "rolf", role="labeler", password=PASSWORD)
    rolf = User.objects.get(username="rolf")
    assert user_roles(rolf) == {"labeler"} and not rolf.is_staff
    assert client_for(rolf).get("/api/prompts/").status_code == 403


def test_admins_see_jobs_and_models_but_only_ml_engineers_launch_cancel_and_register(tmp_path):
    from training.models import Job, JobState

    job = Job.objects.create(kind="sft", state=JobState.QUEUED)
    admin, engineer = client_as("admin"), client_as("ml_engineer")
    for path in ("/api/jobs/", f"/api/jobs/{job.pk}/", "/api/models/", "/api/snapshots/"):
        assert admin.get(path).status_code == 200, path
    writes = {
        "launch": admin.post("/api/jobs/", {"kind": "bootstrap"}, format="json"),
        "cancel": admin.post(f"/api/jobs/{job.pk}/cancel/"),
        "register": admin.post("/api/models/", {"name": "m", "kind": "base", "artifact_path": str(tmp_path)}, format="json"),
        "freeze": admin.post("/api/snapshots/", {"kind": "pairs"}, format="json"),
    }
    assert {name: r.status_code for name, r in writes.items()} == {name: 403 for name in writes}
    assert engineer.post(f"/api/jobs/{job.pk}/cancel/").status_code == 200
