"""Guidelines: admins draft, publish and list versions; a published version never changes; labelers
read published versions only; every label records the version in use."""

import pytest

from labeling.guidelines import current_version
from labeling.models import Demonstration, GuidelineVersion, Ranking
from tests.support.builders import client_as, demonstration_task, next_work, ranking_task, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return client_as("admin")


def make_guideline(admin, name="HHH"):
    response = admin.post("/api/guidelines/", {"name": name}, format="json")
    assert response.status_code == 201
    return response.json()["id"]


def test_admin_drafts_then_publishes_versions_numbered_in_order(admin):
    gid = make_guideline(admin)
    draft = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "Rank helpful first.", "changelog": "first"}, format="json")
    assert draft.status_code == 201
    assert (draft.json()["number"], draft.json()["published_at"]) == (1, None)
    published = admin.post(f"/api/guideline-versions/{draft.json()['id']}/publish/")
    assert published.status_code == 200 and published.json()["published_at"]
    second = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "v2", "publish": True}, format="json").json()
    assert second["number"] == 2 and second["published_at"]
    history = admin.get(f"/api/guidelines/{gid}/versions/").json()
    assert [v["number"] for v in history["results"]] == [2, 1]
    assert admin.get(f"/api/guidelines/{gid}/").json()["current_version"] == 2
    assert current_version().pk == second["id"]


def test_a_draft_can_change_and_a_published_version_cannot(admin):
    gid = make_guideline(admin)
    draft = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "draft"}, format="json").json()
    url = f"/api/guideline-versions/{draft['id']}/"
    assert admin.patch(url, {"body": "better draft"}, format="json").status_code == 200
    assert GuidelineVersion.objects.get(pk=draft["id"]).body == "better draft"
    admin.post(f"{url}publish/")
    frozen = admin.patch(url, {"body": "sneaky edit"}, format="json")
    assert frozen.status_code == 409 and "published" in frozen.json()["detail"]
    assert admin.post(f"{url}publish/").status_code == 409
    assert admin.delete(url).status_code == 409
    assert GuidelineVersion.objects.get(pk=draft["id"]).body == "better draft"


def test_a_draft_can_be_deleted(admin):
    gid = make_guideline(admin)
    draft = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "draft"}, format="json").json()
    assert admin.delete(f"/api/guideline-versions/{draft['id']}/").status_code == 204
    assert not GuidelineVersion.objects.exists()


def test_bad_guideline_input_names_the_field(admin):
    assert "name" in admin.post("/api/guidelines/", {}, format="json").json()
    gid = make_guideline(admin)
    assert admin.post("/api/guidelines/", {"name": "HHH"}, format="json").status_code == 400  # unique
    assert "body" in admin.post(f"/api/guidelines/{gid}/versions/", {"body": ""}, format="json").json()
    assert admin.post("/api/guidelines/999/versions/", {"body": "x"}, format="json").status_code == 404


def test_labelers_read_published_versions_only_and_cannot_write(admin):
    gid = make_guideline(admin)
    admin.post(f"/api/guidelines/{gid}/versions/", {"body": "public", "publish": True}, format="json")
    draft = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "secret draft"}, format="json").json()
    labeler = client_as("labeler")
    assert [v["body"] for v in labeler.get(f"/api/guidelines/{gid}/versions/").json()["results"]] == ["public"]
    assert labeler.get(f"/api/guideline-versions/{draft['id']}/").status_code == 404
    assert labeler.post("/api/guidelines/", {"name": "mine"}, format="json").status_code == 403
    assert labeler.post(f"/api/guidelines/{gid}/versions/", {"body": "x"}, format="json").status_code == 403
    assert labeler.post(f"/api/guideline-versions/{draft['id']}/publish/").status_code in (403, 404)


def test_each_ranking_records_the_version_published_when_it_was_made(admin):
    gid = make_guideline(admin)
    v1 = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "v1", "publish": True}, format="json").json()
    ranking_task(labelers_required=2)
    early, late = client_as("labeler"), client_as("labeler")
    submit(early, next_work(early).json())
    v2 = admin.post(f"/api/guidelines/{gid}/versions/", {"body": "v2", "publish": True}, format="json").json()
    item = next_work(late).json()
    assert item["guideline_version"]["number"] == 2
    submit(late, item)
    assert [r.guideline_version_id for r in Ranking.objects.order_by("id")] == [v1["id"], v2["id"]]


def test_guideline_lists_are_paginated_and_filterable(admin):
    for name in ("a", "b", "c"):
        make_guideline(admin, name)
    page = admin.get("/api/guidelines/?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [g["name"] for g in admin.get("/api/guidelines/?search=b").json()["results"]] == ["b"]


def test_each_kind_of_task_shows_and_records_its_own_guideline(admin):
    """Issue 13, defect 9: the demonstration screen showed the ranking guideline. A guideline serves one
    kind of task or every kind; a kind's own guideline wins over a general one published later."""
    demo_gid = admin.post("/api/guidelines/", {"name": "Writing demonstrations", "task_kind": "demonstration"},
                          format="json").json()["id"]
    demo_version = admin.post(f"/api/guidelines/{demo_gid}/versions/", {"body": "Write it as an expert would.",
                                                                     "publish": True}, format="json").json()
    general_gid = make_guideline(admin, "Ranking HHH")
    general_version = admin.post(f"/api/guidelines/{general_gid}/versions/", {"body": "Helpful first.", "publish": True},
                                 format="json").json()
    assert admin.get(f"/api/guidelines/{demo_gid}/").json()["task_kind"] == "demonstration"
    assert admin.post("/api/guidelines/", {"name": "x", "task_kind": "poetry"}, format="json").status_code == 400

    demonstration_task()
    ranking_task()
    labeler = client_as("labeler")
    item = next_work(labeler, kind="demonstration").json()
    assert item["kind"] == "demonstration" and item["guideline_version"]["id"] == demo_version["id"]
    assert labeler.post(f"/api/assignments/{item['id']}/demonstration/", {"text": "An answer."},
                        format="json").status_code == 201
    assert Demonstration.objects.get().guideline_version_id == demo_version["id"]

    ranker = client_as("labeler")
    item = next_work(ranker, kind="ranking").json()
    assert item["kind"] == "ranking" and item["guideline_version"]["id"] == general_version["id"]
    assert submit(ranker, item).status_code == 201
    assert Ranking.objects.get().guideline_version_id == general_version["id"]
