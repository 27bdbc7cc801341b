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

The claim's statements run on every `work/next`, so they are SQL written once (db.sql).
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from db import sql
from labeling.errors import Conflict, RuleError  # noqa: F401  (Conflict: imported from here by callers)
from labeling.models import Assignment, AssignmentState, Prompt, Response, Task, TaskKind, TaskResponse

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
    rows = sql.fetch(
        f"SELECT {sql.columns(Assignment, 'a')}, {sql.columns(Task, 't')}, {sql.columns(Prompt, 'p')}"
        f" FROM {sql.table(Assignment)} a JOIN {sql.table(Task)} t ON t.id = a.task_id"
        f" JOIN {sql.table(Prompt)} p ON p.id = t.prompt_id"
        f" WHERE a.labeler_id = %s AND a.state = %s AND a.lease_expires_at > %s AND t.kind IN ({sql.placeholders(kinds)})"
        " ORDER BY a.id LIMIT %s",
        [labeler.pk, AssignmentState.LEASED, sql.datetime_param(now), *kinds, limit])
    return [_joined(assignment, task, prompt) for assignment, task, prompt in sql.instances(rows, Assignment, Task, Prompt)]


def _candidates(labeler, kinds, now, limit, exclude_ids, skip_locked=True):
    """Tasks with a free slot that this labeler may take, locked (skipping rows others hold, unless
    told to wait for them): not full counting unexpired leases, and not submitted, skipped or
    leased (unexpired) by this labeler."""
    when = sql.datetime_param(now)
    excluded = f" AND t.id NOT IN ({sql.placeholders(exclude_ids)})" if exclude_ids else ""
    rows = sql.fetch(
        f"SELECT {sql.columns(Task, 't')}, {sql.columns(Prompt, 'p')}"
        f" FROM {sql.table(Task)} t JOIN {sql.table(Prompt)} p ON p.id = t.prompt_id"
        f" WHERE t.completed_count < t.labelers_required AND t.kind IN ({sql.placeholders(kinds)}){excluded}"
        f" AND t.labelers_required > t.completed_count + (SELECT COUNT(*) FROM {sql.table(Assignment)} a"
        "   WHERE a.task_id = t.id AND a.state = %s AND a.lease_expires_at > %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {sql.table(Assignment)} a WHERE a.task_id = t.id AND a.labeler_id = %s"
        "   AND a.state <> %s AND NOT (a.state = %s AND a.lease_expires_at <= %s))"
        " ORDER BY t.priority DESC, t.id LIMIT %s" + sql.lock_clause("t", no_key=True, skip_locked=skip_locked),
        [*kinds, *exclude_ids, AssignmentState.LEASED, when, labeler.pk, AssignmentState.EXPIRED, AssignmentState.LEASED,
         when, limit])
    tasks = []
    for task, prompt in sql.instances(rows, Task, Prompt):
        task.prompt = prompt
        tasks.append(task)
    return tasks


def _joined(assignment, task, prompt):
    task.prompt, assignment.task = prompt, task
    return assignment


def _shuffled_response_ids(task, ids_by_task):
    ids = list(ids_by_task.get(task.pk, []))
    random.shuffle(ids)
    return ids


def _claim(labeler, tasks, now):
    """Lease these locked tasks to the labeler where a slot is still free; returns the assignments."""
    ids = [t.pk for t in tasks]
    # One statement, read after the locks (READ COMMITTED: a fresh snapshot): the tasks' unexpired
    # leases and this labeler's own assignments, then (labeler_id NULL) their answers in order.
    rows = sql.fetch(
        f"SELECT a.task_id, a.id, a.labeler_id, a.state, a.lease_expires_at, NULL, NULL FROM {sql.table(Assignment)} a"
        f" WHERE a.task_id IN ({sql.placeholders(ids)}) AND ((a.state = %s AND a.lease_expires_at > %s) OR a.labeler_id = %s)"
        f" UNION ALL SELECT tr.task_id, tr.response_id, NULL, NULL, NULL, tr.position, r.text FROM {sql.table(TaskResponse)} tr"
        f" JOIN {sql.table(Response)} r ON r.id = tr.response_id WHERE tr.task_id IN ({sql.placeholders(ids)})"
        " ORDER BY 1, 6",
        [*ids, AssignmentState.LEASED, sql.datetime_param(now), labeler.pk, *ids])
    live, mine, responses, texts = {}, {}, {}, {}
    for task_id, pk, labeler_id, state, expires, _, text in rows:
        if labeler_id is None:  # an answer: pk is the response's id
            responses.setdefault(task_id, []).append(pk)
            texts[pk] = text
            continue
        expires = sql.convert(Assignment, "lease_expires_at", expires)
        if labeler_id == labeler.pk:
            mine[task_id] = (pk, state, expires)
        if state == AssignmentState.LEASED and expires > now:
            live[task_id] = live.get(task_id, 0) + 1

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
    claimed = sql.insert(fresh) if fresh else []
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
