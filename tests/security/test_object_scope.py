"""Labelers see only their own work: another labeler's rankings, demonstrations and assignments are
looked up inside the caller's scope (a guessed id is a 404, never someone else's data), gold answers
never reach them, and nothing of the ML team's is theirs to read."""

import json

import pytest

from labeling.models import Demonstration
from tests.support.builders import client_as, demonstration_task, next_work, ranking_task, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_labelers_with_work():
    """Alice ranked a gold task and wrote a demonstration; Bob is another labeler."""
    ranking_task(k=3, gold_ranks=[1, 2, 3], text="Which answer is best?")
    demonstration_task(text="Write a limerick.")
    alice, bob = client_as("labeler"), client_as("labeler")
    item = next_work(alice, kind="ranking").json()
    assert "gold" not in json.dumps(item), "a work item never tells a gold task apart"
    ranking = submit(alice, item, [2, 1, 3]).json()
    demo_item = next_work(alice, kind="demonstration").json()
    demo = alice.post(f"/api/assignments/{demo_item['id']}/demonstration/", {"text": "There once was..."}, format="json").json()
    return alice, bob, item, ranking, demo_item, demo


def test_a_labeler_cannot_read_or_touch_another_labelers_work(two_labelers_with_work):
    alice, bob, item, ranking, demo_item, demo = two_labelers_with_work
    assert alice.get(f"/api/rankings/{ranking['id']}/").status_code == 200
    attempts = {
        "ranking": bob.get(f"/api/rankings/{ranking['id']}/"),
        "demonstration": bob.get(f"/api/demonstrations/{demo['id']}/"),
        "edit demonstration": bob.patch(f"/api/demonstrations/{demo['id']}/", {"text": "mine now"}, format="json"),
        "assignment": bob.get(f"/api/assignments/{item['id']}/"),
        "submit into it": submit(bob, item),
        "skip it": bob.post(f"/api/assignments/{item['id']}/skip/", {"reason": "x"}, format="json"),
        "demonstrate into it": bob.post(f"/api/assignments/{demo_item['id']}/demonstration/", {"text": "x"}, format="json"),
    }
    assert {name: r.status_code for name, r in attempts.items()} == {name: 404 for name in attempts}
    assert bob.get("/api/rankings/").json()["count"] == 0
    assert bob.get("/api/demonstrations/").json()["count"] == 0
    assert bob.get("/api/work/history/").json()["count"] == 0
    assert Demonstration.objects.get(pk=demo["id"]).text == "There once was..."


def test_gold_answers_and_the_ml_teams_objects_stay_out_of_a_labelers_reach(two_labelers_with_work):
    alice, *_ = two_labelers_with_work
    seen = json.dumps([alice.get(path).json() for path in ("/api/rankings/", "/api/work/history/", "/api/demonstrations/",
                                                             "/api/agreement/me/")])
    assert "gold_ranks" not in seen
    for path in ("/api/tasks/", "/api/prompts/", "/api/snapshots/", "/api/jobs/", "/api/models/",
                 "/api/quality/agreement/", "/api/quality/bias/", "/api/evaluations/win-rates/"):
        assert alice.get(path).status_code == 403, path


def test_staff_see_everything_they_need(two_labelers_with_work):
    alice, _, item, ranking, _, demo = two_labelers_with_work
    admin, engineer = client_as("admin"), client_as("ml_engineer")
    for client in (admin, engineer):
        assert client.get(f"/api/rankings/{ranking['id']}/").status_code == 200
        assert client.get(f"/api/demonstrations/{demo['id']}/").status_code == 200
    tasks = engineer.get("/api/tasks/").json()["results"]
    assert any(t["gold_ranks"] for t in tasks)
    # but only the author edits a demonstration (reviewers use review/)
    assert admin.patch(f"/api/demonstrations/{demo['id']}/", {"text": "edited"}, format="json").status_code == 403
