"""The sweep: a ranking submitted while the broker was down still gets its pairs."""

import pytest
from django.utils import timezone

import celery_app
from labeling.models import Assignment, ComparisonPair, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.ranking import create_ranking_task
from labeling.tasks import enqueue_pair_expansion, sweep_unexpanded_rankings
from tests.support.waiting import wait_for
from tests.support.workers import broker_down


def submit_ranking(labeler, ranks):
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    responses = [Response.objects.create(prompt=prompt, text=f"answer {i}", origin=Origin.HUMAN) for i in range(len(ranks))]
    task = create_ranking_task(prompt, responses)
    assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now())
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, ranks)])
    return ranking


@pytest.mark.django_db
def test_a_ranking_submitted_while_the_broker_is_down_is_expanded_by_the_sweep(make_user):
    labeler = make_user("labeler")
    with broker_down():
        ranking = submit_ranking(labeler, [1, 2, 2, 4])
        assert enqueue_pair_expansion(ranking.id) is False  # saved, not queued, no error raised
    assert not ComparisonPair.objects.filter(ranking=ranking).exists()

    assert sweep_unexpanded_rankings() == 5
    assert ComparisonPair.objects.filter(ranking=ranking).count() == 5
    assert sweep_unexpanded_rankings() == 0  # nothing left to do


@pytest.mark.django_db
def test_the_sweep_takes_a_fixed_number_of_queries_per_batch(make_user, django_assert_max_num_queries):
    labeler = make_user("labeler")
    for _ in range(25):
        submit_ranking(labeler, [1, 2, 3])
    with django_assert_max_num_queries(8):
        assert sweep_unexpanded_rankings() == 25 * 3
    assert not Ranking.objects.filter(pairs_expanded_at__isnull=True).exists()


def test_celery_beat_runs_the_sweep_every_minute():
    entry = celery_app.app.conf.beat_schedule["sweep-unexpanded-rankings"]
    assert entry["task"] == "labeling.tasks.sweep_unexpanded_rankings" and entry["schedule"] <= 60


@pytest.mark.slow
def test_a_real_worker_runs_the_sweep_after_the_broker_comes_back(start_worker, make_user):
    labeler = make_user("labeler")
    with broker_down():
        ranking = submit_ranking(labeler, [1, 2, 3])
        assert enqueue_pair_expansion(ranking.id) is False
    start_worker(queues="default")
    assert sweep_unexpanded_rankings.delay().get(timeout=60) == 3
    wait_for(lambda: ComparisonPair.objects.filter(ranking=ranking).count() == 3, message="swept pairs")
