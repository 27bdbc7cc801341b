"""Celery tasks of the training app (queue `gpu`, one job per worker: `--concurrency 1`, prefetch 1).
Thin shells around training.jobs, where the life cycle and the crash recovery are explained."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from training import jobs

log = logging.getLogger(__name__)


@shared_task(name="training.tasks.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(job_id):
    """Run (or resume) one job; a delivery for a finished, cancelled or busy job does nothing."""
    return jobs.execute(job_id)


@shared_task(name="training.tasks.recover_jobs", acks_late=True)
def recover_jobs():
    """Send again the jobs a dead worker left running (celery beat, every minute)."""
    return jobs.recover_jobs()


def _consumes_gpu(consumer):
    try:
        return "gpu" in consumer.app.amqp.queues.consume_from
    except AttributeError:
        return True


@worker_ready.connect
def recover_on_start(sender=None, **kwargs):
    """When a gpu worker starts, jobs that a dead worker on this host left `running` are sent again
    at once (their lock names a process that no longer exists), so they resume from their checkpoint."""
    if not _consumes_gpu(sender):
        return
    try:
        sent = jobs.recover_jobs()
    except Exception as exc:  # the worker must start even when the database or broker hiccups
        log.warning("job recovery at worker start failed: %s", exc)
        return
    if sent:
        log.warning("re-sent jobs left running by a dead worker: %s", sent)
