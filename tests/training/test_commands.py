"""The ML team's commands: train, sample, evaluate, and jobs (list, follow with a progress bar, cancel)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from training.models import Job, JobMetric, JobState, ModelKind, ModelVersion

TINY = {"vocab_size": 300, "n_layer": 1, "n_embd": 32, "n_head": 2, "context_length": 64, "block_size": 16,
        "batch_size": 4, "max_steps": 4, "log_every": 2, "save_every": 4}


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path


def command(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.slow
def test_train_inline_runs_a_bootstrap_job_here_and_prints_its_model(db):
    out = command("train", "bootstrap", "--config", json.dumps(TINY), "--set", "max_steps=2", "--set", "log_every=1",
                  "--text", "The apple is good.", "--text", "The river is bad.", "--inline", "--name", "cli-base")
    job = Job.objects.get()
    assert job.state == JobState.SUCCEEDED and job.config["max_steps"] == 2 and job.config["texts"][0] == "The apple is good."
    model = ModelVersion.objects.get(job=job)
    assert (model.name, model.kind) == ("cli-base", ModelKind.BASE)
    assert f"job {job.pk} bootstrap: succeeded -> model #{model.pk} cli-base (base)" in out


def test_a_bad_config_is_refused_with_the_field_and_nothing_is_saved(db):
    with pytest.raises(CommandError, match="config.learning_rate: must be > 0"):
        command("train", "bootstrap", "--set", "learning_rate=0", "--text", "x")
    with pytest.raises(CommandError, match="no such snapshot or model"):
        command("train", "sft", "--model", "404")
    model = ModelVersion.objects.create(name="m", kind="base", artifact_path=".")
    with pytest.raises(CommandError, match="config.prompt_ids"):
        command("sample", "--model", str(model.pk), "--prompt", "99", "--k", "4")
    assert not Job.objects.exists()


def test_jobs_lists_follows_and_cancels(db):
    running = Job.objects.create(kind="sft", name="finished one", state=JobState.SUCCEEDED, progress=1.0, attempts=1)
    queued = Job.objects.create(kind="rm", name="waiting")
    JobMetric.objects.create(job=running, step=10, values={"loss": 0.25})

    listing = command("jobs")
    assert "finished one" in listing and "waiting" in listing and "100.0%" in listing
    assert "waiting" not in command("jobs", "--state", "succeeded")

    followed = command("jobs", "--follow", str(running.pk))
    assert "1000/1000" in followed and "loss=0.25" in followed and f"job {running.pk} sft: succeeded" in followed

    assert f"job {queued.pk}: cancelled" in command("jobs", "--cancel", str(queued.pk))
    with pytest.raises(CommandError, match="already cancelled"):
        command("jobs", "--cancel", str(queued.pk))
    with pytest.raises(CommandError, match="no job 999"):
        command("jobs", "--follow", "999")


def test_evaluate_table_prints_the_win_rates(db):
    from training.evaluation import win_rate
    a = ModelVersion.objects.create(name="sft", kind="sft", artifact_path="/a")
    b = ModelVersion.objects.create(name="ppo", kind="policy", artifact_path="/b")
    Job.objects.create(kind="evaluate", state=JobState.SUCCEEDED, result={
        "mode": "reward_win_rate", "candidate": b.pk, "baseline": a.pk, "judge": 9, "wins": 7, "ties": 0, "losses": 3,
        **win_rate([["win"]] * 7 + [["loss"]] * 3)})
    out = command("evaluate", "table")
    assert f"#{b.pk} ppo" in out and f"#{a.pk} sft" in out and "70.0%" in out and "7/0/3" in out
