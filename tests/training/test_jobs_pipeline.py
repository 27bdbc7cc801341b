"""The whole training loop as jobs, run in this process with the real engine on tiny models:
bootstrap -> SFT -> reward model -> PPO, with the registry's lineage, then the three evaluations
(reward-model accuracy, reward-judged win rate, side-by-side tasks for people)."""

import json

import pytest

from training import jobs
from training.evaluation import win_rate_table
from training.models import DatasetSnapshot, JobState, ModelKind, ModelVersion

pytestmark = pytest.mark.slow

NOUNS = ("apple", "river", "stone", "cloud", "tree", "house")
GOOD, BAD = ("good", "nice"), ("bad", "sad")
TEXTS = [f"User: Tell me about the {n}.\nAssistant: The {n} is {a}." for n in NOUNS for a in GOOD + BAD]
SMALL = {"batch_size": 4, "max_steps": 4, "log_every": 2, "save_every": 2}


def write_snapshot(tmp_path, kind, records):
    path = tmp_path / f"{kind}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return DatasetSnapshot.objects.create(kind=kind, content_hash=kind, file_path=str(path))


def run(kind, config, snapshots=(), models=()):
    job = jobs.create_job(kind, config, snapshots, models)
    assert jobs.execute(job.pk) == JobState.SUCCEEDED, job.__class__.objects.get(pk=job.pk).error
    job.refresh_from_db()
    return job


def test_bootstrap_sft_rm_ppo_and_evaluations_as_jobs(db, settings, tmp_path):
    from labeling.models import Prompt, Task

    settings.ARTIFACT_ROOT = tmp_path
    for split in ("ppo", "eval"):
        for n in NOUNS[:2]:
            Prompt.objects.create(messages=[{"role": "user", "content": f"Tell me about the {n}."}], text=n, split=split)
    demos = write_snapshot(tmp_path, "sft", [{"prompt": f"Tell me about the {n}.", "completion": f"The {n} is good."} for n in NOUNS])
    pairs = write_snapshot(tmp_path, "pairs", [{"prompt": f"Tell me about the {n}.", "chosen": f"The {n} is good.",
                                                "rejected": f"The {n} is bad."} for n in NOUNS])

    base_job = run("bootstrap", {"vocab_size": 300, "n_layer": 1, "n_embd": 32, "n_head": 2, "context_length": 64,
                                 "block_size": 16, "texts": TEXTS, **SMALL})
    base = ModelVersion.objects.get(job=base_job)
    sft = ModelVersion.objects.get(job=run("sft", {**SMALL, "eval_fraction": 0.0}, [demos], [base]))
    rm_job = run("rm", {**SMALL, "eval_fraction": 0.0}, [pairs, demos], [sft])
    rm = ModelVersion.objects.get(job=rm_job)
    assert "normalization_offset" in rm.metrics  # the demonstrations normalised the reward
    ppo_job = run("ppo", {"iterations": 2, "batch_size": 2, "mini_batch_size": 2, "ppo_epochs": 1, "max_new_tokens": 4,
                          "log_every": 1, "save_every": 1}, [], [sft, rm])
    policy = ModelVersion.objects.get(job=ppo_job)

    assert [(m.kind, m.pk) for m in [policy, *policy.lineage()]] == [
        (ModelKind.POLICY, policy.pk), (ModelKind.RM, rm.pk), (ModelKind.SFT, sft.pk), (ModelKind.BASE, base.pk)]
    assert ppo_job.result["steps"] == 2 and ppo_job.metric_points.count() == 2

    accuracy = run("evaluate", {"mode": "rm_accuracy"}, [pairs], [rm]).result
    assert accuracy["pairs"] == len(NOUNS) and 0.0 <= accuracy["accuracy"] <= 1.0
    rm.refresh_from_db()
    assert rm.metrics[f"accuracy_on_snapshot_{pairs.pk}"] == accuracy["accuracy"]

    judged = run("evaluate", {"mode": "reward_win_rate", "max_new_tokens": 4}, [], [sft, policy, rm]).result
    assert (judged["candidate"], judged["baseline"], judged["judge"], judged["n"]) == (policy.pk, sft.pk, rm.pk, 2)
    assert judged["wins"] + judged["ties"] + judged["losses"] == 2

    human = run("evaluate", {"mode": "human_comparison", "max_new_tokens": 4}, [], [sft, policy])
    tasks = Task.objects.filter(batch=f"compare-job-{human.pk}")
    assert human.result["tasks"] == tasks.count() == 2
    assert all(sorted(r.model_version_id for r in t.responses.all()) == [sft.pk, policy.pk] for t in tasks)
    assert [row["judge"] for row in win_rate_table()] == [f"reward model #{rm.pk}"]  # no human picks yet
