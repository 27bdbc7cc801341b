"""Rules of the data model: K between 2 and 9, rankings cover the task, one ranking per labeler,
published guidelines frozen, database constraints behind them."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.models import (Assignment, ComparisonPair, Guideline, GuidelineVersion, Origin, Prompt, RankedResponse,
                             Ranking, Response)
from labeling.ranking import RuleError, check_ranking_covers_task, competition_ranks, create_ranking_task

pytestmark = pytest.mark.django_db


def make_prompt_with(k):
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "q"}], text="q")
    return prompt, [Response.objects.create(prompt=prompt, text=f"answer {i}", origin=Origin.IMPORT) for i in range(k)]


@pytest.mark.parametrize("k", [2, 5, 9])
def test_ranking_task_accepts_k_from_2_to_9(k):
    prompt, responses = make_prompt_with(k)
    task = create_ranking_task(prompt, responses)
    assert task.task_responses.count() == k


@pytest.mark.parametrize("k", [0, 1, 10])
def test_ranking_task_refuses_k_outside_2_to_9(k):
    prompt, responses = make_prompt_with(k)
    with pytest.raises(RuleError) as err:
        create_ranking_task(prompt, responses)
    assert err.value.field == "responses"


def test_ranking_task_refuses_a_response_of_another_prompt():
    prompt, responses = make_prompt_with(2)
    _, other = make_prompt_with(1)
    with pytest.raises(RuleError):
        create_ranking_task(prompt, responses + other)


def test_a_ranking_must_cover_exactly_the_tasks_responses():
    check_ranking_covers_task([1, 2, 3], [3, 1, 2])
    with pytest.raises(RuleError, match="rank all 3"):
        check_ranking_covers_task([1, 2, 3], [1, 2])
    with pytest.raises(RuleError, match="more than once"):
        check_ranking_covers_task([1, 2, 3], [1, 1, 2])
    with pytest.raises(RuleError, match="not part of this task"):
        check_ranking_covers_task([1, 2, 3], [1, 2, 4])


def test_competition_ranks():
    assert competition_ranks([1, 2, 2, 3]) == [1, 2, 2, 4]
    assert competition_ranks([2, 1, 2]) == [2, 1, 2]
    assert competition_ranks([1, 3, 3, 7]) == [1, 2, 2, 4]
    assert competition_ranks([1, 1, 1]) == [1, 1, 1]


def _ranking(task, user):
    assignment = Assignment.objects.create(task=task, labeler=user, lease_expires_at=timezone.now())
    return Ranking.objects.create(task=task, assignment=assignment, labeler=user)


def test_one_ranking_per_labeler_per_task(make_user):
    user = make_user("labeler")
    prompt, responses = make_prompt_with(2)
    task = create_ranking_task(prompt, responses)
    _ranking(task, user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(task=task, labeler=user, lease_expires_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Ranking.objects.create(task=task, assignment=Assignment.objects.get(task=task), labeler=user)


def test_database_checks_rank_and_score_ranges(make_user):
    user = make_user("labeler")
    prompt, responses = make_prompt_with(2)
    ranking = _ranking(create_ranking_task(prompt, responses), user)
    for bad in ({"rank": 0}, {"rank": 10}, {"rank": 1, "score": 8}, {"rank": 1, "score": 0}):
        with pytest.raises(IntegrityError), transaction.atomic():
            RankedResponse.objects.create(ranking=ranking, response=responses[0], **bad)


def test_pairs_are_unique_and_distinct(make_user):
    user = make_user("labeler")
    prompt, responses = make_prompt_with(2)
    ranking = _ranking(create_ranking_task(prompt, responses), user)
    ComparisonPair.objects.create(ranking=ranking, chosen=responses[0], rejected=responses[1])
    with pytest.raises(IntegrityError), transaction.atomic():
        ComparisonPair.objects.create(ranking=ranking, chosen=responses[0], rejected=responses[1])
    with pytest.raises(IntegrityError), transaction.atomic():
        ComparisonPair.objects.create(ranking=ranking, chosen=responses[0], rejected=responses[0])


def test_published_guideline_version_is_immutable():
    guideline = Guideline.objects.create(name="Helpful, truthful, harmless")
    draft = GuidelineVersion.objects.create(guideline=guideline, number=1, body="draft text")
    draft.body = "edited draft"
    draft.save()  # drafts change freely
    draft.published_at = timezone.now()
    draft.save()
    draft.body = "sneaky edit"
    with pytest.raises(ValidationError):
        draft.save()
    with pytest.raises(ValidationError):
        draft.delete()
    assert GuidelineVersion.objects.get(pk=draft.pk).body == "edited draft"
    assert guideline.current_version() == draft


def test_guideline_version_numbers_are_unique():
    guideline = Guideline.objects.create(name="g")
    GuidelineVersion.objects.create(guideline=guideline, number=1, body="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        GuidelineVersion.objects.create(guideline=guideline, number=1, body="b")
