"""Every role x every endpoint: allowed or denied as designed, detail routes on real objects.

The endpoints are enumerated from the OpenAPI schema the API serves (drf-spectacular walks the URL
resolver), so a new endpoint is covered automatically: if no rule below names it, the test fails and
asks for one. Every `{id}` is a real object that belongs to other users than the caller (another
labeler's assignment, demonstration, ranking and token; another engineer's job, snapshot and model),
so object-level access is tested, not only the permission class.

A denied role gets 401 or 403 (DRF answers 403 to anonymous callers because session authentication
comes first and sends no WWW-Authenticate challenge). An allowed role gets past every check: any status
but 401, 403, 404 and 5xx (2xx, 400 for the empty body, 405, 409 for a state that forbids it). Where
the object is someone else's and only its owner may touch it (OTHERS_OBJECTS), the caller gets 401,
403 or 404: it must neither act on it nor learn more than that it can't.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.support.builders import client_as, client_for, demonstration_task, next_work, prompt, published_guideline, ranking_task, submit, user

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
    (r"^/api/work-in-preparation/$", READ, SIGNED_IN),
    (r"^/api/demonstrations/\{id\}/review/$", None, {ADMIN}),
    (r"^/api/demonstration-reviews/$", None, {ADMIN}),
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


# Objects that belong to another user: (path regex, methods or None for all, roles that may act on
# someone else's object). The rest of the signed-in roles allowed above must get 401/403/404 there.
OTHERS_OBJECTS = [
    (r"^/api/assignments/\{id\}/", None, set()),              # a lease is its labeler's alone
    (r"^/api/demonstrations/\{id\}/$", {"get"}, STAFF),        # reviewers and the ML team read them all
    (r"^/api/demonstrations/\{id\}/$", None, set()),           # only the author edits
    (r"^/api/rankings/\{id\}/$", READ, STAFF),
    (r"^/api/auth/tokens/\{user_id\}/$", None, {ADMIN}),       # admins revoke anyone's token
]


# Valid bodies where only the owner check stands between a caller and the action (an empty body would
# be refused by validation first, and that proves nothing about the object).
BODIES = {
    ("/api/assignments/{id}/demonstration/", "post"): {"text": "taken over"},
    ("/api/assignments/{id}/skip/", "post"): {"reason": "taken over"},
    ("/api/demonstrations/{id}/", "patch"): {"text": "edited by someone else"},
}


def others_roles(path, method):
    for pattern, methods, roles in OTHERS_OBJECTS:
        if re.search(pattern, path) and (methods is None or method in methods):
            return roles
    return None


def allowed_roles(path, method):
    for pattern, methods, roles in RULES:
        if re.search(pattern, path) and (methods is None or method in methods):
            return roles
    return None


def endpoints():
    """(path, method) of every operation; deletes last, so the other routes still find their object."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(((path, method) for path, operations in schema["paths"].items() for method in operations
                   if method in {"get", "post", "put", "patch", "delete"}), key=lambda e: (e[1] == "delete", e))


ENDPOINTS = endpoints()


@pytest.fixture
def objects(settings, tmp_path):
    """One real object behind each detail route, owned by users other than the caller: {resource: id}."""
    from rest_framework.authtoken.models import Token

    from labeling.assignment import next_assignments
    from labeling.models import Demonstration, Ranking, RequeueRule
    from training.datasets import freeze_snapshot
    from training.models import Job, ModelKind, ModelVersion

    settings.ARTIFACT_ROOT = tmp_path
    owner, engineer = user("labeler"), user("ml_engineer")
    Token.objects.create(user=owner)
    version = published_guideline().pk
    as_owner = client_for(owner)
    ranked = ranking_task(k=3, labelers_required=2)
    assert submit(as_owner, next_work(as_owner, kind="ranking", prefetch=False).json()).status_code == 201
    demonstration_task(text="one")
    item = next_work(as_owner, kind="demonstration", prefetch=False).json()
    assert as_owner.post(f"/api/assignments/{item['id']}/demonstration/", {"text": "a haiku"}, format="json").status_code == 201
    demonstration_task(text="two")
    [leased] = next_assignments(owner, "demonstration")
    model = tmp_path / "model"
    model.mkdir()
    return {
        "assignments": leased.pk, "tokens": owner.pk, "demonstrations": Demonstration.objects.get().pk,
        "rankings": Ranking.objects.get().pk, "guidelines": published_guideline(name="another").guideline_id,
        "guideline-versions": version, "prompts": prompt("nobody uses me").pk, "tasks": ranked.pk,
        "requeue-rules": RequeueRule.objects.create(batch="b", min_agreement=0.5, max_labelers=3).pk,
        "snapshots": freeze_snapshot("pairs", user=engineer).pk,
        "models": ModelVersion.objects.create(name="sft", kind=ModelKind.SFT, artifact_path=str(model)).pk,
        "jobs": Job.objects.create(kind="sft", created_by=engineer).pk,
    }


def concrete(path, ids):
    """The path with each `{param}` replaced by the id of the object of the resource named before it."""
    return re.sub(r"/([a-z-]+)/\{[^}]+\}", lambda m: f"/{m.group(1)}/{ids[m.group(1)]}", path)


def test_every_endpoint_has_a_rule():
    missing = [f"{method.upper()} {path}" for path, method in ENDPOINTS if allowed_roles(path, method) is None]
    assert not missing, f"new endpoints need a row in the permission matrix: {missing}"
    assert len(ENDPOINTS) >= 40


def client_in(role):
    from rest_framework.test import APIClient

    return APIClient() if role == ANONYMOUS else client_as(role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [ANONYMOUS, LABELER, ADMIN, ML])
def test_each_role_is_let_in_or_kept_out_of_every_endpoint_as_designed(role, objects):
    client = client_in(role)
    wrong = []
    for path, method in ENDPOINTS:
        allowed = role in allowed_roles(path, method)
        others = others_roles(path, method)
        url = concrete(path, objects)
        body = BODIES.get((path, method), {})
        response = getattr(client, method)(url, body, format="json") if method != "get" else client.get(url)
        code = response.status_code
        if allowed and others is not None and role not in others:
            ok, expected = code in (401, 403, 404), "kept off another user's object"
        elif allowed:
            ok, expected = code not in (401, 403, 404) and code < 500, "should pass"
        else:
            ok, expected = code in (401, 403), "should be denied"
        if not ok:
            wrong.append(f"{method.upper()} {url}: {code} ({expected})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_django_admin_and_the_schema_are_as_designed():
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.get("/admin/").status_code == 302  # to the admin login page
    assert anonymous.get("/api/schema/").status_code == 200  # the API's shape is public, its data is not
    assert client_as(LABELER).get("/admin/").status_code == 302  # not staff
