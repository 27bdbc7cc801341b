"""The Celery app. Queues: `default` (CPU: pair expansion, agreement, exports) and `gpu` (training,
sampling, evaluation). Long tasks ack late and are re-queued if their worker dies, so a SIGKILLed
training job is delivered again and resumes from its checkpoint.

Start workers with `celery -A celery_app worker -Q default` and `-Q gpu --concurrency 1`.
"""

import os

from celery import Celery, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

app = Celery("rlhf")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=[Queue("default"), Queue("gpu")],
    task_default_queue="default",
    task_routes={
        "training.tasks.*": {"queue": "gpu"},
        "labeling.tasks.*": {"queue": "default"},
    },
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    # A long training task must not be re-delivered while it is still running: the visibility
    # timeout has to exceed the longest job. A dead worker's task comes back after this.
    broker_transport_options={"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 6 * 3600))},
    beat_schedule={
        "sweep-unexpanded-rankings": {"task": "labeling.tasks.sweep_unexpanded_rankings", "schedule": 60.0},
        # Jobs left `running` by a worker that died (its Redis lock expired) are sent again and resume.
        "recover-jobs": {"task": "training.tasks.recover_jobs", "schedule": 60.0,
                         "options": {"queue": "default", "expires": 55}},
    },
    result_expires=24 * 3600,
)
app.autodiscover_tasks(["labeling", "training"])


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_database_connections(task=None, **kwargs):
    """Around each task, what Django does around each request: drop the connection if an error left it
    unusable or it passed CONN_MAX_AGE, else keep it (settings.CELERY_DB_REUSE_MAX keeps Celery's fixup
    from closing it after every task). Eager tasks run inside the caller's transaction: left alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def send_now(name, args=(), timeout=2.0, **options):
    """Queue the task `name` on this app (its routes pick the queue), or raise within `timeout` seconds
    when the broker is unreachable instead of waiting through kombu's retries: callers (a labeler's
    submission, a job launch) have already saved their state and let the sweep / recovery send it later.

    Always this app, never `current_app`: another Celery instance created in the same process (a bare
    client) would become current, and its tasks would miss our routes and land on the wrong queue."""
    with app.pool.acquire(block=True, timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        return app.send_task(name, args, connection=connection, retry=False, **options)
