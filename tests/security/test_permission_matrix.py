"""Every role x every endpoint: allowed or denied as designed.

The endpoints are enumerated from the OpenAPI schema the API serves (drf-spectacular walks the URL
resolver), so a new endpoint is covered automatically: if no rule below names it, the test fails and
asks for one. A denied role gets 401 or 403 (DRF answers 403 to anonymous callers because session
authentication comes first and sends no WWW-Authenticate challenge); an allowed role gets past the permission
check (any other status: 2xx, 400 for the empty body, 404 for the made-up id, 405, 409).
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.support.builders import client_as

ANONYMOUS, LABELER, ADMIN, ML = "anonymous", "labeler", "admin", "ml_engineer"
EVERYONE = {ANONYMOUS, LABELER, ADMIN, ML}
SIGNED_IN = {LABELER, ADMIN, ML}
STAFF = {ADMIN, ML}
LABELERS = {LABELER, ADMIN}  # admins may use the labeling queue (to try a task out)
READ = {"get", "head", "options"}

# (path regex, methods or None for all, roles allowed). First match wins.
RULES = [
    (r"^/api/auth/(token|login|logout)/$", None, EVERYONE),
    (r"^/api/auth/(me|tokens)/", None, SIGNED_IN),  # tokens: scoped, your own (admins: everyone's)
    (r"^/api/(guidelines|guideline-versions)/", READ, SIGNED_IN),
    (r"^/api/(guidelines|guideline-versions)/", None, {ADMIN}),
    (r"^/api/(prompts|tasks)/", READ, STAFF),
    (r"^/api/(prompts|tasks)/", None, {ADMIN}),
    (r"^/api/(work|assignments)/", None, LABELERS),
    (r"^/api/demonstrations/\{id\}/review/$", None, {ADMIN}),
    (r"^/api/demonstrations/", None, SIGNED_IN),  # scoped: a labeler sees and edits only their own
    (r"^/api/rankings/", READ, SIGNED_IN),  # scoped: a labeler reads only their own
    (r"^/api/agreement/me/$", READ, SIGNED_IN),
    (r"^/api/quality/", None, {ADMIN}),
    (r"^/api/imports/", None, {ADMIN}),
    (r"^/api/snapshots/\{[a-z_]+\}/download/$", READ, STAFF),
    # The ML team's objects: ML engineers write (freeze, launch, cancel, register), admins only read.
    (r"^/api/(snapshots|jobs|models|evaluations)/", READ, STAFF),
    (r"^/api/(snapshots|jobs|models|evaluations)/", None, {ML}),
]


def allowed_roles(path, method):
    for pattern, methods, roles in RULES:
        if re.search(pattern, path) and (methods is None or method in methods):
            return roles
    return None


def endpoints():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted((path, method) for path, operations in schema["paths"].items() for method in operations
                  if method in {"get", "post", "put", "patch", "delete"})


ENDPOINTS = endpoints()


def concrete(path):
    return re.sub(r"\{[^}]+\}", "999999", path)


def test_every_endpoint_has_a_rule():
    missing = [f"{method.upper()} {path}" for path, method in ENDPOINTS if allowed_roles(path, method) is None]
    assert not missing, f"new endpoints need a row in the permission matrix: {missing}"
    assert len(ENDPOINTS) >= 40


def client_in(role):
    from rest_framework.test import APIClient

    return APIClient() if role == ANONYMOUS else client_as(role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [ANONYMOUS, LABELER, ADMIN, ML])
def test_each_role_is_let_in_or_kept_out_of_every_endpoint_as_designed(role):
    client = client_in(role)
    wrong = []
    for path, method in ENDPOINTS:
        allowed = role in allowed_roles(path, method)
        response = getattr(client, method)(concrete(path), {}, format="json") if method != "get" else client.get(concrete(path))
        denied = response.status_code in (401, 403)
        if allowed == denied or response.status_code >= 500:
            wrong.append(f"{method.upper()} {path}: {response.status_code} ({'should pass' if allowed else 'should be denied'})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_django_admin_and_the_schema_are_as_designed():
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.get("/admin/").status_code == 302  # to the admin login page
    assert anonymous.get("/api/schema/").status_code == 200  # the API's shape is public, its data is not
    assert client_as(LABELER).get("/admin/").status_code == 302  # not staff
