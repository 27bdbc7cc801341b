"""The job life cycle (training.jobs) run in this process: launch validation, the state machine,
progress and metrics writes, cancel, resume from a checkpoint, and the worker lock."""

import os
import socket

import pytest

from training import execution, jobs
from training.job_lock import JobLock
from training.models import Job, JobMetric, JobState, ModelKind, ModelVersion

TEXTS = [f"User: Tell me about the {n}.\nAssistant: The {n} is {a}." for n in ("apple", "river", "stone", "cloud")
         for a in ("good", "bad", "nice")]
TINY = {"vocab_size": 300, "n_layer": 1, "n_embd": 32, "n_head": 2, "context_length": 64, "block_size": 16,
        "batch_size": 4, "max_steps": 8, "log_every": 2, "save_every": 4, "texts": TEXTS}


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    return tmp_path


def test_a_bootstrap_job_runs_to_success_and_registers_a_base_model(db, artifacts):
    job = jobs.create_job("bootstrap", TINY, name="tiny")
    assert job.state == JobState.QUEUED and job.output_dir == str(artifacts / "models" / f"job-{job.pk}-bootstrap")

    assert jobs.execute(job.pk) == JobState.SUCCEEDED

    job.refresh_from_db()
    assert (job.state, job.progress, job.attempts, job.error) == (JobState.SUCCEEDED, 1.0, 1, "")
    assert job.started_at and job.finished_at and job.worker_host.startswith(socket.gethostname())
    assert list(JobMetric.objects.filter(job=job).values_list("step", flat=True)) == [2, 4, 6, 8]
    assert "loss" in JobMetric.objects.filter(job=job).first().values
    model = ModelVersion.objects.get(job=job)
    assert (model.kind, model.name, model.artifact_path) == (ModelKind.BASE, "tiny", job.output_dir)
    assert job.result["model_version"] == model.pk and (artifacts / "models" / f"job-{job.pk}-bootstrap" / "config.json").exists()
    assert "succeeded" in job.log_tail


def test_a_finished_job_delivered_again_does_nothing(db):
    job = jobs.create_job("bootstrap", TINY)
    jobs.execute(job.pk)
    assert jobs.execute(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.attempts == 1 and ModelVersion.objects.filter(job=job).count() == 1


def test_a_queued_job_cancelled_before_it_starts_never_runs(db):
    job = jobs.create_job("bootstrap", TINY)
    assert jobs.cancel(job).state == JobState.CANCELLED
    assert jobs.execute(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.attempts == 0 and job.started_at is None and not ModelVersion.objects.exists()


def test_cancelling_a_finished_job_is_a_conflict(db):
    job = jobs.create_job("bootstrap", TINY)
    jobs.cancel(job)
    with pytest.raises(jobs.JobError) as err:
        jobs.cancel(job)
    assert err.value.status == 409


def test_a_stop_request_checkpoints_and_a_second_attempt_resumes_from_it(db, monkeypatch):
    """Stop after step 4 (the cancel path saves a checkpoint), then run the job again as if it had been
    re-delivered: it resumes at step 4 and does not start from step 0."""
    job = jobs.create_job("bootstrap", dict(TINY, max_steps=8))
    polls = []

    def stop_once_after_step_4(self):
        polls.append(1)
        return len(polls) == 4  # should_stop is polled after every step

    monkeypatch.setattr(execution.RunContext, "should_stop", stop_once_after_step_4)
    assert jobs.execute(job.pk) == JobState.CANCELLED
    assert jobs.resume_step(job.output_dir) == 4

    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)  # as a dead worker leaves it
    monkeypatch.setattr(execution.RunContext, "should_stop", lambda self: False)
    assert jobs.execute(job.pk) == JobState.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 2 and job.result["resumed_from_steps"] == [4]
    assert list(JobMetric.objects.filter(job=job).values_list("step", flat=True)) == [2, 4, 6, 8]
    assert "resuming from step 4" in job.log_tail


def test_a_failing_job_is_failed_with_its_error(db):
    job = jobs.create_job("bootstrap", dict(TINY, texts=[]))  # and nothing in the database to read
    assert jobs.execute(job.pk) == JobState.FAILED
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "no text to pretrain on" in job.error and job.finished_at


def test_a_live_lock_makes_a_duplicate_delivery_do_nothing(db):
    job = jobs.create_job("bootstrap", TINY)
    other = JobLock(job.pk)
    other.owner = f"{socket.gethostname()}:{os.getppid()}"  # a live process of this host
    assert other.acquire()
    try:
        assert jobs.execute(job.pk) == "busy"
        job.refresh_from_db()
        assert job.state == JobState.QUEUED and job.attempts == 0
    finally:
        other.release()


def test_recovery_resends_a_running_job_whose_worker_process_is_dead(db):
    job = jobs.create_job("bootstrap", TINY)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, celery_task_id="x")
    dead = JobLock(job.pk)
    dead.owner = f"{socket.gethostname()}:{2 ** 22 + 12345}"  # no such pid
    assert dead.acquire()
    alive = jobs.create_job("bootstrap", TINY)
    Job.objects.filter(pk=alive.pk).update(state=JobState.RUNNING, celery_task_id="y")
    live = JobLock(alive.pk)
    assert live.acquire()
    try:
        assert jobs.recover_jobs() == [job.pk]
        assert dead.holder() is None and live.holder() == live.owner
    finally:
        live.release()  # the message it sent is harmless to any later worker: the job row is gone by then


def test_a_worker_whose_lock_was_taken_over_is_told_to_stop(db, monkeypatch):
    """If a worker looked dead long enough for its job to be sent again, the old one must stop, not
    race the new one: its heartbeat sees another owner and should_stop turns true."""
    monkeypatch.setenv("JOB_LOCK_TTL", "1")
    job = jobs.create_job("bootstrap", TINY)
    lock = JobLock(job.pk)
    assert lock.acquire()
    lock.start_heartbeat()
    ctx = execution.RunContext(job, lock)
    try:
        assert not ctx.should_stop()
        lock.client.set(lock.key, "elsewhere:1")
        from tests.support.waiting import wait_for
        wait_for(ctx.should_stop, timeout=5, message="takeover noticed")
    finally:
        lock.release()
    assert lock.holder() == "elsewhere:1"  # release leaves the new owner's lock alone
    lock.client.delete(lock.key)
