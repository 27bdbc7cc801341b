"""Re-queue under concurrent submissions, each labeler a thread on its own database connection: a
disagreeing task gets one more labeler per round and never more than the cap; an agreeing one gets
exactly what it asked for. Meant for PostgreSQL (the task row lock of labeling.requeue's argument);
on SQLite BEGIN IMMEDIATE serialises the submissions."""

from collections import Counter
from itertools import permutations

import pytest
from django.db.models import F

from labeling.models import Ranking, Requeue, RequeueRule, Task
from tests.support.builders import client_as, next_work, ranking_task, submit
from tests.support.concurrency import run_together

LABELERS = 8
CONTESTED, AGREED = 5, 4
REQUIRED, CAP = 2, 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_requeue_each_disagreeing_task_up_to_the_cap_and_no_further():
    # Distinct orders of 4 answers agree on at most 5 of their 6 pairs, so any two labelers of a
    # contested task pool below 0.9; on agreed tasks everyone gives the canonical order.
    RequeueRule.objects.create(batch="b", min_agreement=0.9, max_labelers=CAP)
    tasks = [ranking_task(k=4, labelers_required=REQUIRED, text=f"contested {i}") for i in range(CONTESTED)]
    tasks += [ranking_task(k=4, labelers_required=REQUIRED, text=f"agreed {i}") for i in range(AGREED)]
    Task.objects.update(batch="b")
    clients = [client_as("labeler") for _ in range(LABELERS)]
    orders = list(permutations(range(4)))[::3]  # 8 distinct orders, one per labeler
    canonical = {t.pk: list(t.task_responses.order_by("position").values_list("response_id", flat=True)) for t in tasks}
    contested = {t.pk for t in tasks[:CONTESTED]}

    def label(index, client):
        def work():
            while True:
                response = next_work(client, prefetch=False)
                if response.status_code == 204:
                    return
                assert response.status_code == 200, response.content
                item = response.json()
                ids = canonical[item["task"]["id"]]
                order = [ids[i] for i in orders[index]] if item["task"]["id"] in contested else ids
                rank_of = {rid: n + 1 for n, rid in enumerate(order)}
                response = submit(client, item, ranks=[rank_of[r["id"]] for r in item["responses"]])
                assert response.status_code == 201, response.content
        return work

    # A re-queue can reopen a task after every labeler free to take it has already stopped asking:
    # go round again until the queue stays empty.
    for _ in range(CAP + 1):
        run_together([label(i, c) for i, c in enumerate(clients)])
        if not Task.objects.filter(completed_count__lt=F("labelers_required")).exists():
            break

    final = {pk: (required, done) for pk, required, done in
             Task.objects.values_list("id", "labelers_required", "completed_count")}
    assert final == {t.pk: (CAP, CAP) if t.pk in contested else (REQUIRED, REQUIRED) for t in tasks}
    assert Counter(Ranking.objects.values_list("task_id", flat=True)) == {
        t.pk: CAP if t.pk in contested else REQUIRED for t in tasks}
    rounds = sorted(Requeue.objects.values_list("task_id", "labelers_before"))
    assert rounds == sorted((pk, n) for pk in contested for n in range(REQUIRED, CAP))
