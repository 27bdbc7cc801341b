"""Submitting a ranking: what is stored, idempotency, and a 400 naming the field (or 403/404/409)
for every bad submission."""

import json
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from labeling.models import Assignment, ComparisonPair, RankedResponse, Ranking, Task
from labeling.pairs import expand_rankings
from tests.support.builders import (client_as, demonstration_task, next_work, published_guideline,
                                              ranking_task, submit)

pytestmark = pytest.mark.django_db


@pytest.fixture
def leased():
    """A labeler holding a lease on a 4-answer ranking task: (client, work item)."""
    ranking_task(k=4, labelers_required=2)
    client = client_as("labeler")
    return client, next_work(client).json()


def post_ranking(client, item, body, **headers):
    return client.post(f"/api/assignments/{item['id']}/ranking/", body, format="json", headers=headers)


def items(item, ranks, **extra):
    return [{"response": r["id"], "rank": rank, **extra} for r, rank in zip(item["responses"], ranks)]


def test_a_ranking_is_stored_in_competition_form_with_its_context(leased, django_capture_on_commit_callbacks):
    client, item = leased
    version = published_guideline()
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_ranking(client, item, {"ranks": items(item, [1, 2, 2, 3]), "seconds_spent": 42.5})
    assert response.status_code == 201
    ranking = Ranking.objects.get(pk=response.json()["id"])
    ids = [r["id"] for r in item["responses"]]
    assert ranking.ranks() == dict(zip(ids, [1, 2, 2, 4]))
    assert ranking.guideline_version == version
    assert ranking.display_order == ids and ranking.seconds_spent == 42.5
    assert not ranking.all_bad and not ranking.unrankable
    assignment = Assignment.objects.get(pk=item["id"])
    assert assignment.state == "submitted" and assignment.completed_at is not None
    assert Task.objects.get(pk=item["task"]["id"]).completed_count == 1
    assert len(callbacks) == 1  # pair expansion is queued after the commit
    assert {r["response"]: r["rank"] for r in response.json()["ranks"]} == dict(zip(ids, [1, 2, 2, 4]))
    assert [r["rank"] for r in response.json()["ranks"]] == [1, 2, 2, 4]  # best first


def test_scores_and_flags_are_kept_per_answer(leased):
    client, item = leased
    body = items(item, [1, 2, 3, 4])
    body[3].update(score=2, flags=["made_up_facts", "harmful"])
    body[0].update(score=7)
    assert post_ranking(client, item, {"ranks": body}).status_code == 201
    worst = RankedResponse.objects.get(response_id=body[3]["response"])
    assert (worst.score, worst.flags) == (2, ["made_up_facts", "harmful"])
    assert RankedResponse.objects.get(response_id=body[0]["response"]).score == 7


