"""Finishing an assignment: submit a ranking or a demonstration, or skip; review demonstrations.

Every submission runs in one transaction with the assignment row locked, so a retry racing the
original can't save twice. On success the assignment is marked submitted, the task's
`completed_count` goes up by one in the database (a conditional UPDATE that can't pass `labelers_required`),
and the guideline version in use is recorded; a ranking that completes a task whose labels disagree
may re-queue it for one more labeler (labeling.requeue). Pair expansion is queued only after the commit, and a
broker outage never fails the request (the sweep expands what was missed).

Idempotency: a retry carrying the idempotency key of a saved submission gets that submission back
(`created` False), never a second one.

A ranking's statements (lock, inserts, counts) are SQL written once (db.sql says why).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from db import sql
from labeling import tasks as celery_tasks
from labeling.assignment import Conflict
from labeling.guidelines import current_version_id_sql
from labeling.models import (Assignment, AssignmentState, Demonstration, RankedResponse, Ranking, ReviewState, Task,
                             TaskKind)
from labeling.ranking import RuleError, check_ranking_covers_task, check_ranks_in_range, competition_ranks
from labeling.requeue import requeue_if_disagreeing

RANKED_KINDS = (TaskKind.RANKING, TaskKind.COMPARISON)


def _locked_assignment(assignment_id, labeler):
    """The caller's own assignment, row-locked, with its task; another labeler's id is simply not
    found. `guideline_version_id`: the guideline version in use for the task's kind, read in the
    same statement (labeling.guidelines.current_version)."""
    rows = sql.fetch(
        f"SELECT {sql.columns(Assignment, 'a')}, {sql.columns(Task, 't')}, {current_version_id_sql('t.kind')}"
        f" FROM {sql.table(Assignment)} a JOIN {sql.table(Task)} t ON t.id = a.task_id"
        " WHERE a.id = %s AND a.labeler_id = %s" + sql.lock_clause("a"), [assignment_id, labeler.pk])
    if not rows:
        raise Assignment.DoesNotExist("Assignment matching query does not exist.")
    ((assignment, task),) = sql.instances(rows, Assignment, Task)
    assignment.task, assignment.guideline_version_id = task, rows[0][-1]
    return assignment


def _check_open(assignment, now):
    if assignment.state == AssignmentState.SKIPPED:
        raise Conflict("you skipped this task")
    if assignment.state == AssignmentState.EXPIRED or assignment.lease_expires_at <= now:
        raise Conflict("the lease on this task expired; ask for the next task")


def _complete(assignment, now):
    """Count the submission on the task and close the assignment."""
    counted = sql.execute(f"UPDATE {sql.table(Task)} SET completed_count = completed_count + 1"
                          " WHERE id = %s AND completed_count < labelers_required", [assignment.task_id])
    if not counted:
        raise Conflict("this task already has all the labels it needs")
    sql.execute(f"UPDATE {sql.table(Assignment)} SET state = %s, completed_at = %s WHERE id = %s",
                [AssignmentState.SUBMITTED, sql.datetime_param(now), assignment.pk])
    assignment.state, assignment.completed_at = AssignmentState.SUBMITTED, now


def _check_ranks(assignment, data):
    """Validate the ranked items against the task; returns [(response_id, competition rank, score, flags)]."""
    items = data.get("ranks") or []
    if not items:
        if data.get("all_bad") or data.get("unrankable"):
            return []
        raise RuleError("ranks", "rank every answer (or mark the task all_bad or unrankable)")
    try:
        check_ranking_covers_task(assignment.display_order, [item["response"] for item in items])
        check_ranks_in_range([item["rank"] for item in items])
    except RuleError as exc:
        raise RuleError("ranks", exc.message) from exc
    ranks = competition_ranks([item["rank"] for item in items])
    return [(item["response"], rank, item.get("score"), item.get("flags") or []) for item, rank in zip(items, ranks)]


def submit_ranking(assignment_id, labeler, data, idempotency_key=None):
    """Save the labeler's ranking of their assignment's task. Returns (ranking, created).

    data: {"ranks": [{"response", "rank", "score", "flags"}], "all_bad", "unrankable", "comment",
    "seconds_spent"}, already checked for types and sizes by the serializer."""
    now = timezone.now()
    try:
        with transaction.atomic():
            assignment = _locked_assignment(assignment_id, labeler)
            if assignment.task.kind not in RANKED_KINDS:
                raise RuleError("task", f"this is a {assignment.task.kind} task; it takes a demonstration, not a ranking")
            if assignment.state == AssignmentState.SUBMITTED:
                return _replay(Ranking.objects.filter(assignment=assignment).first(), idempotency_key), False
            _check_open(assignment, now)
            items = _check_ranks(assignment, data)
            (ranking,) = sql.insert([Ranking(
                task_id=assignment.task_id, assignment=assignment, labeler=labeler,
                guideline_version_id=assignment.guideline_version_id,
                display_order=assignment.display_order, seconds_spent=data.get("seconds_spent"),
                all_bad=bool(data.get("all_bad")), unrankable=bool(data.get("unrankable")),
                comment=data.get("comment", ""), idempotency_key=idempotency_key,
            )])
            ranking._items = sql.insert([
                RankedResponse(ranking=ranking, response_id=response_id, rank=rank, score=score, flags=flags)
                for response_id, rank, score, flags in items
            ]) if items else []
            _complete(assignment, now)
            requeue_if_disagreeing(assignment.task)  # after _complete: its UPDATE holds the task lock
            transaction.on_commit(lambda: celery_tasks.enqueue_pair_expansion(ranking.pk))
            return ranking, True
    except IntegrityError:
        # The key names a ranking already saved for another assignment, or a concurrent retry won.
        existing = Ranking.objects.filter(labeler=labeler, idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is not None and existing.assignment_id == int(assignment_id):
            return existing, False
        raise Conflict("this idempotency key was already used for another submission") from None


def _replay(saved, idempotency_key):
    if saved is not None and idempotency_key and saved.idempotency_key == idempotency_key:
        return saved
    raise Conflict("this task was already submitted")


def submit_demonstration(assignment_id, labeler, data, idempotency_key=None):
    """Save the labeler's demonstration for their demonstration assignment. Returns (demonstration, created)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            assignment = _locked_assignment(assignment_id, labeler)
            if assignment.task.kind != TaskKind.DEMONSTRATION:
                raise RuleError("task", f"this is a {assignment.task.kind} task; it takes a ranking, not a demonstration")
            if assignment.state == AssignmentState.SUBMITTED:
                saved = Demonstration.objects.filter(task_id=assignment.task_id, labeler=labeler).first()
                return _replay(saved, idempotency_key), False
            _check_open(assignment, now)
            demonstration = Demonstration.objects.create(
                prompt_id=assignment.task.prompt_id, task_id=assignment.task_id, labeler=labeler,
                text=data["text"], guideline_version_id=assignment.guideline_version_id, seconds_spent=data.get("seconds_spent"),
                idempotency_key=idempotency_key,
            )
            _complete(assignment, now)
            return demonstration, True
    except IntegrityError:
        existing = Demonstration.objects.filter(labeler=labeler, idempotency_key=idempotency_key).first() if idempotency_key else None
        task_id = Assignment.objects.filter(pk=assignment_id, labeler=labeler).values_list("task_id", flat=True).first()
        if existing is not None and existing.task_id == task_id:
            return existing, False
        raise Conflict("this idempotency key was already used for another submission") from None


