"""Celery tasks of the labeling app (queue `default`). Thin shells: the rules are in labeling.pairs."""

import logging

from celery import shared_task

from labeling.models import Ranking
from labeling.pairs import expand_rankings

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=60, max_retries=10)
def expand_ranking_pairs(self, ranking_id):
    """Write the comparison pairs of one submitted ranking."""
    return expand_rankings([ranking_id])


@shared_task(acks_late=True)
def sweep_unexpanded_rankings(batch=1000):
    """Expand every ranking that has no pairs yet (its task may have been lost while the broker
    was down). Run by celery beat every minute. Per batch of `batch` rankings: one query on the
    indexed pairs_expanded_at column, one set-based INSERT of all their pairs, one UPDATE marking
    them; a run that overlaps another (or the rankings' own tasks) writes nothing twice."""
    total = 0
    while True:
        ids = list(Ranking.objects.filter(pairs_expanded_at__isnull=True).order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += expand_rankings(ids)


def enqueue_pair_expansion(ranking_id):
    """Ask a worker to expand a ranking's pairs. If the broker is down the ranking is already saved
    and acknowledged; the sweep expands it later, so the error is logged, not raised."""
    from celery_app import send_now  # platform/celery_app.py

    try:
        send_now("labeling.tasks.expand_ranking_pairs", (ranking_id,), ignore_result=True)
        return True
    except Exception as exc:  # broker unreachable: kombu raises OperationalError and friends
        log.warning("pair expansion for ranking %s not queued (%s); the sweep will expand it", ranking_id, exc)
        return False