@pytest.mark.parametrize("bad", [{"score": 0}, {"score": 8}, {"flags": ["rude"]}, {"flags": ["harmful", "harmful"]}])
def test_bad_scores_and_flags_are_400_naming_ranks(leased, bad):
    client, item = leased
    body = items(item, [1, 2, 3, 4])
    body[0].update(bad)
    response = post_ranking(client, item, {"ranks": body})
    assert response.status_code == 400 and "ranks" in response.json()
    assert not Ranking.objects.exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_saved_ranking(leased):
    client, item = leased
    body = {"ranks": items(item, [1, 2, 3, 4]), "idempotency_key": "k-1"}
    first = post_ranking(client, item, body)
    retry = post_ranking(client, item, body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert Ranking.objects.count() == 1
    assert Task.objects.get(pk=item["task"]["id"]).completed_count == 1


def test_the_idempotency_key_can_come_as_a_header(leased):
    client, item = leased
    body = {"ranks": items(item, [1, 2, 3, 4])}
    assert post_ranking(client, item, body, **{"Idempotency-Key": "h-1"}).status_code == 201
    assert post_ranking(client, item, body, **{"Idempotency-Key": "h-1"}).status_code == 200
    clash = post_ranking(client, item, {**body, "idempotency_key": "other"}, **{"Idempotency-Key": "h-1"})
    assert clash.status_code == 400 and "idempotency_key" in clash.json()


def test_a_second_submission_without_the_key_is_a_conflict(leased):
    client, item = leased
    body = {"ranks": items(item, [1, 2, 3, 4]), "idempotency_key": "k-1"}
    assert post_ranking(client, item, body).status_code == 201
    assert post_ranking(client, item, {"ranks": body["ranks"]}).status_code == 409
    assert post_ranking(client, item, {**body, "idempotency_key": "k-2"}).status_code == 409
    assert Ranking.objects.count() == 1


def test_reusing_a_key_on_another_task_is_a_conflict(leased):
    client, item = leased
    assert post_ranking(client, item, {"ranks": items(item, [1, 2, 3, 4]), "idempotency_key": "k"}).status_code == 201
    ranking_task(k=2)
    other = next_work(client).json()
    response = post_ranking(client, other, {"ranks": items(other, [1, 2]), "idempotency_key": "k"})
    assert response.status_code == 409
    assert Assignment.objects.get(pk=other["id"]).state == "leased"


@pytest.mark.parametrize("case, expected", [
    ("missing", "rank all 4 responses"),
    ("extra", "not part of this task"),
    ("repeated", "more than once"),
    ("rank_zero", "from 1 to 4"),
    ("rank_too_big", "from 1 to 4"),
    ("empty", "rank every answer"),
])
def test_bad_rankings_are_400_naming_ranks(leased, case, expected):
    client, item = leased
    body = items(item, [1, 2, 3, 4])
    if case == "missing":
        body = body[:3]
    elif case == "extra":
        body[3]["response"] = 10**9
    elif case == "repeated":
        body[3]["response"] = body[0]["response"]
    elif case == "rank_zero":
        body[0]["rank"] = 0
    elif case == "rank_too_big":
        body[0]["rank"] = 5
    elif case == "empty":
        body = []
    response = post_ranking(client, item, {"ranks": body})
    assert response.status_code == 400
    assert expected in " ".join(response.json()["ranks"])
    assert not Ranking.objects.exists()
    assert Assignment.objects.get(pk=item["id"]).state == "leased"


@pytest.mark.parametrize("body, field", [
    ({"ranks": "1,2,3,4"}, "ranks"),
    ({"ranks": [{"response": "x", "rank": 1}]}, "ranks"),
    ({"ranks": [], "all_bad": "maybe"}, "all_bad"),
    ({"ranks": [], "all_bad": True, "seconds_spent": -1}, "seconds_spent"),
    ({"ranks": [], "all_bad": True, "idempotency_key": "k" * 101}, "idempotency_key"),
])
def test_malformed_payloads_are_400_naming_the_field(leased, body, field):
    client, item = leased
    response = post_ranking(client, item, body)
    assert response.status_code == 400 and field in response.json()


def timed_post(client, item, body):
    """POST an already encoded JSON body; returns (response, seconds spent serving it)."""
    raw = json.dumps(body).encode()
    started = time.monotonic()
    response = client.generic("POST", f"/api/assignments/{item['id']}/ranking/", raw, content_type="application/json")
    return response, time.monotonic() - started


def test_a_huge_list_is_refused_fast_before_any_work(leased):
    client, item = leased
    response, seconds = timed_post(client, item, {"ranks": [{"response": 1, "rank": 1}] * 10_000})  # 0.3 MB
    assert response.status_code == 400 and "at most 9 items" in response.json()["ranks"][0]
    assert seconds < 1.0
    response, seconds = timed_post(client, item, {"ranks": [{"response": 1, "rank": 1}] * 500_000})  # 14 MB
    assert response.status_code == 413 and "request body" in response.json()["detail"]
    assert seconds < 0.5  # refused from its Content-Length, unread
    assert not Ranking.objects.exists()


@override_settings(MAX_TEXT_LENGTH=100)
def test_text_over_the_size_limit_is_400_naming_the_field_and_a_body_over_its_limit_413(leased):
    client, item = leased
    response = post_ranking(client, item, {"ranks": [], "all_bad": True, "comment": "x" * 101})
    assert response.status_code == 400 and "at most 100 characters" in response.json()["comment"][0]
    response = post_ranking(client, item, {"ranks": [], "all_bad": True, "comment": "x" * 200_000})
    assert response.status_code == 413 and "request body" in response.json()["detail"]


def test_an_expired_lease_is_409_and_nothing_is_saved(leased):
    client, item = leased
    Assignment.objects.filter(pk=item["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    response = post_ranking(client, item, {"ranks": items(item, [1, 2, 3, 4])})
    assert response.status_code == 409 and "expired" in response.json()["detail"]
    assert not Ranking.objects.exists()


def test_someone_elses_assignment_is_404(leased):
    _, item = leased
    intruder = client_as("labeler")
    assert post_ranking(intruder, item, {"ranks": items(item, [1, 2, 3, 4])}).status_code == 404
    assert intruder.post(f"/api/assignments/{item['id']}/skip/", {"reason": "x"}, format="json").status_code == 404
    assert post_ranking(intruder, {"id": 10**9}, {"ranks": []}).status_code == 404
    assert not Ranking.objects.exists()


def test_an_ml_engineer_cannot_submit(leased):
    _, item = leased
    assert post_ranking(client_as("ml_engineer"), item, {"ranks": items(item, [1, 2, 3, 4])}).status_code == 403


def test_all_bad_and_unrankable_are_kept_apart_from_ties(leased):
    client, item = leased
    response = post_ranking(client, item, {"ranks": items(item, [1, 1, 1, 1]), "all_bad": True})
    assert response.status_code == 201
    ranking = Ranking.objects.get()
    assert ranking.all_bad and not ranking.unrankable
    assert set(ranking.ranks().values()) == {1}

    other = client_as("labeler")
    item2 = next_work(other).json()
    response = post_ranking(other, item2, {"ranks": [], "unrankable": True, "comment": "prompt is unreadable"})
    assert response.status_code == 201
    unrankable = Ranking.objects.get(pk=response.json()["id"])
    assert unrankable.unrankable and unrankable.items.count() == 0
    assert expand_rankings([ranking.pk, unrankable.pk]) == 0  # all tied / unrankable: no pairs


def test_a_side_by_side_comparison_is_a_ranking_of_two_with_ties_allowed():
    ranking_task(k=2, kind="comparison", labelers_required=2)
    a, b = client_as("labeler"), client_as("labeler")
    item_a, item_b = next_work(a).json(), next_work(b).json()
    assert submit(a, item_a, ranks=[1, 1]).status_code == 201  # a tie
    assert submit(b, item_b, ranks=[2, 1]).status_code == 201  # B is better
    expanded = expand_rankings(list(Ranking.objects.values_list("id", flat=True)))
    assert expanded == 1
    pair = ComparisonPair.objects.get()
    assert (pair.chosen_id, pair.rejected_id) == (item_b["responses"][1]["id"], item_b["responses"][0]["id"])


def test_a_ranking_cannot_be_sent_for_a_demonstration_task():
    demonstration_task()
    client = client_as("labeler")
    item = next_work(client).json()
    response = post_ranking(client, item, {"ranks": [], "all_bad": True})
    assert response.status_code == 400 and "demonstration" in response.json()["task"][0]


def test_a_skip_needs_a_reason_and_closes_the_assignment(leased):
    client, item = leased
    url = f"/api/assignments/{item['id']}/skip/"
    assert "reason" in client.post(url, {}, format="json").json()
    response = client.post(url, {"reason": "I don't know this topic"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "skipped"
    assert Assignment.objects.get(pk=item["id"]).skip_reason == "I don't know this topic"
    assert post_ranking(client, item, {"ranks": items(item, [1, 2, 3, 4])}).status_code == 409
    assert client.post(url, {"reason": "again"}, format="json").status_code == 200  # harmless


def test_a_submitted_task_cannot_be_skipped(leased):
    client, item = leased
    assert submit(client, item).status_code == 201
    assert client.post(f"/api/assignments/{item['id']}/skip/", {"reason": "x"}, format="json").status_code == 409


def test_the_submit_reply_has_the_shape_of_the_rankings_endpoint(leased):
    client, item = leased
    body = items(item, [2, 1, 3, 3])
    body[0].update(score=5, flags=["bad_formatting"])
    reply = post_ranking(client, item, {"ranks": body, "comment": "close call", "idempotency_key": "shape"}).json()
    assert client.get(f"/api/rankings/{reply['id']}/").json() == reply
