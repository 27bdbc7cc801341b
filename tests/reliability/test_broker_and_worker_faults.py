"""Broker and worker faults, with real processes: gunicorn on the test database, a private
redis-server this test may stop, and Celery worker subprocesses it may SIGKILL.

- Broker down when a ranking is submitted: the ranking is saved and acknowledged (201, quickly); its
  pairs appear once the broker is back and the sweep runs.
- A worker SIGKILLed while it expands pairs: the restarted worker takes the queued tasks, the sweep
  recovers the one the dead worker held, every ranking ends up with exactly its pairs, none twice
  (a re-delivered or duplicate task writes nothing).
  (A SIGKILLed training job resuming from its checkpoint is tested in tests/training/test_jobs*.py.)
- Racing retries of one submission (same key, or a network retry without one): exactly one ranking.
"""

import threading
import time
from itertools import combinations

import pytest
import requests
from celery import Celery
from django.db.models import Count
from django.utils import timezone
from kombu import Connection
from rest_framework.authtoken.models import Token

from labeling.models import Assignment, ComparisonPair, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.ranking import create_ranking_task
from tests.reliability.services import LiveServer, platform_env
from tests.support.waiting import wait_for
from tests.support.workers import database_url_for_subprocess


def send(redis, task_name, *args):
    """Queue a task on the private broker with a bare Celery client. (An explicit connection: Celery
    prefers $CELERY_BROKER_URL, the session's broker, over a broker given to the app.)"""
    with Connection(redis.url) as connection:
        Celery("fault-test", set_as_current=False).send_task(task_name, args=args, queue="default", connection=connection)


@pytest.fixture
def live_server_on_private_broker(transactional_db, private_redis):
    env = platform_env(DATABASE_URL=database_url_for_subprocess(), REDIS_URL=private_redis.url,
                       CELERY_BROKER_URL=private_redis.url, CELERY_RESULT_BACKEND=private_redis.url, DEBUG="1")
    server = LiveServer(env, workers=1, threads=4).wait_ready()
    yield server
    server.stop()


def ranking_tasks(count, k):
    tasks = []
    for i in range(count):
        prompt = Prompt.objects.create(messages=[{"role": "user", "content": f"q{i}"}], text=f"q{i}")
        answers = [Response.objects.create(prompt=prompt, text=f"answer {j}", origin=Origin.HUMAN) for j in range(k)]
        tasks.append(create_ranking_task(prompt, answers))
    return tasks


def api(make_user, role="labeler"):
    user = make_user(role)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    return user, session


@pytest.mark.slow
def test_broker_down_at_submission_the_ranking_is_saved_acknowledged_and_expanded_later(
        live_server_on_private_broker, private_redis, make_user, start_worker):
    server = live_server_on_private_broker
    ranking_tasks(1, k=4)
    _, labeler = api(make_user)
    item = labeler.post(server.url + "/api/work/next/", json={"kind": "ranking"}, timeout=30).json()

    private_redis.stop()
    started = time.monotonic()
    response = labeler.post(server.url + f"/api/assignments/{item['id']}/ranking/", timeout=30, json={
        "ranks": [{"response": r["id"], "rank": rank} for r, rank in zip(item["responses"], (1, 2, 2, 4))]})
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text
    assert elapsed < 5, f"a dead broker must not hold the labeler up ({elapsed:.1f}s)"
    ranking = Ranking.objects.get(pk=response.json()["id"])
    assert ranking.items.count() == 4 and ranking.pairs_expanded_at is None
    assert not ComparisonPair.objects.filter(ranking=ranking).exists()

    private_redis.start()  # same port: the broker comes back
    start_worker(queues="default", extra_env={"CELERY_BROKER_URL": private_redis.url, "REDIS_URL": private_redis.url,
                                              "CELERY_RESULT_BACKEND": private_redis.url})
    send(private_redis, "labeling.tasks.sweep_unexpanded_rankings")  # what celery beat does every minute
    wait_for(lambda: ComparisonPair.objects.filter(ranking=ranking).count() == 5, timeout=60, message="swept pairs")
    ranking.refresh_from_db()
    assert ranking.pairs_expanded_at is not None


