"""Demonstrations: written for a demonstration task, edited by their author until reviewed, and
accepted, edited or rejected (with a comment) by an admin."""

import pytest

from labeling.models import Assignment, Demonstration, Task
from tests.support.builders import client_as, demonstration_task, next_work, published_guideline, ranking_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def written():
    """A labeler who has written a demonstration: (client, demonstration JSON)."""
    demonstration_task()
    client = client_as("labeler")
    item = next_work(client, kind="demonstration").json()
    response = client.post(f"/api/assignments/{item['id']}/demonstration/",
                           {"text": "Snow on the pine—", "seconds_spent": 90, "idempotency_key": "d-1"}, format="json")
    assert response.status_code == 201
    return client, response.json()


def test_a_demonstration_is_saved_with_the_guideline_version_and_closes_the_task():
    version = published_guideline()
    task = demonstration_task()
    client = client_as("labeler")
    item = next_work(client, kind="demonstration").json()
    assert item["task"]["prompt"]["text"] == "Write a haiku."
    response = client.post(f"/api/assignments/{item['id']}/demonstration/", {"text": "An old pond."}, format="json")
    assert response.status_code == 201
    demo = Demonstration.objects.get()
    assert (demo.text, demo.prompt_id, demo.task_id, demo.guideline_version) == ("An old pond.", task.prompt_id, task.pk, version)
    assert demo.review_state == "submitted"
    assert Task.objects.get(pk=task.pk).completed_count == 1
    assert Assignment.objects.get(pk=item["id"]).state == "submitted"


def test_a_demonstration_retry_with_its_key_returns_the_saved_one(written):
    client, demo = written
    assignment = Assignment.objects.get()
    retry = client.post(f"/api/assignments/{assignment.pk}/demonstration/", {"text": "Snow on the pine—", "idempotency_key": "d-1"},
                        format="json")
    assert retry.status_code == 200 and retry.json()["id"] == demo["id"]
    assert Demonstration.objects.count() == 1


@pytest.mark.parametrize("body, field", [({}, "text"), ({"text": "   "}, "text"), ({"text": "ok", "seconds_spent": -3}, "seconds_spent")])
def test_bad_demonstrations_are_400_naming_the_field(body, field):
    demonstration_task()
    client = client_as("labeler")
    item = next_work(client).json()
    response = client.post(f"/api/assignments/{item['id']}/demonstration/", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_a_demonstration_cannot_be_sent_for_a_ranking_task():
    ranking_task()
    client = client_as("labeler")
    item = next_work(client).json()
    response = client.post(f"/api/assignments/{item['id']}/demonstration/", {"text": "x"}, format="json")
    assert response.status_code == 400 and "ranking" in response.json()["task"][0]


def test_the_author_edits_until_review_and_nobody_else_can(written):
    client, demo = written
    url = f"/api/demonstrations/{demo['id']}/"
    assert client.patch(url, {"text": "Snow on the old pine."}, format="json").status_code == 200
    assert Demonstration.objects.get().text == "Snow on the old pine."
    assert client_as("labeler").patch(url, {"text": "mine now"}, format="json").status_code == 404
    assert client_as("admin").patch(url, {"text": "admin edit"}, format="json").status_code == 403
    admin = client_as("admin")
    assert admin.post(f"{url}review/", {"decision": "accept"}, format="json").status_code == 200
    late = client.patch(url, {"text": "too late"}, format="json")
    assert late.status_code == 409 and "accepted" in late.json()["detail"]


def test_a_rejection_needs_a_comment(written):
    _, demo = written
    admin = client_as("admin")
    url = f"/api/demonstrations/{demo['id']}/review/"
    response = admin.post(url, {"decision": "reject"}, format="json")
    assert response.status_code == 400 and "comment" in response.json()
    response = admin.post(url, {"decision": "reject", "comment": "Not a haiku."}, format="json")
    assert response.status_code == 200
    saved = Demonstration.objects.get()
    assert (saved.review_state, saved.review_comment, saved.reviewer.username) == ("rejected", "Not a haiku.", admin.user.username)


def test_a_reviewer_edit_accepts_the_reviewers_text(written):
    _, demo = written
    admin = client_as("admin")
    url = f"/api/demonstrations/{demo['id']}/review/"
    assert admin.post(url, {"decision": "edit"}, format="json").status_code == 400
    response = admin.post(url, {"decision": "edit", "text": "Snow on the pine, still."}, format="json")
    assert response.status_code == 200
    saved = Demonstration.objects.get()
    assert (saved.review_state, saved.text) == ("accepted", "Snow on the pine, still.")


def test_only_admins_review_and_labelers_see_only_their_own(written):
    client, demo = written
    assert client.post(f"/api/demonstrations/{demo['id']}/review/", {"decision": "accept"}, format="json").status_code == 403
    other = client_as("labeler")
    assert other.get("/api/demonstrations/").json()["count"] == 0
    assert other.get(f"/api/demonstrations/{demo['id']}/").status_code == 404
    assert client.get("/api/demonstrations/").json()["count"] == 1
    assert client_as("ml_engineer").get("/api/demonstrations/?review_state=submitted").json()["count"] == 1
    assert client_as("admin").get("/api/demonstrations/?review_state=accepted").json()["count"] == 0
