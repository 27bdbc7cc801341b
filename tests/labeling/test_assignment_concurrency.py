"""Many labelers asking for work at once, each thread on its own database connection. Each check is
one that a broken claim fails (seen by removing the row lock on PostgreSQL and BEGIN IMMEDIATE on
SQLite in a scratch copy):

- no task is ever leased beyond what it needs: while the labelers work, a monitor thread reads every
  task's submitted labels plus live leases in ONE statement (one snapshot) and records any task where
  they pass labelers_required;
- nobody gets a task twice: once a labeler has submitted a task, no later answer to their `next` is
  that task (checked per labeler, from what each of their requests returned);
- every request succeeds (a slot handed out twice shows as a 409 at submission, a claim that trips a
  unique constraint as a 500), and every task ends with exactly the labels it needs.

Runs on whichever database the suite uses (SQLite: BEGIN IMMEDIATE serialises the claims; PostgreSQL:
FOR NO KEY UPDATE SKIP LOCKED). The unique constraints on (task, labeler) of assignments and rankings
are a backstop under these checks, not what they rely on.
"""

import threading
from collections import Counter, defaultdict

import pytest
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import Assignment, AssignmentState, Ranking, Task
from tests.support.builders import client_as, next_work, ranking_task, submit
from tests.support.concurrency import run_together

LABELERS = 12
TASKS = 10
REQUIRED = 3


def overleased():
    """Tasks whose submitted labels plus live leases pass labelers_required, read in one statement."""
    live = (Assignment.objects.filter(task=OuterRef("pk"), state=AssignmentState.LEASED, lease_expires_at__gt=timezone.now())
            .order_by().values("task").annotate(n=Count("id")).values("n"))
    return list(Task.objects.annotate(live=Coalesce(Subquery(live, output_field=IntegerField()), Value(0)))
                .filter(live__gt=F("labelers_required") - F("completed_count"))
                .values_list("pk", "completed_count", "live"))


class Monitor:
    """Checks `overleased()` over and over on its own connection until stopped."""

    def __init__(self):
        self.violations, self.checks = [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self):
        try:
            while not self._stop.is_set():
                self.violations += overleased()
                self.checks += 1
                self._stop.wait(0.005)
        finally:
            connection.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


class Seen:
    """What the labelers' requests returned, recorded under a lock (the threads share it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.submitted = defaultdict(list)  # labeler -> task ids they submitted, in order
        self.again = []                     # (labeler, task) handed out after that labeler submitted it

    def answer(self, labeler, response):
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                body = response.json()
                for item in (body, body.get("next")):
                    if item and item["task"]["id"] in self.submitted[labeler]:
                        self.again.append((labeler, item["task"]["id"]))

    def submission(self, labeler, task_id, response):
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 201:
                self.submitted[labeler].append(task_id)


@pytest.mark.django_db(transaction=True)
def test_concurrent_next_never_overleases_nor_repeats_and_every_task_gets_exactly_its_labels():
    tasks = [ranking_task(k=4, labelers_required=REQUIRED, text=f"prompt {i}") for i in range(TASKS)]
    clients = [client_as("labeler") for _ in range(LABELERS)]
    seen = Seen()
    first = {}

    def ask(client):  # round 1: everyone asks at the same instant (each leases a task and the next)
        def work():
            response = next_work(client)
            seen.answer(client.user.pk, response)
            first[client.user.pk] = response.json()  # one key per thread
        return work

    def label(client):  # then everyone works through the queue at once until nothing is left
        def work():
            item = first[client.user.pk]
            while True:
                response = submit(client, item)
                seen.submission(client.user.pk, item["task"]["id"], response)
                assert response.status_code == 201, response.content
                response = next_work(client, prefetch=False)
                seen.answer(client.user.pk, response)
                if response.status_code == 204:
                    return
                assert response.status_code == 200, response.content
                item = response.json()
        return work

    with Monitor() as monitor:
        run_together([ask(c) for c in clients])
        assert seen.statuses == {200: LABELERS}
        assert overleased() == []
        run_together([label(c) for c in clients])
    assert monitor.checks > 10 and monitor.violations == []
    assert seen.again == []
    assert set(seen.statuses) == {200, 201, 204} and seen.statuses[201] == TASKS * REQUIRED
    assert all(len(ids) == len(set(ids)) for ids in seen.submitted.values())
    assert sorted(Task.objects.filter(pk__in=[t.pk for t in tasks]).values_list("completed_count", flat=True)) == [REQUIRED] * TASKS
    labels = list(Ranking.objects.values_list("task_id", "labeler_id"))
    assert Counter(task for task, _ in labels) == {t.pk: REQUIRED for t in tasks}
    assert len(set(labels)) == len(labels)
    assert not Assignment.objects.filter(state=AssignmentState.LEASED).exists()
