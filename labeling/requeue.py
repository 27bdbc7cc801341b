"""Re-queue on disagreement: a task whose labels disagree asks for one more labeler, up to a cap.

The rule (labeling.models.RequeueRule, one per task batch): when a ranked task that is not gold
receives the label that completes it (`completed_count` reaches `labelers_required`), its rankings
are compared pair by pair as in labeling.agreement (pooled over every two labelers; a tie agrees
only with a tie; unrankable rankings compare nothing). If that agreement is below the rule's
`min_agreement` and the task asks for fewer than `max_labelers`, `labelers_required` goes up by one:
the task is open again, the assignment queue hands it to a labeler who has not seen it, and the
check runs again when that label arrives. Each re-queue is a `Requeue` row. A rule applies to labels
completed while it is enabled; tasks completed before are left as they are.

Concurrency. The check runs inside the submitting transaction, right after `_complete`'s UPDATE of
the task row (labeling.submission). That UPDATE holds the task's row lock until commit, and every
other submission on the task must take the same lock for its own UPDATE, so the decisions on one
task are serialised. On PostgreSQL (READ COMMITTED) the statements after the UPDATE get a fresh
snapshot, which sees every ranking and every re-queue committed by whoever held the lock before, so
the task is re-read and its rankings counted only then; the increment is a conditional UPDATE on
the `labelers_required` just read, and `Requeue` is unique per (task, labelers before), so one round
can never be re-queued twice. On SQLite every transaction begins with BEGIN IMMEDIATE, so the whole
submission runs under the database write lock. A task never asks for more than `max_labelers`, and
`completed_count <= labelers_required` stays a database constraint.
"""

import math
from collections import defaultdict
from itertools import combinations

from django.db.models import F, Min

from db import sql
from labeling.agreement import compare_ranks
from labeling.models import RankedResponse, Requeue, RequeueRule, Task, TaskKind
from labeling.ranking import RuleError

RANKED_KINDS = (TaskKind.RANKING, TaskKind.COMPARISON)
MAX_LABELERS = 100  # Task.labelers_required's own upper bound


def check_rule(batch, min_agreement, max_labelers):
    """Refuse settings that can't work: threshold outside [0, 1], a cap below 2, above 100, or below
    the labelers the batch's tasks already ask for (before any re-queue). RuleError names the field."""
    if isinstance(min_agreement, bool) or not isinstance(min_agreement, (int, float)) or not math.isfinite(min_agreement) \
            or not 0 <= min_agreement <= 1:
        raise RuleError("min_agreement", "give a number from 0 to 1")
    if isinstance(max_labelers, bool) or not isinstance(max_labelers, int) or not 2 <= max_labelers <= MAX_LABELERS:
        raise RuleError("max_labelers", f"give a whole number from 2 to {MAX_LABELERS}")
    required = base_required(batch)
    if required is not None and max_labelers < required:
        raise RuleError("max_labelers", f"the cap ({max_labelers}) is below the {required} labelers tasks of "
                                        f"batch {batch!r} already ask for")


def base_required(batch):
    """The most labelers any task of the batch asked for before it was re-queued (None: no tasks)."""
    tasks = list(Task.objects.filter(batch=batch).order_by().values_list("id", "labelers_required"))
    if not tasks:
        return None
    # A re-queued task's first round is its lowest `labelers_before`.
    first_round = dict(Requeue.objects.filter(task__batch=batch).order_by().values("task_id")
                       .annotate(n=Min("labelers_before")).values_list("task_id", "n"))
    return max(first_round.get(task_id, required) for task_id, required in tasks)


def task_agreement(task_id):
    """(agreed, compared) pairs pooled over every two labelers' rankings of the task."""
    per_labeler = defaultdict(dict)
    for labeler_id, response_id, rank in (RankedResponse.objects.filter(ranking__task_id=task_id,
                                                                        ranking__unrankable=False)
                                          .values_list("ranking__labeler_id", "response_id", "rank").order_by()):
        per_labeler[labeler_id][response_id] = rank
    agreed = compared = 0
    for (_, a), (_, b) in combinations(sorted(per_labeler.items()), 2):
        x, y = compare_ranks(a, b)
        agreed, compared = agreed + x, compared + y
    return agreed, compared


def requeue_if_disagreeing(task):
    """Call inside the submitting transaction, after the task's completed_count UPDATE (see the module
    docstring for why that order makes it race-free). `task` is the assignment's task as loaded
    before the UPDATE: only its batch, kind and gold ranks are read from it. Returns the Requeue or None."""
    if task.kind not in RANKED_KINDS or task.gold_ranks is not None:
        return None
    rows = sql.fetch(f"SELECT {sql.columns(RequeueRule, 'r')} FROM {sql.table(RequeueRule)} r WHERE r.batch = %s AND r.enabled",
                     [task.batch])  # runs on every submission: db.sql
    if not rows:
        return None
    ((rule,),) = sql.instances(rows, RequeueRule)
    required, completed = Task.objects.filter(pk=task.pk).values_list("labelers_required", "completed_count").get()
    if completed < required or required >= rule.max_labelers:
        return None
    agreed, compared = task_agreement(task.pk)
    if not compared or agreed / compared >= rule.min_agreement:
        return None
    if not Task.objects.filter(pk=task.pk, labelers_required=required).update(labelers_required=F("labelers_required") + 1):
        return None
    return Requeue.objects.create(task_id=task.pk, rule=rule, agreement=agreed / compared, compared_pairs=compared,
                                  labelers_before=required, min_agreement=rule.min_agreement,
                                  max_labelers=rule.max_labelers)
