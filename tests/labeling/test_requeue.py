"""Re-queue on disagreement: a task whose labels disagree asks for one more labeler, up to the cap of
its batch's rule; the rule and each re-queue are visible to admins; bad settings are refused."""

import pytest
from django.contrib.auth.models import User

from labeling.models import Requeue, RequeueRule, Task
from labeling.requeue import task_agreement
from tests.support.builders import client_as, next_work, ranking_task, submit

pytestmark = pytest.mark.django_db


def batch_task(batch="round-1", required=2, k=3):
    task = ranking_task(k=k, labelers_required=required)
    Task.objects.filter(pk=task.pk).update(batch=batch)
    task.refresh_from_db()
    return task


def canonical(task):
    return list(task.task_responses.order_by("position").values_list("response_id", flat=True))


def label(task, order):
    """A fresh labeler takes the task from the queue and ranks its answers best-first in `order`."""
    client = client_as("labeler")
    response = next_work(client, prefetch=False)
    assert response.status_code == 200, response.content
    item = response.json()
    assert item["task"]["id"] == task.pk
    rank_of = {rid: i + 1 for i, rid in enumerate(order)}
    response = submit(client, item, ranks=[rank_of[r["id"]] for r in item["responses"]])
    assert response.status_code == 201, response.content
    task.refresh_from_db()
    return client


def rule(batch="round-1", min_agreement=0.7, max_labelers=4):
    return RequeueRule.objects.create(batch=batch, min_agreement=min_agreement, max_labelers=max_labelers)


def test_a_disagreeing_task_asks_for_one_more_labeler_at_a_time_up_to_the_cap():
    rule(max_labelers=4)
    task = batch_task()
    best_first = canonical(task)
    label(task, best_first)
    assert task.labelers_required == 2 and not Requeue.objects.exists()  # not complete yet: no verdict
    label(task, best_first[::-1])  # every pair reversed: agreement 0/3
    assert (task.labelers_required, task.completed_count) == (3, 2)
    label(task, best_first)  # 3 labelers, agreement 3/9 = 0.33: one more
    assert (task.labelers_required, task.completed_count) == (4, 3)
    label(task, best_first[::-1])  # 4 labelers: at the cap, whatever they say
    assert (task.labelers_required, task.completed_count) == (4, 4)
    requeues = list(Requeue.objects.filter(task=task).values_list("labelers_before", "agreement", "compared_pairs"))
    assert requeues == [(2, 0.0, 3), (3, pytest.approx(1 / 3), 9)]
    assert next_work(client_as("labeler")).status_code == 204  # complete: off the queue


def test_agreeing_labels_complete_the_task_as_asked():
    rule()
    task = batch_task()
    label(task, canonical(task))
    label(task, canonical(task))
    assert (task.labelers_required, task.completed_count) == (2, 2)
    assert not Requeue.objects.exists()


def test_agreement_exactly_at_the_threshold_is_enough():
    rule(min_agreement=2 / 3)
    task = batch_task()
    a, b, c = canonical(task)
    label(task, [a, b, c])
    label(task, [b, a, c])  # a-c and b-c agree, a-b does not: 2/3
    assert task_agreement(task.pk) == (2, 3)
    assert task.labelers_required == 2


@pytest.mark.parametrize("case", ["no rule", "rule turned off", "other batch", "gold task"])
def test_without_an_enabled_rule_for_the_batch_nothing_is_requeued(case):
    if case != "no rule":
        created = rule(batch="other" if case == "other batch" else "round-1")
        created.enabled = case != "rule turned off"
        created.save()
    task = batch_task()
    if case == "gold task":
        Task.objects.filter(pk=task.pk).update(gold_ranks={str(r): i + 1 for i, r in enumerate(canonical(task))})
    label(task, canonical(task))
    label(task, canonical(task)[::-1])
    assert (task.labelers_required, task.completed_count) == (2, 2)
    assert not Requeue.objects.exists()


# ---- the admin API ------------------------------------------------------------------------------------


def test_admins_set_a_rule_and_see_each_requeue():
    admin = client_as("admin")
    task = batch_task()
    response = admin.post("/api/quality/requeue-rules/", {"batch": "round-1", "min_agreement": 0.5,
                                                          "max_labelers": 3}, format="json")
    assert response.status_code == 201, response.content
    rule_id = response.json()["id"]
    label(task, canonical(task))
    label(task, canonical(task)[::-1])

    listed = admin.get("/api/quality/requeues/", {"batch": "round-1"}).json()["results"]
    assert [(r["task"], r["rule"], r["agreement"], r["labelers_before"], r["labelers_after"], r["min_agreement"],
             r["max_labelers"]) for r in listed] == [(task.pk, rule_id, 0.0, 2, 3, 0.5, 3)]
    assert admin.get("/api/quality/requeues/", {"batch": "elsewhere"}).json()["results"] == []
    shown = admin.get(f"/api/quality/requeue-rules/{rule_id}/").json()
    assert (shown["requeues"], shown["updated_by"]) == (1, admin.user.pk)

    response = admin.patch(f"/api/quality/requeue-rules/{rule_id}/", {"enabled": False}, format="json")
    assert response.status_code == 200 and response.json()["enabled"] is False


@pytest.mark.parametrize("body, field", [
    ({"min_agreement": 1.5}, "min_agreement"),
    ({"min_agreement": -0.1}, "min_agreement"),
    ({"max_labelers": 1}, "max_labelers"),
    ({"max_labelers": 101}, "max_labelers"),
    ({"max_labelers": 2}, "max_labelers"),  # the batch's tasks already ask for 3
    ({"min_agreement": "lots"}, "min_agreement"),
    ({"batch": "taken"}, "batch"),
])
def test_bad_settings_are_refused_naming_the_field(body, field):
    batch_task(required=3)
    RequeueRule.objects.create(batch="taken", min_agreement=0.5, max_labelers=3)
    admin = client_as("admin")
    response = admin.post("/api/quality/requeue-rules/",
                          {"batch": "round-1", "min_agreement": 0.5, "max_labelers": 4, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert RequeueRule.objects.count() == 1


def test_a_cap_below_the_tasks_first_round_is_refused_on_update_too():
    admin = client_as("admin")
    created = rule(max_labelers=4)
    batch_task(required=3)
    response = admin.patch(f"/api/quality/requeue-rules/{created.pk}/", {"max_labelers": 2}, format="json")
    assert response.status_code == 400 and "max_labelers" in response.json()
    created.refresh_from_db()
    assert created.max_labelers == 4


def test_only_admins_see_or_change_the_rules():
    rule()
    for role in ("labeler", "ml_engineer"):
        client = client_as(role)
        assert client.get("/api/quality/requeue-rules/").status_code == 403
        assert client.get("/api/quality/requeues/").status_code == 403
        assert client.post("/api/quality/requeue-rules/", {"batch": "x", "min_agreement": 0.5, "max_labelers": 3},
                           format="json").status_code == 403


def test_django_admin_lists_rules_and_requeues_and_refuses_a_bad_cap(client):
    superuser = User.objects.create_superuser("root", "root@example.com", "x-Long-passw0rd!")
    client.force_login(superuser)
    batch_task(required=3)
    assert client.get("/admin/labeling/requeuerule/").status_code == 200
    assert client.get("/admin/labeling/requeue/").status_code == 200
    response = client.post("/admin/labeling/requeuerule/add/", {"batch": "round-1", "enabled": "on",
                                                                 "min_agreement": "0.5", "max_labelers": "2"})
    assert response.status_code == 200 and "below the 3 labelers" in response.content.decode()
    assert not RequeueRule.objects.exists()
