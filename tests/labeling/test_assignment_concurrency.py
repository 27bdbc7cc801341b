"""Many labelers asking for work at once, each thread on its own database connection: no task is
leased beyond what it needs, nobody gets a task twice, every task ends with exactly the labels it
needs. Runs on whichever database the suite uses (SQLite: BEGIN IMMEDIATE serialises the claims;
PostgreSQL: FOR NO KEY UPDATE SKIP LOCKED)."""

import threading
import traceback
from collections import Counter

import pytest
from django.db import connection

from labeling.models import Assignment, AssignmentState, Ranking, Task
from tests.labeling.test_api_builders import client_as, next_work, ranking_task, submit

LABELERS = 12
TASKS = 10
REQUIRED = 3


def run_together(workers):
    """Start every worker at the same moment; each closes its own connection when done."""
    barrier = threading.Barrier(len(workers))
    errors = []

    def wrap(work):
        try:
            barrier.wait()
            work()
        except BaseException:  # noqa: BLE001 (reported below, with where it happened)
            errors.append(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, "\n".join(errors)


def leases_per_task():
    return Counter(Assignment.objects.filter(state=AssignmentState.LEASED).values_list("task_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_next_never_overleases_and_every_task_gets_exactly_its_labels():
    tasks = [ranking_task(k=4, labelers_required=REQUIRED, text=f"prompt {i}") for i in range(TASKS)]
    clients = [client_as("labeler") for _ in range(LABELERS)]
    statuses = Counter()

    # Round 1: everyone asks at the same instant.
    first = {}

    def ask(client):
        def work():
            response = next_work(client)
            statuses[response.status_code] += 1
            first[client.user.pk] = response.json()
        return work

    run_together([ask(c) for c in clients])
    assert statuses == {200: LABELERS}
    assert max(leases_per_task().values()) <= REQUIRED
    assert len({(item["task"]["id"], uid) for uid, item in first.items()}) == LABELERS

    # Then everyone works through the queue at once: submit, ask again, until nothing is left.
    def label(client):
        def work():
            item = first[client.user.pk]
            while True:
                response = submit(client, item)
                statuses[response.status_code] += 1
                assert response.status_code == 201, response.content
                response = next_work(client, prefetch=False)
                statuses[response.status_code] += 1
                if response.status_code == 204:
                    return
                assert response.status_code == 200, response.content
                item = response.json()
        return work

    run_together([label(c) for c in clients])
    assert set(statuses) <= {200, 201, 204}
    for task in Task.objects.filter(pk__in=[t.pk for t in tasks]):
        assert task.completed_count == REQUIRED
    per_task = Counter(Ranking.objects.values_list("task_id", flat=True))
    assert per_task == {t.pk: REQUIRED for t in tasks}
    pairs = list(Ranking.objects.values_list("task_id", "labeler_id"))
    assert len(pairs) == len(set(pairs)) == TASKS * REQUIRED
    assert not Assignment.objects.filter(state=AssignmentState.LEASED).exists()
