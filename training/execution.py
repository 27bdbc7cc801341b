"""Running a job in the worker, and recovering jobs a dead worker left behind.

- `execute` is one delivery of `training.tasks.run_job`. It takes the job's lock (training.job_lock),
  claims the job in the database (a finished or cancelled job is never run again, so a re-delivered
  task does nothing), runs the kind's runner with a RunContext (`on_progress` writes progress, a
  JobMetric row and a log line; `should_stop` polls `cancel_requested` and the lock), and records the
  outcome. A job that ran before resumes from the newest checkpoint in its output folder.
- `recover_jobs` sends again every `running` job that no live worker holds (its worker died) and every
  queued job whose message never reached the broker. It runs when a gpu worker starts, where a lock
  owned by a dead process of the same host is broken at once, and from celery beat every minute, where
  an owner on another host is dead once its lock expired.

The runners sit above this module and are passed in; this module never imports them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from training.engine.config import ConfigError
from training.errors import JobError
from training.job_lock import JobLock
from training.launch import enqueue
from training.models import Job, JobMetric, JobState

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 60
CANCEL_POLL_SECONDS = 1.0


def claim(job_id, host):
    """Move the job to running for this attempt; None when it must not run (finished, cancelled)."""
    now = timezone.now()
    Job.objects.filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING], cancel_requested=True).update(
        state=JobState.CANCELLED, finished_at=now)
    claimed = Job.objects.filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING]).update(
        state=JobState.RUNNING, attempts=F("attempts") + 1, worker_host=host,
        started_at=Coalesce(F("started_at"), now), error="")
    return Job.objects.get(pk=job_id) if claimed else None


class RunContext:
    """What a runner gets: the job, its output folder, progress/metric writes, the cancel poll, a log."""

    def __init__(self, job, lock=None):
        self.job = job
        self.lock = lock
        self.output_dir = Path(job.output_dir)
        self.lines = deque(job.log_tail.splitlines(), maxlen=LOG_TAIL_LINES)
        self._last_poll = 0.0
        self._stop = False

    def log(self, message):
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}"
        self.lines.append(line)
        log.info("job %s: %s", self.job.pk, message)
        Job.objects.filter(pk=self.job.pk).update(log_tail="\n".join(self.lines))

    def on_progress(self, step, total, metrics):
        values = {k: float(v) for k, v in (metrics or {}).items() if isinstance(v, (int, float))}
        progress = min(max(step / total, 0.0), 1.0) if total else 0.0
        JobMetric.objects.create(job_id=self.job.pk, step=step, values=values)
        self.lines.append(f"step {step}/{total} " + " ".join(f"{k}={v:.4g}" for k, v in values.items()))
        Job.objects.filter(pk=self.job.pk, state=JobState.RUNNING).update(
            progress=progress, log_tail="\n".join(self.lines))

    def should_stop(self):
        if self.lock is not None and self.lock.lost.is_set():
            return True
        now = time.monotonic()
        if not self._stop and now - self._last_poll >= CANCEL_POLL_SECONDS:
            self._last_poll = now
            self._stop = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._stop


@dataclass
class Outcome:
    """What a runner returns: its result (saved on the job) and whether it stopped early on cancel."""

    result: dict = field(default_factory=dict)
    stopped: bool = False


def resume_step(output_dir):
    """The step of the newest checkpoint in the output folder (0 when starting fresh)."""
    from training.engine.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(output_dir)
    return int(checkpoint.name.split("-")[1]) if checkpoint else 0


def execute(job_id, run):
    """Run one delivery of a job with `run(job, ctx) -> Outcome` (training.runners.run, passed in by
    training.jobs so that this module never imports the runners). Returns what happened."""
    lock = JobLock(job_id)
    if not lock.acquire():
        lock.break_if_dead_here()
        if not lock.acquire():
            log.info("job %s is running elsewhere (%s); this delivery does nothing", job_id, lock.holder())
            return "busy"
    try:
        job = claim(job_id, f"{socket.gethostname()} pid {os.getpid()}")
        if job is None:
            return "skipped"
        lock.start_heartbeat()
        ctx = RunContext(job, lock)
        step = resume_step(job.output_dir)
        if job.attempts > 1:
            JobMetric.objects.filter(job=job, step__gt=step).delete()
            ctx.log(f"attempt {job.attempts} on {job.worker_host}: resuming from step {step}")
        else:
            ctx.log(f"started on {job.worker_host}")
        resumed = list(job.result.get("resumed_from_steps", [])) + ([step] if job.attempts > 1 else [])
        try:
            outcome = run(job, ctx)
        except Exception as exc:
            detail = f"{exc.field}: {exc.message}" if isinstance(exc, (ConfigError, JobError)) else f"{type(exc).__name__}: {exc}"
            ctx.log("failed: " + detail + "\n" + traceback.format_exc(limit=8))
            finish(job_id, JobState.FAILED, error=detail, result={"resumed_from_steps": resumed} if resumed else None)
            return JobState.FAILED
        result = dict(outcome.result, **({"resumed_from_steps": resumed} if resumed else {}))
        if outcome.stopped and lock.lost.is_set():
            log.warning("job %s was taken over by %s; this attempt stops without finishing it", job_id, lock.holder())
            return "taken over"
        if outcome.stopped:
            ctx.log("cancelled; checkpoint saved")
            finish(job_id, JobState.CANCELLED, result=result)
            return JobState.CANCELLED
        ctx.log("succeeded")
        finish(job_id, JobState.SUCCEEDED, result=result)
        return JobState.SUCCEEDED
    finally:
        lock.release()


def finish(job_id, state, result=None, error=""):
    fields = {"state": state, "finished_at": timezone.now(), "error": error}
    if state == JobState.SUCCEEDED:
        fields["progress"] = 1.0
    if result is not None:
        fields["result"] = result
    Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(**fields)


def recover_jobs(unsent_after_seconds=60):
    """Send again every running job that no live worker holds, and queued jobs whose message never
    reached the broker. Returns the ids sent."""
    sent = []
    for job_id in Job.objects.filter(state=JobState.RUNNING).values_list("pk", flat=True):
        lock = JobLock(job_id)
        if lock.break_if_dead_here():
            log.warning("job %s was left running by a dead worker; sending it again", job_id)
            if enqueue(job_id):
                sent.append(job_id)
    cutoff = timezone.now() - timezone.timedelta(seconds=unsent_after_seconds)
    for job_id in Job.objects.filter(state=JobState.QUEUED, celery_task_id="", created_at__lt=cutoff).values_list("pk", flat=True):
        if enqueue(job_id):
            sent.append(job_id)
    return sent
