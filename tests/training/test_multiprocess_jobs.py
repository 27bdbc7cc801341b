"""A job with `num_processes` 2 runs its trainer on 2 gloo processes that the worker starts with torchrun
(training/processes.py), and still reports progress, cancels with a checkpoint and resumes; its model
equals the one-process run's. Run in this process through `jobs.execute`, as the Celery task does."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.training.engine.synthetic import NOUNS, demonstrations
from tests.training.engine.test_distributed import assert_weights_close
from training import execution, jobs
from training.engine.data import write_jsonl
from training.engine.sft import SFTConfig, train_sft
from training.errors import JobError
from training.models import DatasetSnapshot, Job, JobMetric, JobState, ModelVersion
from training.processes import check_processes

pytestmark = pytest.mark.slow

SFT = {"batch_size": 4, "epochs": 2, "learning_rate": 1e-3, "eval_fraction": 0.0, "log_every": 1, "save_every": 100}
STEPS = 12  # 21 demonstrations in batches of 4, two epochs


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from tests.training.engine.synthetic import tiny_llama

    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"), n_embd=32, n_layer=1, max_steps=40, batch_size=8,
                      block_size=32)


@pytest.fixture
def inputs(db, settings, tmp_path, tiny_llama):
    settings.ARTIFACT_ROOT = tmp_path
    write_jsonl(tmp_path / "demos.jsonl", demonstrations(NOUNS[:6])[:21])
    snapshot = DatasetSnapshot.objects.create(kind="sft", content_hash="demos", file_path=str(tmp_path / "demos.jsonl"))
    model = ModelVersion.objects.create(name="tiny", kind="base", artifact_path=str(tiny_llama))
    return snapshot, model


def steps_reported(job):
    return list(JobMetric.objects.filter(job=job).order_by("step").values_list("step", flat=True))


def test_a_two_process_job_cancels_resumes_reports_progress_and_trains_what_one_process_trains(
        inputs, tmp_path, monkeypatch):
    snapshot, model = inputs
    job = jobs.create_job("sft", {**SFT, "num_processes": 2}, [snapshot], [model])
    # the cancel request is there from the start: the stop file exists before the processes take a step,
    # so both stop after step 1, the first point where they look
    monkeypatch.setattr(execution.RunContext, "should_stop", lambda self: True)
    assert jobs.execute(job.pk) == JobState.CANCELLED
    assert jobs.resume_step(job.output_dir) == 1

    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)  # as a dead worker leaves it
    monkeypatch.setattr(execution.RunContext, "should_stop", lambda self: False)
    assert jobs.execute(job.pk) == JobState.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    assert job.result["resumed_from_steps"] == [1] and job.result["steps"] == STEPS and job.progress == 1.0
    assert "starting 2 processes" in job.log_tail
    assert steps_reported(job) == list(range(1, STEPS + 1))  # every logged step, relayed from process 0
    assert "loss" in JobMetric.objects.get(job=job, step=STEPS).values
    train_sft(model.artifact_path, snapshot.file_path, tmp_path / "one", SFTConfig(**SFT))
    assert_weights_close(tmp_path / "one", Path(ModelVersion.objects.get(job=job).artifact_path))


def test_an_engine_error_in_the_processes_fails_the_job_with_the_engines_message(inputs, tmp_path):
    snapshot, model = inputs
    (tmp_path / "bad.jsonl").write_text('{"prompt": "hi"}\n')  # no completion
    bad = DatasetSnapshot.objects.create(kind="sft", content_hash="bad", file_path=str(tmp_path / "bad.jsonl"))
    job = jobs.create_job("sft", {**SFT, "num_processes": 2}, [bad], [model])
    assert jobs.execute(job.pk) == JobState.FAILED
    job.refresh_from_db()
    assert "bad.jsonl line 1" in job.error and "exited with code" in job.error


def test_a_worker_with_gpus_refuses_more_processes_than_it_has_gpus():
    check_processes(2, gpus=2)
    check_processes(3, gpus=0)  # a CPU-only worker runs gloo processes
    with pytest.raises(JobError) as err:
        check_processes(4, gpus=2)
    assert err.value.field == "config.num_processes" and "2 GPU" in err.value.message


def test_the_launched_processes_die_with_the_worker(tmp_path):
    """A worker killed with SIGKILL cannot stop its processes itself: the kernel sends them SIGTERM."""
    parent = ("import subprocess, sys, time\n"
              "from training.processes import _die_with_parent\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], preexec_fn=_die_with_parent)\n"
              "print(p.pid, flush=True)\n"
              "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie (exited, not yet reaped by init) is not running
        return f.read().split(")")[-1].split()[0] != "Z"
