"""Reviewing demonstrations in bulk: accept (or reject, with the comment the labeler will read) many at
once, all or none. A demonstration only becomes SFT data once accepted, so the review queue is what
stands between labelers' work and an `sft` snapshot."""

from django.db import transaction

from labeling.models import Demonstration, ReviewState
from labeling.ranking import RuleError
from labeling.submission import review_demonstration

MAX_BULK = 500


def review_queue():
    """Demonstrations waiting for a review, oldest first (they were written first)."""
    return Demonstration.objects.filter(review_state=ReviewState.SUBMITTED).select_related("prompt", "labeler").order_by("id")


def review_many(ids, reviewer, decision, comment=""):
    """Review every listed demonstration the same way; a missing id or a rule broken by one (a reject
    without a comment) changes none of them. Returns the reviewed demonstrations in id order."""
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise RuleError("ids", "give a list of demonstration ids")
    if len(ids) > MAX_BULK:
        raise RuleError("ids", f"at most {MAX_BULK} at a time")
    if decision not in ("accept", "reject"):
        raise RuleError("decision", "must be accept or reject")
    if not isinstance(comment, str):
        raise RuleError("comment", "give text")
    found = {d.pk: d for d in Demonstration.objects.filter(pk__in=ids)}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise RuleError("ids", f"demonstrations {missing} do not exist")
    # A bulk decision is for the queue: it never overturns a review already made (one at a time does).
    reviewed = sorted(i for i, d in found.items() if d.review_state != ReviewState.SUBMITTED)
    if reviewed:
        raise RuleError("ids", f"demonstrations {reviewed} were already reviewed")
    with transaction.atomic():
        return [review_demonstration(found[i], reviewer, decision, comment) for i in sorted(set(ids))]
