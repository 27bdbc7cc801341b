"""Pair expansion: a ranking of K answers gives C(K,2) pairs minus its tied ones, written once."""

from math import comb

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import Assignment, ComparisonPair, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.pairs import expand_rankings, pairs_from_ranks
from labeling.ranking import create_ranking_task
from labeling.tasks import expand_ranking_pairs

pytestmark = pytest.mark.django_db


def submit_ranking(labeler, ranks, unrankable=False):
    """A submitted ranking of len(ranks) fresh answers with these ranks; returns (ranking, responses)."""
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    responses = [Response.objects.create(prompt=prompt, text=f"answer {i}", origin=Origin.HUMAN) for i in range(len(ranks))]
    task = create_ranking_task(prompt, responses)
    assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now())
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler, unrankable=unrankable)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, ranks)])
    return ranking, responses


def tied_pairs(ranks):
    return sum(comb(ranks.count(r), 2) for r in set(ranks))


CASES = [(k, list(range(1, k + 1))) for k in range(2, 10)] + [
    (2, [1, 1]), (3, [1, 1, 3]), (4, [1, 2, 2, 4]), (5, [1, 1, 3, 3, 5]), (6, [1, 2, 2, 2, 5, 6]),
    (7, [1, 1, 1, 1, 1, 1, 1]), (8, [1, 2, 3, 3, 5, 5, 7, 8]), (9, [1, 1, 3, 3, 5, 5, 7, 7, 9]),
]


@pytest.mark.parametrize("k,ranks", CASES, ids=[f"K{k}-{'-'.join(map(str, r))}" for k, r in CASES])
def test_a_ranking_of_k_answers_gives_c_k_2_pairs_minus_its_ties(make_user, k, ranks):
    ranking, responses = submit_ranking(make_user("labeler"), ranks)
    assert expand_rankings([ranking.id]) == comb(k, 2) - tied_pairs(ranks)
    rank_of = {r.id: rank for r, rank in zip(responses, ranks)}
    pairs = list(ComparisonPair.objects.filter(ranking=ranking).values_list("chosen_id", "rejected_id"))
    assert len(pairs) == comb(k, 2) - tied_pairs(ranks)
    assert all(rank_of[chosen] < rank_of[rejected] for chosen, rejected in pairs)
    assert sorted(pairs) == sorted(pairs_from_ranks(rank_of))


def test_an_unrankable_ranking_gives_no_pairs_but_counts_as_expanded(make_user):
    ranking, _ = submit_ranking(make_user("labeler"), [1, 2, 3], unrankable=True)
    assert expand_rankings([ranking.id]) == 0
    ranking.refresh_from_db()
    assert ranking.pairs_expanded_at is not None


def test_a_redelivered_expansion_task_writes_nothing_new(make_user):
    ranking, _ = submit_ranking(make_user("labeler"), [1, 2, 2, 4])
    assert expand_ranking_pairs.apply(args=(ranking.id,)).get() == 5
    first = list(ComparisonPair.objects.filter(ranking=ranking).values_list("id", "chosen_id", "rejected_id"))
    assert expand_ranking_pairs.apply(args=(ranking.id,)).get() == 0  # the same message delivered again
    assert expand_rankings([ranking.id, ranking.id]) == 0
    assert list(ComparisonPair.objects.filter(ranking=ranking).values_list("id", "chosen_id", "rejected_id")) == first


def test_a_redelivery_stops_at_the_mark_without_reading_the_items(make_user):
    ranking, _ = submit_ranking(make_user("labeler"), [1, 2, 3])
    expand_rankings([ranking.id])
    with CaptureQueriesContext(connection) as queries:
        assert expand_rankings([ranking.id]) == 0
    work = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(work) == 1 and work[0].startswith("UPDATE")


def test_pairs_written_again_despite_a_lost_mark_are_not_duplicated(make_user):
    """The unique constraint with ON CONFLICT DO NOTHING still guards what the mark skips."""
    ranking, _ = submit_ranking(make_user("labeler"), [1, 2, 2, 4])
    assert expand_rankings([ranking.id]) == 5
    Ranking.objects.filter(pk=ranking.pk).update(pairs_expanded_at=None)
    assert expand_rankings([ranking.id]) == 0
    assert ComparisonPair.objects.filter(ranking=ranking).count() == 5


def test_bulk_expansion_writes_every_rankings_pairs_in_one_call(make_user):
    labeler = make_user("labeler")
    rankings = [submit_ranking(labeler, ranks)[0] for ranks in ([1, 2], [1, 2, 3], [1, 1, 2, 3])]
    already = rankings[0]
    expand_rankings([already.id])
    assert expand_rankings([r.id for r in rankings]) == 3 + 5
    assert ComparisonPair.objects.count() == 1 + 3 + 5


def test_the_expansion_task_is_retried_on_failure_and_acknowledged_late():
    assert expand_ranking_pairs.autoretry_for == (Exception,)
    assert expand_ranking_pairs.max_retries >= 3 and expand_ranking_pairs.acks_late
