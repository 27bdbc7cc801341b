"""Who sees what: labelers see only their own rankings, assignments and history (a guessed id is a
404), never gold answers; admins and ML engineers read all rankings. Every list paginates."""

import pytest

from tests.support.builders import client_as, next_work, ranking_task, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_rankings():
    """Two labelers who each ranked the same gold task: (alice, bob, alice's ranking, bob's ranking)."""
    ranking_task(k=3, labelers_required=2, gold_ranks=[1, 2, 3])
    alice, bob = client_as("labeler"), client_as("labeler")
    mine = submit(alice, next_work(alice).json(), ranks=[1, 2, 3]).json()
    theirs = submit(bob, next_work(bob).json(), ranks=[3, 2, 1]).json()
    return alice, bob, mine, theirs


def test_a_labeler_lists_and_reads_only_their_own_rankings(two_rankings):
    alice, bob, mine, theirs = two_rankings
    listed = alice.get("/api/rankings/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == mine["id"]
    assert alice.get(f"/api/rankings/{theirs['id']}/").status_code == 404
    assert alice.get(f"/api/rankings/?labeler={bob.user.pk}").json()["count"] == 0
    assert alice.get(f"/api/assignments/{theirs['assignment']}/").status_code == 404
    assert "gold" not in alice.get(f"/api/rankings/{mine['id']}/").content.decode()


def test_admins_and_ml_engineers_read_every_ranking_with_filters(two_rankings):
    _, bob, _, theirs = two_rankings
    for role in ("admin", "ml_engineer"):
        client = client_as(role)
        assert client.get("/api/rankings/").json()["count"] == 2
        only_bob = client.get(f"/api/rankings/?labeler={bob.user.pk}").json()
        assert [r["id"] for r in only_bob["results"]] == [theirs["id"]]
        assert client.get("/api/rankings/?all_bad=true").json()["count"] == 0
    assert client_as("admin").get("/api/rankings/?limit=1").json()["next"]


def test_history_lists_the_labelers_own_work_with_counts():
    ranking_task(text="first")
    ranking_task(text="second")
    ranking_task(text="third")
    client = client_as("labeler")
    submit(client, next_work(client).json())
    skipped = next_work(client).json()
    client.post(f"/api/assignments/{skipped['id']}/skip/", {"reason": "unclear"}, format="json")
    next_work(client)  # a live lease
    history = client.get("/api/work/history/").json()
    assert [(h["prompt_text"], h["state"]) for h in history["results"]] == [
        ("third", "leased"), ("second", "skipped"), ("first", "submitted")]
    assert history["results"][2]["ranking"] is not None and history["results"][1]["skip_reason"] == "unclear"
    assert history["counts"]["submitted"] == 1 and history["counts"]["skipped"] == 1 and history["counts"]["leased"] == 1
    assert history["counts"]["rankings"] == 1 and history["counts"]["demonstrations"] == 0
    assert client.get("/api/work/history/?state=skipped").json()["count"] == 1
    assert client_as("labeler").get("/api/work/history/").json()["count"] == 0


def test_anonymous_callers_get_nothing(client):
    for url in ("/api/guidelines/", "/api/prompts/", "/api/tasks/", "/api/rankings/", "/api/demonstrations/",
                "/api/work/history/"):
        assert client.get(url).status_code in (401, 403), url


def test_the_schema_documents_the_workflow(client):
    schema = client_as("admin").get("/api/schema/?format=json").json()
    for path in ("/api/work/next/", "/api/assignments/{id}/ranking/", "/api/assignments/{id}/skip/",
                 "/api/assignments/{id}/demonstration/", "/api/prompts/import/", "/api/tasks/import/",
                 "/api/guidelines/{id}/versions/", "/api/guideline-versions/{id}/publish/",
                 "/api/demonstrations/{id}/review/", "/api/rankings/", "/api/work/history/"):
        assert path in schema["paths"], path
    ranking_body = schema["components"]["schemas"]["RankingSubmitRequest"]["properties"]
    assert {"ranks", "all_bad", "unrankable", "seconds_spent", "idempotency_key"} <= set(ranking_body)
