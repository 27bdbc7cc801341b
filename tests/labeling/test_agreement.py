"""Agreement on hand-made cases: pairs ordered the same way, ties an outcome of their own, gold tasks."""

import pytest
from django.utils import timezone

from labeling.agreement import agreement_report, compare_ranks
from labeling.models import Assignment, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.ranking import create_ranking_task


def test_identical_rankings_agree_on_every_pair():
    assert compare_ranks({1: 1, 2: 2, 3: 3}, {1: 1, 2: 2, 3: 3}) == (3, 3)


def test_reversed_rankings_agree_on_no_pair():
    assert compare_ranks({1: 1, 2: 2, 3: 3}, {1: 3, 2: 2, 3: 1}) == (0, 3)


def test_one_swap_of_four_answers_disagrees_on_one_pair_of_six():
    assert compare_ranks({1: 1, 2: 2, 3: 3, 4: 4}, {1: 2, 2: 1, 3: 3, 4: 4}) == (5, 6)


def test_a_tie_agrees_only_with_a_tie():
    # a and b tied by the first labeler, ordered by the second: that pair disagrees.
    assert compare_ranks({"a": 1, "b": 1, "c": 3}, {"a": 1, "b": 2, "c": 3}) == (2, 3)
    assert compare_ranks({"a": 1, "b": 1, "c": 3}, {"a": 2, "b": 2, "c": 1}) == (1, 3)  # only the tie agrees


def test_only_answers_both_ranked_are_compared():
    assert compare_ranks({1: 1, 2: 2, 3: 3}, {1: 1, 2: 2}) == (1, 1)


def task_with(k, gold=None):
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    responses = [Response.objects.create(prompt=prompt, text=f"a{i}", origin=Origin.HUMAN) for i in range(k)]
    return create_ranking_task(prompt, responses, labelers_required=3, gold_ranks=gold), responses


def rank(task, responses, labeler, ranks, unrankable=False):
    assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now())
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler, unrankable=unrankable)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, ranks)])


@pytest.mark.django_db
def test_report_pools_pairs_over_labelers_and_tasks(make_user):
    ann, bob, cat = make_user("labeler"), make_user("labeler"), make_user("labeler")
    task, answers = task_with(4)
    rank(task, answers, ann, [1, 2, 3, 4])
    rank(task, answers, bob, [2, 1, 3, 4])  # 5 of 6 pairs as ann
    rank(task, answers, cat, [4, 3, 2, 1], unrankable=True)  # unrankable: compares nothing
    lone, lone_answers = task_with(3)
    rank(lone, lone_answers, cat, [1, 2, 3])  # ranked by one labeler only: no peer comparison

    report = agreement_report().as_dict()
    assert (report["overall"], report["compared_pairs"], report["tasks_compared"]) == (5 / 6, 6, 1)
    rows = {row["username"]: row for row in report["labelers"]}
    assert rows[ann.username]["peer_agreement"] == rows[bob.username]["peer_agreement"] == 5 / 6
    assert rows[cat.username]["peer_agreement"] is None and rows[cat.username]["rankings"] == 1


@pytest.mark.django_db
def test_gold_agreement_per_labeler(make_user):
    ann, bob = make_user("labeler"), make_user("labeler")
    gold, answers = task_with(3, gold=[1, 2, 3])
    rank(gold, answers, ann, [1, 2, 3])
    rank(gold, answers, bob, [1, 3, 2])
    report = agreement_report()
    assert report.per_labeler_gold[ann.id].value == 1.0
    assert report.per_labeler_gold[bob.id].value == 2 / 3
    assert report.as_dict()["gold_agreement"] == 5 / 6
    assert report.labeler_agreement(ann.id) == 2 / 3  # peer agreement comes first when there is one


@pytest.mark.django_db
def test_agreement_api_is_for_admins_and_each_labeler_sees_their_own(make_user, api_client_for):
    ann, bob = make_user("labeler"), make_user("labeler")
    task, answers = task_with(2)
    rank(task, answers, ann, [1, 2])
    rank(task, answers, bob, [2, 1])
    assert api_client_for(ann).get("/api/quality/agreement/").status_code == 403
    assert api_client_for(make_user("ml_engineer")).get("/api/quality/agreement/").status_code == 403
    admin = api_client_for(make_user("admin"))
    body = admin.get("/api/quality/agreement/").json()
    assert body["overall"] == 0.0 and body["compared_pairs"] == 1
    assert admin.get("/api/quality/agreement/?split=rm").json()["compared_pairs"] == 1
    assert admin.get("/api/quality/agreement/?split=nope").status_code == 400
    assert admin.get("/api/quality/agreement/?guideline_version=x").json() == {"guideline_version": ["give a guideline version id"]}
    mine = api_client_for(ann).get("/api/agreement/me/").json()
    assert (mine["username"], mine["peer_agreement"], mine["pairs"]) == (ann.username, 0.0, 1)
