"""The next-task rules, through HTTP: leases, resuming, slots, never twice, expiry, own order, prefetch."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from labeling.models import Assignment, AssignmentState
from tests.support.builders import client_as, demonstration_task, next_work, ranking_task, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeler_client():
    return lambda: client_as("labeler")


@override_settings(LEASE_MINUTES=30)
def test_next_leases_a_task_for_lease_minutes(labeler_client):
    task = ranking_task(k=3)
    client = labeler_client()
    before = timezone.now()
    response = next_work(client)
    assert response.status_code == 200
    item = response.json()
    assert item["task"]["id"] == task.pk and item["kind"] == "ranking"
    assert sorted(r["text"] for r in item["responses"]) == ["answer 0", "answer 1", "answer 2"]
    expires = parse_datetime(item["lease_expires_at"])
    assert timedelta(minutes=29) < expires - before <= timedelta(minutes=30, seconds=5)
    assignment = Assignment.objects.get(pk=item["id"])
    assert assignment.state == AssignmentState.LEASED and assignment.labeler == client.user


def test_no_work_is_204(labeler_client):
    assert next_work(labeler_client()).status_code == 204


def test_only_labelers_and_admins_ask_for_work(client):
    ranking_task()
    assert next_work(client_as("ml_engineer")).status_code == 403
    assert next_work(client_as(None)).status_code == 403
    assert client.post("/api/work/next/").status_code in (401, 403)
    assert next_work(client_as("admin")).status_code == 200


def test_the_labelers_own_unexpired_lease_is_resumed_first(labeler_client):
    ranking_task()
    ranking_task()
    client = labeler_client()
    first = next_work(client).json()
    again = next_work(client).json()
    assert again["id"] == first["id"]
    assert again["responses"] == first["responses"]
    assert Assignment.objects.count() == 1


def test_a_task_is_never_leased_to_more_labelers_than_it_needs(labeler_client):
    task = ranking_task(labelers_required=2)
    a, b, c = labeler_client(), labeler_client(), labeler_client()
    assert next_work(a).json()["task"]["id"] == task.pk
    assert next_work(b).json()["task"]["id"] == task.pk
    assert next_work(c).status_code == 204


def test_a_submitted_slot_still_counts(labeler_client):
    ranking_task(labelers_required=1)
    a, b = labeler_client(), labeler_client()
    assert submit(a, next_work(a).json()).status_code == 201
    assert next_work(b).status_code == 204


def test_a_labeler_never_gets_a_task_they_submitted_or_skipped(labeler_client):
    done, skipped = ranking_task(labelers_required=3), ranking_task(labelers_required=3)
    client = labeler_client()
    item = next_work(client).json()
    assert item["task"]["id"] == done.pk
    assert submit(client, item).status_code == 201
    item = next_work(client).json()
    assert item["task"]["id"] == skipped.pk
    assert client.post(f"/api/assignments/{item['id']}/skip/", {"reason": "not my language"}, format="json").status_code == 200
    assert next_work(client).status_code == 204


def test_an_expired_lease_returns_the_slot_to_the_pool(labeler_client):
    task = ranking_task(labelers_required=1)
    a, b = labeler_client(), labeler_client()
    item_a = next_work(a).json()
    assert next_work(b).status_code == 204
    Assignment.objects.filter(pk=item_a["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    item_b = next_work(b).json()
    assert item_b["task"]["id"] == task.pk
    late = submit(a, item_a)
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    assert submit(b, item_b).status_code == 201


def test_a_labeler_whose_lease_expired_can_get_the_task_again(labeler_client):
    ranking_task()
    client = labeler_client()
    first = next_work(client).json()
    Assignment.objects.filter(pk=first["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    again = next_work(client).json()
    assert again["id"] == first["id"]  # the same row, re-leased
    assert parse_datetime(again["lease_expires_at"]) > timezone.now()
    assert submit(client, again).status_code == 201


def test_each_labeler_sees_their_own_order_recorded_with_assignment_and_ranking(labeler_client):
    ranking_task(k=9, labelers_required=4)
    orders = []
    for _ in range(4):
        client = labeler_client()
        item = next_work(client).json()
        shown = [r["id"] for r in item["responses"]]
        assert Assignment.objects.get(pk=item["id"]).display_order == shown
        ranking = submit(client, item).json()
        assert ranking["display_order"] == shown
        orders.append(tuple(shown))
    assert len(set(orders)) > 1  # 9! orders: four labelers sharing one is a one-in-10^16 event


def test_prefetch_leases_and_returns_the_following_task(labeler_client):
    first_task, second_task, _ = ranking_task(), ranking_task(), ranking_task()
    client = labeler_client()
    item = client.post("/api/work/next/?prefetch=1").json()
    assert item["task"]["id"] == first_task.pk
    assert item["next"]["task"]["id"] == second_task.pk
    assert Assignment.objects.filter(labeler=client.user, state="leased").count() == 2
    assert submit(client, item).status_code == 201
    resumed = next_work(client).json()
    assert resumed["id"] == item["next"]["id"]


def test_prefetch_with_one_task_left_gives_no_next(labeler_client):
    ranking_task()
    item = next_work(labeler_client(), prefetch=True).json()
    assert item["next"] is None


def test_kind_picks_rankings_comparisons_or_demonstrations(labeler_client):
    demo = demonstration_task()
    comparison = ranking_task(k=2, kind="comparison")
    client = labeler_client()
    item = next_work(client, kind="ranking").json()
    assert item["task"]["id"] == comparison.pk and item["kind"] == "comparison"
    item = next_work(client, kind="demonstration").json()
    assert item["task"]["id"] == demo.pk and item["responses"] == []
    assert next_work(client, kind="bogus").status_code == 400


def test_higher_priority_first(labeler_client):
    ranking_task()
    urgent = ranking_task(priority=5)
    assert next_work(labeler_client()).json()["task"]["id"] == urgent.pk


def test_gold_tasks_are_mixed_in_without_revealing_gold(labeler_client):
    gold = ranking_task(k=3, gold_ranks=[1, 2, 3], labelers_required=5)
    response = next_work(labeler_client())
    assert response.json()["task"]["id"] == gold.pk
    body = response.content.decode()
    assert "gold" not in body and "is_gold" not in body


def test_a_work_item_can_be_fetched_again_only_by_its_labeler(labeler_client):
    ranking_task()
    owner, other = labeler_client(), labeler_client()
    item = next_work(owner).json()
    again = owner.get(f"/api/assignments/{item['id']}/").json()
    assert again["responses"] == item["responses"]
    assert other.get(f"/api/assignments/{item['id']}/").status_code == 404


def test_the_work_item_carries_the_current_guideline(labeler_client):
    from tests.support.builders import published_guideline

    version = published_guideline(body="Be helpful.")
    ranking_task()
    item = next_work(labeler_client()).json()
    assert item["guideline_version"] == {"id": version.pk, "guideline_name": version.guideline.name, "number": 1,
                                         "body": "Be helpful."}


def test_expire_leases_marks_only_leases_that_ran_out(labeler_client):
    from labeling.assignment import expire_leases

    ranking_task()
    ranking_task()
    late, current = labeler_client(), labeler_client()
    stale = next_work(late).json()
    fresh = next_work(current).json()
    Assignment.objects.filter(pk=stale["id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_leases() == 1
    assert Assignment.objects.get(pk=stale["id"]).state == AssignmentState.EXPIRED
    assert Assignment.objects.get(pk=fresh["id"]).state == AssignmentState.LEASED
    assert next_work(late).json()["id"] == stale["id"]  # an expired row is re-leased when they come back
