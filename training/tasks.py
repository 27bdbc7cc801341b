"""Celery tasks of the training app (queue `gpu`, one job per worker: `--concurrency 1`, prefetch 1).
Thin shells around training.jobs; training.execution and training.job_lock explain running and crash recovery."""

import logging
import threading
import time

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


# Seconds after a gpu worker starts at which it looks for jobs a dead worker left running. Several
# looks, not one: a killed process can take a moment to vanish, and a lock held by a process on
# another host only frees when its TTL (JOB_LOCK_TTL, 60 s) runs out; celery beat keeps looking after.
RECOVERY_DELAYS = (0, 3, 10, 30, 75)


def recover_for_a_while(delays=RECOVERY_DELAYS):
    from django.db import connection

    waited = 0
    for delay in delays:
        time.sleep(max(delay - waited, 0))
        waited = delay
        try:
            sent = jobs.recover_jobs()
        except Exception as exc:  # the worker must keep running when the database or broker hiccups
            log.warning("job recovery failed: %s", exc)
            continue
        if sent:
            log.warning("re-sent jobs left running by a dead worker: %s", sent)
    connection.close()  # this thread's own connection


@worker_ready.connect
def recover_on_start(sender=None, **kwargs):
    """When a gpu worker starts, jobs that a dead worker left `running` are sent again (their lock names
    a process that no longer exists), so they resume from their checkpoint."""
    if _consumes_gpu(sender):
        threading.Thread(target=recover_for_a_while, name="job recovery", daemon=True).start()
