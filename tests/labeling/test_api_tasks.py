"""Ranking tasks: admins create them from a prompt and answers (or in bulk from JSON Lines), set how
many labelers must rank each one, and mark gold tasks with a known ranking."""

import json

import pytest

from labeling.models import Prompt, Response, Task
from tests.support.builders import client_as, prompt, ranking_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return client_as("admin")


def test_create_a_ranking_task_from_a_prompt_and_answers(admin):
    body = {"prompt": "Name a colour.", "responses": ["Red.", "Blue.", "Seven."], "labelers_required": 3,
            "gold_ranks": [1, 1, 3], "batch": "round-1"}
    response = admin.post("/api/tasks/", body, format="json")
    assert response.status_code == 201, response.json()
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.kind, task.labelers_required, task.batch, task.prompt.text) == ("ranking", 3, "round-1", "Name a colour.")
    ids = [r["id"] for r in response.json()["responses"]]
    assert task.gold_ranks == {str(ids[0]): 1, str(ids[1]): 1, str(ids[2]): 3}
    assert [r.origin for r in Response.objects.filter(pk__in=ids)] == ["import"] * 3


def test_create_a_task_for_an_existing_prompt_or_a_demonstration_or_comparison_task(admin):
    p = prompt("Existing")
    response = admin.post("/api/tasks/", {"prompt_id": p.pk, "responses": ["a", "b"], "kind": "comparison"}, format="json")
    assert response.status_code == 201
    assert Task.objects.get(pk=response.json()["id"]).prompt == p
    response = admin.post("/api/tasks/", {"kind": "demonstration", "prompt": "Write a limerick.", "split": "sft"}, format="json")
    assert response.status_code == 201 and response.json()["responses"] == []
    assert Prompt.objects.get(text="Write a limerick.").split == "sft"


@pytest.mark.parametrize("body, field", [
    ({"prompt": "q", "responses": ["only one"]}, "responses"),
    ({"prompt": "q", "responses": ["a"] * 10}, "responses"),
    ({"prompt": "q", "responses": ["a", ""]}, "responses"),
    ({"prompt": "q", "responses": ["a", "b", "c"], "kind": "comparison"}, "responses"),
    ({"prompt": "q", "responses": ["a", "b"], "gold_ranks": [1]}, "gold_ranks"),
    ({"prompt": "q", "responses": ["a", "b"], "gold_ranks": [1, 3]}, "gold_ranks"),
    ({"prompt": "q", "responses": ["a", "b"], "labelers_required": 0}, "labelers_required"),
    ({"prompt": "q", "responses": ["a", "b"], "labelers_required": 101}, "labelers_required"),
    ({"prompt": "q", "responses": ["a", "b"], "kind": "essay"}, "kind"),
    ({"responses": ["a", "b"]}, "text"),
    ({"prompt_id": 10**9, "responses": ["a", "b"]}, "prompt_id"),
    ({"kind": "demonstration", "prompt": "q", "responses": ["a", "b"]}, "responses"),
])
def test_bad_tasks_are_400_naming_the_field(admin, body, field):
    response = admin.post("/api/tasks/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Task.objects.exists()


def test_bulk_import_from_json_lines(admin):
    lines = "\n".join(json.dumps(x) for x in [
        {"prompt": "One?", "responses": ["a", "b", "c"], "labelers_required": 2},
        {"prompt": [{"role": "user", "content": "Two?"}], "responses": [[{"role": "assistant", "content": "x"}], "y"],
         "gold_ranks": [2, 1]},
    ])
    response = admin.post("/api/tasks/import/", {"content": lines, "batch": "file-1", "labelers_required": 5}, format="json")
    assert response.status_code == 201 and response.json()["created"] == 2
    first, second = Task.objects.order_by("id")
    assert (first.labelers_required, second.labelers_required) == (2, 5)
    assert second.is_gold and first.batch == "file-1"
    assert [r.text for r in second.responses.order_by("task_memberships__position")] == ["x", "y"]


def test_bulk_import_is_all_or_nothing(admin):
    lines = "\n".join(json.dumps(x) for x in [
        {"prompt": "One?", "responses": ["a", "b"]},
        {"prompt": "Two?", "responses": ["a"]},
        {"prompt": "Three?", "responses": ["a", "b"], "gold_ranks": [1, 2, 3]},
    ])
    response = admin.post("/api/tasks/import/", {"content": lines}, format="json")
    assert response.status_code == 400
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(2, "responses"), (3, "gold_ranks")]
    assert not Task.objects.exists() and not Prompt.objects.exists()


def test_admins_tune_labelers_required_and_priority(admin):
    task = ranking_task(labelers_required=1)
    url = f"/api/tasks/{task.pk}/"
    assert admin.patch(url, {"labelers_required": 4, "priority": 3}, format="json").status_code == 200
    task.refresh_from_db()
    assert (task.labelers_required, task.priority) == (4, 3)
    Task.objects.filter(pk=task.pk).update(completed_count=2)
    response = admin.patch(url, {"labelers_required": 1}, format="json")
    assert response.status_code == 400 and "labelers_required" in response.json()


def test_tasks_are_for_admins_and_ml_engineers_not_labelers(admin):
    gold = ranking_task(gold_ranks=[1, 2, 3])
    assert client_as("labeler").get("/api/tasks/").status_code == 403
    assert client_as("labeler").get(f"/api/tasks/{gold.pk}/").status_code == 403
    assert client_as("ml_engineer").get("/api/tasks/?is_gold=true").json()["count"] == 1
    assert client_as("ml_engineer").post("/api/tasks/", {"prompt": "q", "responses": ["a", "b"]}, format="json").status_code == 403
    ranking_task()
    assert admin.get("/api/tasks/?is_gold=false").json()["count"] == 1
    assert admin.get("/api/tasks/?complete=false&kind=ranking").json()["count"] == 2
