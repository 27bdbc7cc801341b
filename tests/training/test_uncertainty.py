"""Uncertainty-ordered sampling: a sampling job given a reward-model ensemble creates its ranking tasks
most uncertain first, `next` hands them out in that order, and a budget keeps only the most uncertain;
a reward-model job trains the ensemble heads. Run in this process (training.jobs.execute)."""

import json
from pathlib import Path

import pytest
import torch

from labeling.models import Prompt, Task
from tests.support.builders import client_as, next_work, submit
from training import jobs
from training.engine.ensemble import EnsembleConfig, load_ensemble, train_ensemble
from training.models import JobState, ModelKind, ModelVersion
from training.uncertainty import priorities

NOUNS = ("apple", "river", "stone", "cloud", "tree")
TEXTS = [f"User: Tell me about the {n}.\nAssistant: The {n} is {a}." for n in NOUNS for a in ("good", "bad", "nice")]
RANKINGS = [{"prompt": f"Tell me about the {n}.", "responses": [f"The {n} is good.", f"The {n} is bad."],
             "ranks": [1, 2]} for n in NOUNS[:3]]


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    """A tiny base model and a 4-head ensemble trained beside it."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap

    base, ensemble = tmp_path_factory.mktemp("tiny-base"), tmp_path_factory.mktemp("tiny-ensemble")
    bootstrap(base, texts=TEXTS, config=BootstrapConfig(vocab_size=300, n_layer=1, n_embd=32, n_head=2,
                                                         context_length=64, block_size=16, batch_size=4, max_steps=8))
    train_ensemble(base, RANKINGS, ensemble, EnsembleConfig(heads=4, epochs=2, batch_size=2))
    return base, ensemble


@pytest.fixture
def models(db, settings, tmp_path, tiny_dirs):
    settings.ARTIFACT_ROOT = tmp_path
    base, ensemble = tiny_dirs
    for n in NOUNS:
        Prompt.objects.create(messages=[{"role": "user", "content": f"Tell me about the {n}."}],
                              text=f"Tell me about the {n}.", split="rm")
    return (ModelVersion.objects.create(name="tiny", kind=ModelKind.BASE, artifact_path=str(base)),
            ModelVersion.objects.create(name="ensemble", kind=ModelKind.RM, artifact_path=str(ensemble)))


def run_sample(base, rm, **config):
    job = jobs.create_job("sample", {"split": "rm", "k": 3, "max_new_tokens": 6, "order_by_uncertainty": True, **config},
                          input_models=[base, rm])
    assert jobs.execute(job.pk) == JobState.SUCCEEDED, job.error
    job.refresh_from_db()
    return job


def independent_scores(job, ensemble_dir):
    """Each sampled prompt's uncertainty, scored again from the job's samples file."""
    ensemble = load_ensemble(ensemble_dir)
    lines = [json.loads(line) for line in (Path(job.output_dir) / "samples.jsonl").read_text().splitlines()]
    return {line["id"]: ensemble.score(line["prompt"], line["responses"])["uncertainty"] for line in lines}


@pytest.mark.slow
def test_next_hands_out_the_sampled_tasks_most_uncertain_first(models, tiny_dirs):
    base, rm = models
    job = run_sample(base, rm)
    order = [row["task"] for row in job.result["uncertainty"]]
    scores = independent_scores(job, tiny_dirs[1])
    prompt_of = dict(Task.objects.filter(pk__in=order).values_list("id", "prompt_id"))
    assert [scores[prompt_of[t]] for t in order] == sorted(scores.values(), reverse=True)
    assert len(set(scores.values())) == len(NOUNS)  # a real order, not a tie
    assert dict(Task.objects.filter(pk__in=order).values_list("id", "priority")) == dict(zip(order, priorities(len(order))))

    labeler, handed = client_as("labeler"), []
    while (response := next_work(labeler, prefetch=False)).status_code == 200:
        item = response.json()
        handed.append(item["task"]["id"])
        assert submit(labeler, item).status_code == 201
    assert handed == order


@pytest.mark.slow
def test_a_budget_keeps_only_the_most_uncertain_prompts(models, tiny_dirs):
    base, rm = models
    job = run_sample(base, rm, uncertainty_budget=2)
    scores = independent_scores(job, tiny_dirs[1])
    kept = set(Task.objects.filter(batch=f"sample-job-{job.pk}").values_list("prompt_id", flat=True))
    assert kept == set(sorted(scores, key=scores.get, reverse=True)[:2])
    assert (job.result["tasks"], job.result["prompts_sampled"], job.config["uncertainty_budget"]) == (2, 5, 2)


@pytest.mark.parametrize("config, with_rm, field", [
    ({"order_by_uncertainty": True}, False, "input_models"),
    ({"uncertainty_budget": 2}, True, "config.uncertainty_budget"),
    ({"order_by_uncertainty": True, "uncertainty_budget": -1}, True, "config.uncertainty_budget"),
    ({}, True, "input_models"),  # a reward model given without asking it to order
])
def test_bad_uncertainty_settings_are_refused_naming_the_field(models, config, with_rm, field):
    base, rm = models
    with pytest.raises(jobs.JobError) as caught:
        jobs.create_job("sample", {"split": "rm", **config}, input_models=[base, rm] if with_rm else [base])
    assert caught.value.field == field


def test_a_reward_model_without_ensemble_heads_cannot_order(models, tiny_dirs):
    base, _ = models
    plain = ModelVersion.objects.create(name="plain", kind=ModelKind.RM, artifact_path=str(tiny_dirs[0]))
    with pytest.raises(jobs.JobError) as caught:
        jobs.create_job("sample", {"split": "rm", "order_by_uncertainty": True}, input_models=[base, plain])
    assert caught.value.field == "input_models" and "ensemble" in caught.value.message


@pytest.mark.slow
def test_a_reward_model_job_trains_ensemble_heads_beside_its_own_head(models, tmp_path):
    from training.engine.reward import load_reward_model
    from training.models import DatasetSnapshot

    base, _ = models
    data = tmp_path / "rankings.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in RANKINGS))
    snapshot = DatasetSnapshot.objects.create(kind="rankings", file_path=str(data), content_hash="x" * 64,
                                              counts={"rankings": len(RANKINGS)})
    job = jobs.create_job("rm", {"ensemble_heads": 3, "max_steps": 2, "batch_size": 2, "eval_fraction": 0.0},
                          input_snapshots=[snapshot], input_models=[base])
    assert jobs.execute(job.pk) == JobState.SUCCEEDED
    job.refresh_from_db()
    made = ModelVersion.objects.get(pk=job.result["model_version"])
    ensemble, own = load_ensemble(made.artifact_path), load_reward_model(made.artifact_path)
    assert ensemble.heads.out_features == 3 and made.metrics["ensemble_heads"] == 3
    assert not torch.allclose(own.head.weight, ensemble.heads.weight.mean(0, keepdim=True))  # the RM's head stays


@pytest.mark.parametrize("heads", [1, 65])
def test_ensemble_heads_out_of_range_are_refused(heads):
    with pytest.raises(jobs.JobError) as caught:
        jobs.split_config("rm", {"ensemble_heads": heads})
    assert caught.value.field == "config.ensemble_heads"


def test_priorities_fall_with_the_uncertainty_rank():
    assert priorities(3) == [1000, 500, 0]
    assert priorities(1, base=5) == [1005]
    assert priorities(2, base=32000) == [32767, 32000]
