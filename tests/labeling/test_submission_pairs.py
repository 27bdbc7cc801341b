"""After a ranking is saved its pairs are expanded by a worker, through the real broker; with the
broker down the ranking is still saved and acknowledged, and the sweep expands it later."""


import pytest

from labeling.models import ComparisonPair, Ranking
from labeling.tasks import sweep_unexpanded_rankings
from tests.support.builders import client_as, next_work, ranking_task, submit
from tests.support.waiting import wait_for
from tests.support.workers import broker_down as support_broker_down


@pytest.fixture
def broker_is_down():
    with support_broker_down():
        yield


@pytest.mark.slow
@pytest.mark.django_db
def test_a_ranking_is_saved_and_acknowledged_while_the_broker_is_down(broker_is_down, django_capture_on_commit_callbacks):
    ranking_task(k=3)
    client = client_as("labeler")
    item = next_work(client).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, item, ranks=[1, 2, 3])
    assert response.status_code == 201
    ranking = Ranking.objects.get(pk=response.json()["id"])
    assert ranking.pairs_expanded_at is None and not ComparisonPair.objects.exists()
    assert sweep_unexpanded_rankings() == 3  # what the periodic sweep does once it runs
    assert ComparisonPair.objects.filter(ranking=ranking).count() == 3


@pytest.mark.slow
def test_a_worker_expands_the_pairs_of_a_submitted_ranking(start_worker):
    start_worker(queues="default")
    ranking_task(k=4)
    client = client_as("labeler")
    item = next_work(client).json()
    response = submit(client, item, ranks=[1, 2, 2, 3])
    assert response.status_code == 201
    wait_for(lambda: ComparisonPair.objects.count() == 5, timeout=30, message="5 pairs (C(4,2) minus one tie)")
    assert Ranking.objects.get().pairs_expanded_at is not None