def skip(assignment_id, labeler, reason):
    """Give the task back with a reason; the labeler won't get it again. Skipping twice is harmless."""
    with transaction.atomic():
        assignment = _locked_assignment(assignment_id, labeler)
        if assignment.state == AssignmentState.SUBMITTED:
            raise Conflict("this task was already submitted")
        if assignment.state != AssignmentState.SKIPPED:
            assignment.state, assignment.skip_reason, assignment.completed_at = AssignmentState.SKIPPED, reason, timezone.now()
            assignment.save(update_fields=["state", "skip_reason", "completed_at"])
        return assignment


def edit_demonstration(demonstration, text, seconds_spent=None):
    """The author edits their demonstration until it is reviewed."""
    with transaction.atomic():
        demonstration = Demonstration.objects.select_for_update().get(pk=demonstration.pk)
        if demonstration.review_state != ReviewState.SUBMITTED:
            raise Conflict(f"this demonstration was {demonstration.review_state}; it can no longer be edited")
        demonstration.text = text
        fields = ["text", "updated_at"]
        if seconds_spent is not None:
            demonstration.seconds_spent, fields = seconds_spent, fields + ["seconds_spent"]
        demonstration.save(update_fields=fields)
        return demonstration


def review_demonstration(demonstration, reviewer, decision, comment="", text=None):
    """A reviewer accepts (optionally with their own edit of the text) or rejects with a comment."""
    if decision == "reject" and not comment.strip():
        raise RuleError("comment", "say why the demonstration is rejected")
    if decision == "reject" and text is not None:
        raise RuleError("text", "a rejected demonstration keeps the labeler's text; accept to edit it")
    with transaction.atomic():
        demonstration = Demonstration.objects.select_for_update().get(pk=demonstration.pk)
        if text is not None:
            demonstration.text = text
        demonstration.review_state = ReviewState.ACCEPTED if decision in ("accept", "edit") else ReviewState.REJECTED
        demonstration.reviewer, demonstration.review_comment, demonstration.reviewed_at = reviewer, comment, timezone.now()
        demonstration.save()
        return demonstration
