"""Bad input gets a clear 400 naming the field (or 413 for a body over its limit), never a 500, and
nothing is half-saved: oversized texts, invalid UTF-8, malformed CSV / JSON Lines imports (errors
with line numbers, all or nothing), a ranking of a million items, deeply nested JSON."""

import json

import pytest
from django.test import override_settings

from labeling.models import Prompt, Ranking, Task
from tests.support.builders import client_as, demonstration_task, next_work, ranking_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return client_as("admin")


@pytest.fixture
def leased():
    ranking_task(k=3)
    labeler = client_as("labeler")
    return labeler, next_work(labeler, kind="ranking").json()


def post_raw(client, path, raw, content_type="application/json"):
    return client.generic("POST", path, raw, content_type=content_type)


@override_settings(MAX_TEXT_LENGTH=1000)
def test_every_text_field_is_bounded(admin, leased):
    labeler, item = leased
    ranks = [{"response": r["id"], "rank": n} for n, r in enumerate(item["responses"], 1)]
    too_long = "x" * 1001
    cases = {
        "text": admin.post("/api/prompts/", {"text": too_long}, format="json"),
        "comment": labeler.post(f"/api/assignments/{item['id']}/ranking/", {"ranks": ranks, "comment": too_long}, format="json"),
        "reason": labeler.post(f"/api/assignments/{item['id']}/skip/", {"reason": too_long}, format="json"),
        "name": admin.post("/api/guidelines/", {"name": too_long}, format="json"),
        "idempotency_key": labeler.post(f"/api/assignments/{item['id']}/ranking/", {"ranks": ranks, "idempotency_key": too_long},
                                        format="json"),
    }
    for field, response in cases.items():
        assert response.status_code in (400, 413), (field, response.status_code)
        if response.status_code == 400:
            assert field in response.json(), (field, response.json())
    demonstration_task()
    demo_item = next_work(labeler, kind="demonstration").json()
    response = labeler.post(f"/api/assignments/{demo_item['id']}/demonstration/", {"text": too_long}, format="json")
    assert response.status_code in (400, 413) and Ranking.objects.count() == 0


def test_a_ranking_of_a_million_items_is_refused_quickly(leased):
    labeler, item = leased
    body = json.dumps({"ranks": [{"response": 1, "rank": 1}] * 1_000_000})
    response = post_raw(labeler, f"/api/assignments/{item['id']}/ranking/", body)
    assert response.status_code == 413
    small_items = json.dumps({"ranks": [1] * 100_000})  # under the byte limit, far over the item limit
    response = post_raw(labeler, f"/api/assignments/{item['id']}/ranking/", small_items)
    assert response.status_code == 400 and "ranks" in response.json()
    assert Ranking.objects.count() == 0


@pytest.mark.parametrize("depth", [1_000, 50_000])
def test_deeply_nested_json_is_a_400(leased, admin, depth):
    labeler, item = leased
    nested = "[" * depth + "]" * depth
    for client, path in ((labeler, f"/api/assignments/{item['id']}/ranking/"), (admin, "/api/prompts/"),
                         (admin, "/api/tasks/"), (labeler, "/api/work/next/")):
        response = post_raw(client, path, '{"ranks": ' + nested + ', "text": ' + nested + ', "prompt": ' + nested + "}")
        assert response.status_code in (400, 413), (path, response.status_code)
    line = '{"text": ' + nested + "}"
    response = admin.post("/api/prompts/import/", {"content": f'{{"text": "fine"}}\n{line}\n', "format": "jsonl"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["line"] == 2


def test_invalid_utf8_is_a_400(leased, admin):
    labeler, item = leased
    response = post_raw(labeler, f"/api/assignments/{item['id']}/ranking/", b'{"comment": "\xff\xfe bad"}')
    assert response.status_code == 400
    before = Prompt.objects.count()
    response = post_raw(admin, "/api/prompts/import/", b'{"text": "caf\xe9"}\n', content_type="application/jsonl")
    assert response.status_code == 400 and Prompt.objects.count() == before


@pytest.mark.parametrize("path", ["/api/prompts/import/", "/api/tasks/import/"])
@pytest.mark.parametrize("body", ['"just a string"', '["a", "list"]', "42", "null"])
def test_an_import_body_that_is_not_an_object_is_a_400(admin, path, body):
    assert post_raw(admin, path, body).status_code == 400


def test_malformed_json_lines_list_every_bad_line_and_import_nothing(admin):
    content = '{"text": "fine"}\n{"text": \n["not", "an", "object"]\n{"text": ""}\n{"text": "also fine"}\n'
    response = admin.post("/api/prompts/import/", {"content": content, "format": "jsonl"}, format="json")
    assert response.status_code == 400
    assert [e["line"] for e in response.json()["errors"]] == [2, 3, 4]
    assert Prompt.objects.count() == 0


def test_malformed_csv_lists_bad_lines_and_imports_nothing(admin):
    content = 'text,category\n"fine",other\n"unterminated,other\n'
    response = admin.post("/api/prompts/import/", {"content": content, "format": "csv"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]
    assert all(isinstance(e["line"], int) for e in response.json()["errors"])
    no_header = admin.post("/api/prompts/import/", {"content": "just,some,cells\n1,2,3\n", "format": "csv"}, format="json")
    assert no_header.status_code == 400
    assert Prompt.objects.count() == 0


def test_a_bad_task_line_leaves_no_half_import(admin):
    lines = [json.dumps({"prompt": "q1", "responses": ["a", "b"]}), json.dumps({"prompt": "q2", "responses": ["only one"]})]
    response = admin.post("/api/tasks/import/", {"content": "\n".join(lines), "format": "jsonl"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["line"] == 2
    assert Task.objects.count() == 0 and Prompt.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_an_upload_over_the_limit_is_refused(admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.jsonl", b'{"text": "x"}\n' * 2000, content_type="application/jsonl")
    response = admin.post("/api/prompts/import/", {"file": big}, format="multipart")
    assert response.status_code in (400, 413)
    raw = post_raw(admin, "/api/prompts/import/", b'{"text": "x"}\n' * 2000, content_type="application/jsonl")
    assert raw.status_code == 413
    assert Prompt.objects.count() == 0
