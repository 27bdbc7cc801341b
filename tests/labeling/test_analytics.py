"""Bias analytics: the answer shown first and the longer answer, per labeler and overall."""

import pytest
from django.utils import timezone

from labeling.analytics import bias_report
from labeling.models import Assignment, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.ranking import create_ranking_task

pytestmark = pytest.mark.django_db


def ranked(labeler, texts, ranks, shown):
    """A ranking of answers with these texts and ranks, shown in the order of indexes `shown`."""
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    responses = [Response.objects.create(prompt=prompt, text=t, origin=Origin.HUMAN) for t in texts]
    task = create_ranking_task(prompt, responses, labelers_required=2)
    order = [responses[i].id for i in shown]
    assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now(),
                                           display_order=order)
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler, display_order=order)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, ranks)])


def test_a_labeler_who_always_picks_the_first_shown_and_longest_answer(make_user):
    eager = make_user("labeler")
    ranked(eager, ["a long answer", "short", "mid one"], [1, 3, 2], shown=[0, 2, 1])
    ranked(eager, ["x", "a much longer one"], [2, 1], shown=[1, 0])
    row = bias_report()["labelers"][0]
    assert row["username"] == eager.username
    assert row["rankings"] == 2
    assert row["first_shown_best"] == 1.0
    assert row["first_shown_best_by_chance"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert (row["earlier_shown_preferred"], row["position_pairs"]) == (1.0, 4)
    assert (row["longer_preferred"], row["length_pairs"]) == (1.0, 4)


def test_ties_equal_lengths_and_missing_display_order(make_user):
    careful, importer = make_user("labeler"), make_user(None)
    # The first-shown answer ties for best; "bb" vs "cc" have equal length; a/b are tied (no pair).
    ranked(careful, ["bb", "cc", "a"], [1, 1, 3], shown=[1, 0, 2])
    ranked(importer, ["short", "longer"], [1, 2], shown=[])  # no display order: counts for length only
    report = bias_report()
    rows = {row["username"]: row for row in report["labelers"]}
    assert rows[careful.username]["first_shown_best"] == 1.0
    assert rows[careful.username]["first_shown_best_by_chance"] == pytest.approx(2 / 3)
    assert rows[careful.username]["earlier_shown_preferred"] == 1.0 and rows[careful.username]["position_pairs"] == 2
    assert rows[importer.username]["rankings"] == 0 and rows[importer.username]["first_shown_best"] is None
    assert rows[importer.username]["longer_preferred"] == 0.0
    overall = report["overall"]
    assert (overall["rankings"], overall["length_pairs"], overall["longer_preferred"]) == (1, 3, 2 / 3)


def test_bias_api_is_for_admins(make_user, api_client_for):
    ranked(make_user("labeler"), ["a", "bb"], [1, 2], shown=[0, 1])
    assert api_client_for(make_user("labeler")).get("/api/quality/bias/").status_code == 403
    body = api_client_for(make_user("admin")).get("/api/quality/bias/").json()
    assert body["overall"]["earlier_shown_preferred"] == 1.0 and body["overall"]["longer_preferred"] == 0.0
