"""Handing out work: the next task for a labeler, under a lease.

The rules:
- A labeler's own unexpired lease is resumed first.
- A task is never handed to more labelers at once than it still needs: its active slots
  (submitted assignments, counted by `completed_count`, plus unexpired leases) stay below
  `labelers_required`.
- A labeler never gets a task they submitted or skipped; a lease that expired returns the slot to the
  pool (and the labeler may get that task again later: the same row is re-leased).
- Gold tasks are in the pool like any other; nothing in a work item tells them apart.

Concurrency. On PostgreSQL the candidate tasks are locked with `SELECT ... FOR NO KEY UPDATE SKIP
LOCKED`, so two labelers asking at once take different tasks and don't wait on each other (only
when every open task is locked at that instant does a claim wait for the head of the queue); once the
rows are locked the leases are counted again in a new statement (READ COMMITTED gives it a fresh
snapshot, which sees every lease committed by whoever held the lock before). On SQLite there is no
row locking; the settings open every transaction with BEGIN IMMEDIATE, so the whole claim runs under
the database write lock and concurrent claims are serialised.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.errors import Conflict, RuleError  # noqa: F401  (Conflict: imported from here by callers)
from labeling.models import Assignment, AssignmentState, Task, TaskKind, TaskResponse

MAX_CLAIM_ROUNDS = 3


def lease_duration():
    return timedelta(minutes=settings.LEASE_MINUTES)


def kinds_for(kind):
    """The task kinds a request for `kind` covers: comparisons are ranked like rankings of two."""
    if kind in (None, "", "any"):
        return list(TaskKind.values)
    if kind == TaskKind.RANKING:
        return [TaskKind.RANKING, TaskKind.COMPARISON]
    return [kind]


def is_live_lease(assignment, now=None):
    return assignment.state == AssignmentState.LEASED and assignment.lease_expires_at > (now or timezone.now())


def _own_leases(labeler, kinds, now, limit):
    return list(
        Assignment.objects.filter(labeler=labeler, state=AssignmentState.LEASED, lease_expires_at__gt=now,
                                  task__kind__in=kinds)
        .select_related("task__prompt").order_by("id")[:limit]
    )


def _candidates(labeler, kinds, now, limit, exclude_ids, skip_locked=True):
    """Tasks with a free slot that this labeler may take, locked (skipping rows others hold, unless
    told to wait for them)."""
    live_leases = (
        Assignment.objects.filter(task=OuterRef("pk"), state=AssignmentState.LEASED, lease_expires_at__gt=now)
        .order_by().values("task").annotate(n=Count("id")).values("n")
    )
    taken_by_me = Assignment.objects.filter(task=OuterRef("pk"), labeler=labeler).exclude(
        state=AssignmentState.EXPIRED).exclude(state=AssignmentState.LEASED, lease_expires_at__lte=now)
    return list(
        Task.objects.filter(kind__in=kinds, completed_count__lt=F("labelers_required"))
        .exclude(pk__in=exclude_ids)
        .annotate(live=Coalesce(Subquery(live_leases, output_field=IntegerField()), Value(0)))
        .filter(labelers_required__gt=F("completed_count") + F("live"))
        .filter(~Exists(taken_by_me))
        .select_related("prompt")
        .order_by("-priority", "id")
        .select_for_update(skip_locked=skip_locked, of=("self",), no_key=True)[:limit]
    )


def _shuffled_response_ids(task, ids_by_task):
    ids = list(ids_by_task.get(task.pk, []))
    random.shuffle(ids)
    return ids


def _claim(labeler, tasks, now):
    """Lease these locked tasks to the labeler where a slot is still free; returns the assignments."""
    ids = [t.pk for t in tasks]
    rows = Assignment.objects.filter(task_id__in=ids).filter(
        Q(state=AssignmentState.LEASED, lease_expires_at__gt=now) | Q(labeler=labeler)
    ).values_list("id", "task_id", "labeler_id", "state", "lease_expires_at")
    live, mine, responses, texts = {}, {}, {}, {}
    for pk, task_id, labeler_id, state, expires in rows:
        if labeler_id == labeler.pk:
            mine[task_id] = (pk, state, expires)
        if state == AssignmentState.LEASED and expires > now:
            live[task_id] = live.get(task_id, 0) + 1
    need_responses = [t.pk for t in tasks if t.kind != TaskKind.DEMONSTRATION]
    if need_responses:
        rows = TaskResponse.objects.filter(task_id__in=need_responses).values_list("task_id", "response_id", "response__text")
        for task_id, response_id, text in rows:
            responses.setdefault(task_id, []).append(response_id)
            texts[response_id] = text

    expires_at = now + lease_duration()
    fresh, renewed = [], []
    for task in tasks:
        own = mine.get(task.pk)
        if own and (own[1] in (AssignmentState.SUBMITTED, AssignmentState.SKIPPED) or (
                own[1] == AssignmentState.LEASED and own[2] > now)):
            continue
        if task.completed_count + live.get(task.pk, 0) >= task.labelers_required:
            continue
        order = _shuffled_response_ids(task, responses)
        if own:
            renewed.append((own[0], task, order))
        else:
            fresh.append(Assignment(task=task, labeler=labeler, state=AssignmentState.LEASED,
                                    lease_expires_at=expires_at, display_order=order))
    claimed = Assignment.objects.bulk_create(fresh) if fresh else []
    for pk, task, order in renewed:
        Assignment.objects.filter(pk=pk).update(state=AssignmentState.LEASED, lease_expires_at=expires_at,
                                                display_order=order, skip_reason="", completed_at=None)
        claimed.append(Assignment(pk=pk, task=task, labeler=labeler, state=AssignmentState.LEASED,
                                  lease_expires_at=expires_at, display_order=order))
    for assignment in claimed:
        assignment.texts = {rid: texts[rid] for rid in assignment.display_order}
    return claimed


def next_assignments(labeler, kind=None, count=1, now=None):
    """Up to `count` leased assignments for the labeler, their own unexpired leases first.
    Each comes with `task` and `task.prompt` loaded; newly claimed ones also carry `texts`
    ({response id: text}, read with the task's responses)."""
    now = now or timezone.now()
    kinds = kinds_for(kind)
    with transaction.atomic():
        result = _own_leases(labeler, kinds, now, count)
        tried = [a.task_id for a in result]
        for _ in range(MAX_CLAIM_ROUNDS):
            wanted = count - len(result)
            if wanted <= 0:
                break
            tasks = _candidates(labeler, kinds, now, wanted, tried)
            if not tasks and not tried:
                # Every open task may be locked for a moment by labelers claiming it: rather than
                # answer "no work", wait for the head of the queue. Holding no task lock yet, this
                # transaction can't be part of a deadlock.
                tasks = _candidates(labeler, kinds, now, wanted, tried, skip_locked=False)
            if not tasks:
                break
            tried += [t.pk for t in tasks]
            result += _claim(labeler, tasks, now)
    result.sort(key=lambda a: (a.lease_expires_at, a.pk))
    return result


def expire_leases(now=None):
    """Mark leases that ran out as expired (bookkeeping only: the pool already ignores them)."""
    now = now or timezone.now()
    return Assignment.objects.filter(state=AssignmentState.LEASED, lease_expires_at__lte=now).update(
        state=AssignmentState.EXPIRED)


def change_labelers_required(task_id, value):
    """Set a task's labelers_required, never below the labelers already at work on it: its submitted
    labels plus its unexpired leases. Lowering it under a live lease would turn that labeler's
    submission into a 409 and lose their work, so it is refused (RuleError, a 400); the admin can
    lower it once those leases are submitted or expire. The task row is locked, so no lease is
    granted between the count and the update."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        leased = Assignment.objects.filter(task=task, state=AssignmentState.LEASED,
                                           lease_expires_at__gt=timezone.now()).count()
        if value < task.completed_count + leased:
            raise RuleError("labelers_required", f"at least {task.completed_count + leased}: {task.completed_count} "
                            f"labelers completed this task and {leased} hold a lease on it")
        Task.objects.filter(pk=task_id).update(labelers_required=value)
