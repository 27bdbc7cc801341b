"""A Celery round trip through the real broker with a worker process the test starts (not eager)."""

import pytest

from labeling.models import ComparisonPair, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.ranking import create_ranking_task
from tests.support.waiting import wait_for
import celery_app


def test_routing_puts_training_on_gpu_and_labeling_on_default():
    router = celery_app.app.amqp.router
    assert router.route({}, "training.tasks.run_job")["queue"].name == "gpu"
    assert router.route({}, "labeling.tasks.expand_ranking_pairs")["queue"].name == "default"
    assert celery_app.app.conf.task_acks_late and celery_app.app.conf.task_reject_on_worker_lost
    assert not celery_app.app.conf.task_always_eager


@pytest.mark.slow
def test_pair_expansion_round_trip_through_a_real_worker(start_worker, make_user):
    labeler = make_user("labeler")
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "Name a colour."}], text="Name a colour.")
    responses = [Response.objects.create(prompt=prompt, text=t, origin=Origin.HUMAN) for t in ("red", "blue", "green")]
    task = create_ranking_task(prompt, responses)
    from labeling.models import Assignment
    from django.utils import timezone

    assignment = Assignment.objects.create(task=task, labeler=labeler, lease_expires_at=timezone.now(), state="submitted")
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, (1, 2, 2))])

    start_worker(queues="default")
    from labeling.tasks import expand_ranking_pairs

    result = expand_ranking_pairs.delay(ranking.id)
    assert result.get(timeout=60) == 2
    pairs = wait_for(lambda: list(ComparisonPair.objects.filter(ranking=ranking).values_list("chosen_id", "rejected_id")), message="pairs")
    assert sorted(pairs) == sorted([(responses[0].id, responses[1].id), (responses[0].id, responses[2].id)])
