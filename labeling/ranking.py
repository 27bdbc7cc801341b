"""The rules of a ranking task and of a ranking, as plain functions.

A ranking task holds K = 2..9 responses to one prompt. A ranking gives every one of those K responses
exactly one rank, 1 = best, ties allowed, stored in competition form (1, 2, 2, 4).
"""

from django.db import transaction

from labeling.errors import RuleError  # noqa: F401  (raised here; imported from here by older callers)
from labeling.models import MAX_K, MIN_K, Task, TaskKind, TaskResponse


def competition_ranks(ranks):
    """Normalise any ordinal ranks to competition form: [1, 3, 3, 7] -> [1, 2, 2, 4].
    Each item's rank becomes 1 + the number of items strictly better than it."""
    return [1 + sum(1 for other in ranks if other < rank) for rank in ranks]


def check_ranking_covers_task(task_response_ids, ranked_response_ids):
    """A ranking must rank exactly the task's K responses, each once."""
    ranked = list(ranked_response_ids)
    if len(set(ranked)) != len(ranked):
        raise RuleError("items", "a response is ranked more than once")
    unknown = set(ranked) - set(task_response_ids)
    if unknown:
        raise RuleError("items", f"responses {sorted(unknown)} are not part of this task")
    if len(ranked) != len(task_response_ids):
        raise RuleError("items", f"rank all {len(task_response_ids)} responses of the task, not {len(ranked)}")


def check_ranks_in_range(ranks):
    k = len(ranks)
    for rank in ranks:
        if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= k:
            raise RuleError("items", f"ranks must be integers from 1 to {k}, got {rank!r}")


@transaction.atomic
def create_ranking_task(prompt, responses, labelers_required=1, gold_ranks=None, kind=TaskKind.RANKING, batch=""):
    """A task ranking these K responses (each must answer `prompt`). gold_ranks: [rank per response]."""
    responses = list(responses)
    k = len(responses)
    if not MIN_K <= k <= MAX_K:
        raise RuleError("responses", f"a ranking task needs {MIN_K} to {MAX_K} responses, got {k}")
    if len({r.pk for r in responses}) != k:
        raise RuleError("responses", "a response appears twice")
    if any(r.prompt_id != prompt.pk for r in responses):
        raise RuleError("responses", "every response must answer the task's prompt")
    if kind == TaskKind.COMPARISON and k != 2:
        raise RuleError("responses", "a side-by-side comparison shows exactly 2 responses")
    gold = None
    if gold_ranks is not None:
        if len(gold_ranks) != k:
            raise RuleError("gold_ranks", f"give one gold rank per response ({k})")
        check_ranks_in_range(gold_ranks)
        gold = {str(r.pk): rank for r, rank in zip(responses, competition_ranks(gold_ranks))}
    task = Task.objects.create(kind=kind, prompt=prompt, labelers_required=labelers_required, gold_ranks=gold, batch=batch)
    TaskResponse.objects.bulk_create(
        [TaskResponse(task=task, response=response, position=i) for i, response in enumerate(responses)]
    )
    return task


def create_demonstration_task(prompt, labelers_required=1, batch=""):
    return Task.objects.create(kind=TaskKind.DEMONSTRATION, prompt=prompt, labelers_required=labelers_required, batch=batch)


def last_user_text(messages):
    for message in reversed(messages):
        if message.get("role") == "user":
            return message.get("content", "")
    return messages[-1].get("content", "") if messages else ""

