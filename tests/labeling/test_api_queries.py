"""`next` and `submit` stay at a handful of queries each (Label Studio spent 30-38 per next, 67 per
submit), with token authentication as the load benchmark uses it."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Ranking
from tests.support.builders import published_guideline, ranking_task, user

pytestmark = pytest.mark.django_db

# Counted: the token with its user and roles (accounts.authentication), the savepoint pair of the
# transaction (BEGIN and COMMIT outside tests), and the work itself. next (8): own lease, locked
# candidates, their leases recounted with their answers' texts, insert, guideline. submit (9): locked
# assignment with the guideline version in use, ranking, its items, task count, assignment state, the
# batch's re-queue rule (labeling.requeue).
NEXT_MAX = 8
SUBMIT_MAX = 9


def token_client():
    person = user("labeler")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    return client


def test_next_and_submit_take_a_handful_of_queries(django_assert_max_num_queries):
    published_guideline()
    for i in range(20):
        ranking_task(k=9, labelers_required=3, gold_ranks=[1, 2, 3, 4, 5, 6, 7, 8, 9] if i % 5 == 0 else None)
    client = token_client()
    for _ in range(3):
        with django_assert_max_num_queries(NEXT_MAX):
            item = client.post("/api/work/next/", {}, format="json").json()
        body = {"ranks": [{"response": r["id"], "rank": 1 + i // 2, "score": 4, "flags": ["harmful"]}
                          for i, r in enumerate(item["responses"])]}
        with django_assert_max_num_queries(SUBMIT_MAX):
            response = client.post(f"/api/assignments/{item['id']}/ranking/", body, format="json",
                                    headers={"Idempotency-Key": f"key-{item['id']}"})
        assert response.status_code == 201
    assert Ranking.objects.count() == 3


def test_prefetch_costs_no_more_than_one_next(django_assert_max_num_queries):
    for _ in range(3):
        ranking_task(k=4)
    client = token_client()
    with django_assert_max_num_queries(NEXT_MAX):
        item = client.post("/api/work/next/?prefetch=1", {}, format="json").json()
    assert item["next"] is not None
