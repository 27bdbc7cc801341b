"""Malformed requests get a JSON 4xx naming what is wrong, never a 500: bodies that are not JSON
objects, query parameters out of bounds or not numbers ("²"), ids past 64 bits, values the database's
CHECK constraints would refuse, corrupt or explosive gzip files, bodies over the size limit. And
every API error has one shape, from one handler (web/errors.py)."""

import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from labeling.models import Demonstration, Prompt, Ranking
from tests.support.builders import client_as, demonstration_task, next_work, ranking_task
from training.models import DatasetSnapshot, Job, JobState

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"


@pytest.mark.parametrize("body", ["[1, 2]", "null", '"text"', "42", "true"])
def test_a_body_that_is_not_a_json_object_is_a_400_everywhere(body):
    ranking_task(k=2)
    labeler, admin, engineer = client_as("labeler"), client_as("admin"), client_as("ml_engineer")
    for client, path in ((labeler, "/api/work/next/"), (admin, "/api/prompts/"), (admin, "/api/tasks/"),
                         (admin, "/api/guidelines/"), (engineer, "/api/jobs/"), (engineer, "/api/snapshots/"),
                         (engineer, "/api/models/"), (labeler, "/api/auth/token/")):
        response = client.generic("POST", path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code)
        assert response.json() == {"non_field_errors": ["the body must be a JSON object"]}, path


@pytest.mark.parametrize("params", [{"limit": HUGE}, {"offset": HUGE}, {"limit": "0"}, {"offset": "-1"}])
def test_paging_out_of_bounds_is_a_400_naming_the_parameter(params):
    response = client_as("admin").get("/api/prompts/", params)
    assert response.status_code == 400 and list(response.json()) == list(params)


def test_paging_within_bounds_still_works():
    Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    assert client_as("admin").get("/api/prompts/", {"limit": "1000", "offset": "1"}).json()["results"] == []


@pytest.mark.parametrize("value", ["²", "-1", HUGE, "1.5", "x"])
def test_a_guideline_version_that_is_not_an_id_is_a_400(value):
    for path in ("/api/quality/agreement/", "/api/quality/bias/"):
        response = client_as("admin").get(path, {"guideline_version": value})
        assert response.status_code == 400 and "guideline_version" in response.json(), (path, value)


@pytest.mark.parametrize("value", ["²", HUGE, "x"])
def test_after_step_that_is_not_a_bounded_integer_is_a_400(value):
    job = Job.objects.create(kind="sft", state=JobState.RUNNING)
    response = client_as("ml_engineer").get(f"/api/jobs/{job.pk}/metrics/", {"after_step": value})
    assert response.status_code == 400 and "after_step" in response.json()


def test_ids_past_64_bits_are_a_400_or_nothing_found_never_a_500():
    admin, engineer = client_as("admin"), client_as("ml_engineer")
    for path in ("/api/rankings/", "/api/demonstrations/", "/api/tasks/", "/api/guideline-versions/"):
        for name in ("task", "labeler", "prompt", "guideline", "number", "guideline_version"):
            response = admin.get(path, {name: HUGE})
            assert response.status_code in (200, 400), (path, name, response.status_code)
    for filters in ({"guideline_versions": [2**64]}, {"exclude_labelers": [2**64]}, {"guideline_versions": [-(2**70)]}):
        response = engineer.post("/api/snapshots/", {"kind": "pairs", "filters": filters}, format="json")
        assert response.status_code == 400 and list(response.json()["filters"]) == list(filters), response.json()
    assert DatasetSnapshot.objects.count() == 0
    response = admin.post("/api/tasks/", {"prompt": "q", "responses": ["a", "b"], "priority": 2**40}, format="json")
    assert response.status_code == 400 and "priority" in response.json()

    # last: the database's overflow error leaves this test's transaction unusable (a served request has its own)
    for path in (f"/api/prompts/{HUGE}/", f"/api/tasks/{HUGE}/", f"/api/jobs/{HUGE}/", f"/api/auth/tokens/{HUGE}/"):
        method = "delete" if "tokens" in path else "get"
        client = engineer if "jobs" in path else admin
        assert getattr(client, method)(path).status_code == 404, path  # an id that can't exist is not found


