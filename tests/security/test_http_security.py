"""HTTP-level security: CSRF on session-authenticated writes, login throttling (that a forged
X-Forwarded-For header can't dodge), password rules, hardened production settings, secrets from the
environment only, uploads never stored, executed or served as HTML, and safe download file names.
(`check --deploy` on the production settings is tested in tests/platform/test_settings.py.)"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.api import LoginThrottle
from tests.support.builders import client_as, ranking_task
from training.models import DatasetSnapshot

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-Long-passw0rd"


@pytest.mark.django_db
def test_session_authenticated_writes_need_the_csrf_token(make_user):
    make_user("labeler", username="carol")
    ranking_task(k=2)
    browser = APIClient(enforce_csrf_checks=True)
    browser.get("/")  # the UI's page sets the csrftoken cookie
    login = browser.post("/api/auth/login/", {"username": "carol", "password": PASSWORD}, format="json",
                         HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert login.status_code == 200
    refused = browser.post("/api/work/next/", {}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    token = browser.cookies["csrftoken"].value
    assert browser.post("/api/work/next/", {}, format="json", HTTP_X_CSRFTOKEN=token).status_code == 200
    assert browser.post("/api/auth/logout/", format="json").status_code == 403  # a forged logout is refused too


@pytest.mark.django_db
def test_token_clients_need_no_csrf_token(make_user):
    make_user("labeler", username="dave")
    client = APIClient(enforce_csrf_checks=True)
    token = client.post("/api/auth/token/", {"username": "dave", "password": PASSWORD}, format="json").json()["token"]
    assert client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


@pytest.fixture
def strict_login_throttle(monkeypatch):
    monkeypatch.setattr(LoginThrottle, "THROTTLE_RATES", {"login": "3/min"})
    key = "throttle_login_10.11.12.13"
    cache.delete(key)
    yield
    cache.delete(key)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/auth/token/"])
def test_login_is_throttled_per_client_even_with_forged_forwarded_for_headers(make_user, strict_login_throttle, path):
    make_user("labeler", username="erin")
    client = APIClient(REMOTE_ADDR="10.11.12.13")
    guesses = [client.post(path, {"username": "erin", "password": f"guess-{i}"}, format="json",
                           HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(5)]
    assert guesses == [400, 400, 400, 429, 429]
    right = client.post(path, {"username": "erin", "password": PASSWORD}, format="json")
    assert right.status_code == 429 and int(right["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.parametrize("weak", ["password", "12345678", "short", "carol-the-user"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(CommandError, match="Password rejected"):
        call_command("create_user", "carol-the-user", role="labeler", password=weak)


def production_settings(expression, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"}}
    base.update({"DEBUG": "0", "SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "rlhf.example", **env})
    code = f"import sys; sys.path[:0]=['.', 'platform']; import settings; print(repr({expression}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout)


def test_production_settings_are_hardened():
    values = production_settings(
        "dict(debug=settings.DEBUG, session=settings.SESSION_COOKIE_SECURE, csrf=settings.CSRF_COOKIE_SECURE, "
        "httponly=settings.SESSION_COOKIE_HTTPONLY, hsts=settings.SECURE_HSTS_SECONDS, sub=settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "ssl=settings.SECURE_SSL_REDIRECT, nosniff=settings.SECURE_CONTENT_TYPE_NOSNIFF, frame=settings.X_FRAME_OPTIONS, "
        "secret=settings.SECRET_KEY, proxies=settings.REST_FRAMEWORK.get('NUM_PROXIES'))",
        SECRET_KEY="from-the-environment-" + "k" * 40)
    assert values == {"debug": False, "session": True, "csrf": True, "httponly": True, "hsts": 31536000, "sub": True,
                      "ssl": True, "nosniff": True, "frame": "DENY", "secret": "from-the-environment-" + "k" * 40,
                      "proxies": 0}


def test_no_secret_is_written_in_the_code():
    """Secrets come from the environment: the only key in the code is the dev one, used only with DEBUG on."""
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    pattern = re.compile(r"""\b\w*(SECRET|SECRET_KEY|PASSWORD|API_KEY|TOKEN)\s*=\s*["'][^"']{8,}["']""")
    # the application's code; tests/, benchmarks/ and experiments/ start throw-away local servers with made-up keys
    app_dirs = ("accounts/", "labeling/", "training/", "platform/", "frontend/", "scripts/")
    hits = [f"{name}: {m.group(0)}" for name in tracked if name.startswith(app_dirs)
            for m in pattern.finditer((ROOT / name).read_text(errors="replace"))]
    assert [hit for hit in hits if not hit.startswith("platform/settings.py: _DEV_SECRET =")] == [], hits
    assert production_settings("settings.SECRET_KEY", SECRET_KEY="only-from-env-" + "x" * 40) == "only-from-env-" + "x" * 40


@pytest.mark.django_db
def test_uploads_are_parsed_never_stored_or_served_as_html(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    admin = client_as("admin")
    page = b'<html><script>alert(1)</script></html>\n{"text": "<script>alert(2)</script>"}\n'
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("evil.html", page, content_type="text/html")
    refused = admin.post("/api/prompts/import/", {"file": upload, "format": "jsonl"}, format="multipart")
    assert refused.status_code == 400 and refused["Content-Type"] == "application/json"
    assert refused.json()["errors"][0]["line"] == 1
    upload = SimpleUploadedFile("evil.html", page.split(b"\n", 1)[1], content_type="text/html")
    stored = admin.post("/api/prompts/import/", {"file": upload, "format": "jsonl"}, format="multipart")
    assert stored.status_code == 201
    shown = admin.get(f"/api/prompts/{stored.json()['ids'][0]}/")
    assert shown["Content-Type"] == "application/json" and shown["X-Content-Type-Options"] == "nosniff"
    assert shown.json()["text"] == "<script>alert(2)</script>"  # data, returned as a JSON string
    assert not any(tmp_path.iterdir()), "nothing uploaded is written to disk"
    assert b"alert" not in client_as("admin").get("/media/evil.html").content  # no route serves uploads


@pytest.mark.django_db
def test_download_file_names_are_safe(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"prompt": "q", "chosen": "a", "rejected": "b"}\n')
    snapshot = DatasetSnapshot.objects.create(name='../../etc/passwd"\r\nX-Evil: 1;<script>.html', kind="pairs",
                                              content_hash=hashlib.sha256(path.read_bytes()).hexdigest(), file_path=str(path))
    response = client_as("ml_engineer").get(f"/api/snapshots/{snapshot.pk}/download/")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9.-]+\.jsonl"', disposition), disposition
    assert "/" not in disposition.split("filename=")[1] and "X-Evil" not in str(response.serialize_headers())
    assert response["Content-Type"] == "application/jsonl" and response["X-Content-Type-Options"] == "nosniff"
