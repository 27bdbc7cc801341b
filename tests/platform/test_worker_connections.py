"""The Celery worker keeps its database connection from task to task (each pair expansion used to
connect afresh), yet still replaces one that broke or outlived CONN_MAX_AGE, as Django does between
requests. Driven through Celery's own Django fixup and the task signals, as a worker runs them."""

import time

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from celery_app import app
from labeling.models import Ranking
from labeling.tasks import expand_ranking_pairs

pytestmark = pytest.mark.django_db(transaction=True)


def run_task(fixup, body):
    task = app.tasks[expand_ranking_pairs.name]
    fixup.on_task_prerun(sender=task)  # the fixup connects first, at worker start; ours at import
    signals.task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    body()
    signals.task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")
    fixup.on_task_postrun(sender=task)


@pytest.fixture
def worker_connection():
    """The test database connection as a worker holds it, with a 10-minute CONN_MAX_AGE."""
    connection.close()
    saved = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.ensure_connection()
    yield DjangoWorkerFixup(app)
    connection.settings_dict["CONN_MAX_AGE"] = saved
    connection.close()


def count_rankings():
    Ranking.objects.count()


def test_one_connection_serves_many_tasks(worker_connection):
    first = connection.connection
    for _ in range(5):
        run_task(worker_connection, count_rankings)
    assert connection.connection is first


def test_a_broken_connection_is_replaced(worker_connection):
    """PostgreSQL: the server ends the worker's backend mid-task. (An SQLite file connection can't
    break that way; there the settings keep CONN_MAX_AGE at 0, tested below.)"""
    if connection.vendor != "postgresql":
        return
    first = connection.connection
    pid = connection.connection.info.backend_pid

    def break_it():
        from django.db import DatabaseError, connections
        other = connections.create_connection("default")
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits until it has gone
        other.close()
        try:
            count_rankings()
        except DatabaseError:  # the task fails; Celery would retry it
            pass
    run_task(worker_connection, break_it)
    run_task(worker_connection, count_rankings)
    assert connection.connection is not None and connection.connection is not first


def test_sqlite_connects_per_task_as_its_settings_say():
    """SQLite keeps CONN_MAX_AGE at 0 (a file, no connection cost): one connection per task, as before."""
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    first = connection.connection
    run_task(DjangoWorkerFixup(app), count_rankings)
    assert connection.connection is not first


def test_an_old_connection_is_replaced(worker_connection):
    first = connection.connection
    connection.close_at = time.monotonic() - 1
    run_task(worker_connection, count_rankings)
    run_task(worker_connection, count_rankings)
    assert connection.connection is not first