def submitted_rankings(tasks, labeler, rng_ranks):
    """Rankings as if submitted (the pairs are what is under test); returns {ranking id: expected pairs}."""
    expected = {}
    for task, ranks in zip(tasks, rng_ranks):
        order = list(task.task_responses.values_list("response_id", flat=True))
        assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now(),
                                               display_order=order)
        ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler, display_order=order)
        RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response_id=r, rank=k) for r, k in zip(order, ranks)])
        expected[ranking.pk] = sum(1 for a, b in combinations(ranks, 2) if a != b)
    return expected


@pytest.mark.slow
def test_a_worker_killed_during_pair_expansion_leaves_no_duplicates_and_the_work_resumes(private_redis, make_user, start_worker):
    tasks = ranking_tasks(80, k=9)
    labeler = make_user("labeler")
    pattern = [[1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 4, 4, 6, 7, 8, 9], [1, 2, 2, 2, 5, 6, 6, 8, 9]]
    expected = submitted_rankings(tasks, labeler, [pattern[i % 3] for i in range(len(tasks))])
    broker_env = {"CELERY_BROKER_URL": private_redis.url, "REDIS_URL": private_redis.url, "CELERY_RESULT_BACKEND": private_redis.url}

    for ranking_id in expected:
        send(private_redis, "labeling.tasks.expand_ranking_pairs", ranking_id)
    worker = start_worker(queues="default", extra_env=broker_env)
    expanded = lambda: Ranking.objects.filter(pairs_expanded_at__isnull=False).count()  # noqa: E731
    wait_for(lambda: expanded() >= 5, timeout=90, interval=0.02, message="expansion under way")
    worker.kill()
    at_kill = expanded()
    assert at_kill < len(expected), "the worker was killed before it finished"

    # The new worker takes the queued tasks. The one the dead worker held unacknowledged comes back
    # once kombu restores it after the visibility timeout (this took ~100 s here even at 3 s), so the
    # sweep, which celery beat runs every minute, is what gets it done promptly.
    start_worker(queues="default", extra_env={**broker_env, "CELERY_VISIBILITY_TIMEOUT": "3"})
    wait_for(lambda: expanded() >= len(expected) - 1, timeout=120, message="the queued rankings expanded after the restart")
    send(private_redis, "labeling.tasks.sweep_unexpanded_rankings")
    wait_for(lambda: expanded() == len(expected), timeout=60, message="every ranking expanded after the sweep")

    counts = dict(ComparisonPair.objects.values_list("ranking_id").annotate(n=Count("id")))
    assert counts == {pk: n for pk, n in expected.items() if n}
    assert not ComparisonPair.objects.values("ranking_id", "chosen_id", "rejected_id").annotate(n=Count("id")).filter(n__gt=1)
    before = ComparisonPair.objects.count()
    send(private_redis, "labeling.tasks.sweep_unexpanded_rankings")
    for ranking_id in list(expected)[:20]:  # a duplicate delivery writes nothing
        send(private_redis, "labeling.tasks.expand_ranking_pairs", ranking_id)
    time.sleep(3)
    assert ComparisonPair.objects.count() == before


@pytest.mark.slow
def test_racing_retries_of_one_submission_save_exactly_one_ranking(live_server_on_private_broker, make_user):
    server = live_server_on_private_broker
    ranking_tasks(2, k=4)
    _, labeler = api(make_user)
    results = []

    def submit(item, key):
        headers = {"Idempotency-Key": key} if key else {}
        body = {"ranks": [{"response": r["id"], "rank": n} for n, r in enumerate(item["responses"], 1)]}
        results.append((key, requests.post(server.url + f"/api/assignments/{item['id']}/ranking/", json=body,
                                           headers={**labeler.headers, **headers}, timeout=30)))

    for key in ("same-key", None):  # a client retrying with its key; a network-level retry without one
        item = labeler.post(server.url + "/api/work/next/", json={"kind": "ranking"}, timeout=30).json()
        threads = [threading.Thread(target=submit, args=(item, key)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Ranking.objects.filter(assignment_id=item["id"]).count() == 1

    keyed = [r for k, r in results if k]
    assert sorted(r.status_code for r in keyed) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in keyed}) == 1, "every retry gets the same saved ranking back"
    unkeyed = sorted(r.status_code for k, r in results if not k)
    assert unkeyed == [201] + [409] * 5, "without a key a duplicate is refused, not saved"