def test_seconds_spent_follows_the_check_constraint_on_every_path():
    demonstration_task()
    labeler = client_as("labeler")
    item = next_work(labeler, kind="demonstration").json()
    demo = labeler.post(f"/api/assignments/{item['id']}/demonstration/", {"text": "An answer."}, format="json").json()
    for value in (-1, 10**12, "nan"):
        response = labeler.patch(f"/api/demonstrations/{demo['id']}/", {"seconds_spent": value}, format="json")
        assert response.status_code == 400 and "seconds_spent" in response.json(), value
    assert Demonstration.objects.get().seconds_spent is None


def gzip_upload(payload, name="r.jsonl.gz"):
    return SimpleUploadedFile(name, payload, content_type="application/gzip")


def test_a_corrupt_gzip_is_a_400_naming_the_file():
    good = gzip.compress(b'{"prompt": "q", "responses": ["a", "b"], "ranks": [1, 2]}\n' * 50)
    corrupt = good[:20] + bytes(b ^ 0x5A for b in good[20:60]) + good[60:]
    for payload in (corrupt, good[:-12], b"\x1f\x8b" + b"\x00" * 30):
        response = client_as("admin").post("/api/imports/rankings/", {"file": gzip_upload(payload)}, format="multipart")
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["field"] == "file"
    assert Ranking.objects.count() == 0


@override_settings(IMPORT_MAX_DECOMPRESSED_BYTES=1_000_000)
def test_a_gzip_bomb_stops_at_the_decompressed_limit_with_a_json_413():
    line = b'{"prompt": "q", "responses": ["a", "b"], "ranks": [1, 2], "pad": "' + b" " * 4000 + b'"}\n'
    bomb = gzip.compress(line * 1000)  # about 4 MB of text in a few kilobytes
    assert len(bomb) < 50_000
    response = client_as("admin").post("/api/imports/rankings/", {"file": gzip_upload(bomb)}, format="multipart")
    assert response.status_code == 413 and response.json() == {"file": [response.json()["file"][0]]}
    assert Ranking.objects.count() == 0


@override_settings(API_MAX_BODY_BYTES=50_000)
def test_every_body_over_the_limit_is_a_json_413():
    ranking_task(k=2)
    admin, labeler = client_as("admin"), client_as("labeler")
    big = json.dumps({"text": "x" * 60_000})
    for client, path in ((admin, "/api/prompts/"), (labeler, "/api/work/next/"), (admin, "/api/guidelines/")):
        response = client.generic("POST", path, big, content_type="application/json")
        assert response.status_code == 413 and response["Content-Type"] == "application/json", path
        assert "detail" in response.json()
    upload = SimpleUploadedFile("r.jsonl", b"x" * 60_000, content_type="application/jsonl")
    response = admin.post("/api/imports/rankings/", {"file": upload}, format="multipart")
    assert response.status_code == 413 and "detail" in response.json()
    assert Prompt.objects.count() == 1  # the task's own


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000, API_MAX_BODY_BYTES=10**7)
def test_djangos_own_body_limit_answers_json_under_the_api():
    response = client_as("admin").generic("POST", "/api/prompts/", json.dumps({"text": "x" * 5000}),
                                          content_type="application/json")
    assert response.status_code == 413 and response.json() == {"detail": "The request body is over the size limit."}


def test_errors_outside_drf_views_are_json_under_the_api():
    response = client_as("admin").get("/api/no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    response = client_as("admin").generic("POST", "/api/prompts/", "{}", content_type="application/json",
                                          CONTENT_LENGTH="ten")
    assert response.status_code == 400 and "detail" in response.json()


def test_every_domain_error_has_the_one_shape():
    """RuleError 400 {field: [message]}, a dotted field nested, Conflict 409 {detail}: from the one handler."""
    engineer, admin = client_as("ml_engineer"), client_as("admin")
    rule = admin.post("/api/tasks/", {"prompt": "q", "responses": ["only one"]}, format="json")
    assert rule.status_code == 400 and list(rule.json()) == ["responses"]
    nested = engineer.post("/api/jobs/", {"kind": "sft", "config": {"learning_rate": -1}}, format="json")
    assert nested.status_code == 400 and list(nested.json()) == ["config"]
    assert isinstance(nested.json()["config"], dict) and all(isinstance(v, list) for v in nested.json()["config"].values())
    job = Job.objects.create(kind="sft", state=JobState.SUCCEEDED)
    conflict = engineer.post(f"/api/jobs/{job.pk}/cancel/")
    assert conflict.status_code == 409 and list(conflict.json()) == ["detail"]
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    ranking_task(k=2)  # uses its own prompt; this one is free
    assert admin.delete(f"/api/prompts/{prompt.pk}/").status_code == 204
