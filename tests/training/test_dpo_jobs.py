"""DPO, listwise and best-of-N as jobs: launch checks (a 400 naming the field), runs with registry lineage
(snapshot, reference model), and a DPO job on a real gpu worker that is killed, resumes and is cancelled."""

import json

import pytest

from tests.support.waiting import wait_for
from training import jobs, registry
from training.jobs import resume_step
from training.models import DatasetSnapshot, Job, JobMetric, JobState, ModelKind, ModelVersion

NOUNS = ("apple", "river", "stone", "cloud", "tree", "house")
TEXTS = [f"User: Tell me about the {n}.\nAssistant: The {n} is {a}." for n in NOUNS for a in ("good", "nice", "bad")]
RANKINGS = [{"prompt": f"Tell me about the {n}.", "responses": [f"The {n} is good.", f"The {n} is nice.",
                                                                 f"The {n} is bad."], "ranks": [1, 1, 3]}
            for n in NOUNS]
SMALL = {"batch_size": 2, "max_steps": 4, "log_every": 2, "save_every": 2}


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def tiny_lm(artifacts):
    """A registered base model (a one-layer GPT-2 bootstrapped in a second) and the rankings snapshot."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap

    bootstrap(artifacts / "base", texts=TEXTS, config=BootstrapConfig(
        vocab_size=300, n_layer=1, n_embd=32, n_head=2, context_length=64, block_size=16, batch_size=4, max_steps=4,
        log_every=4))
    base = registry.register_existing("base", ModelKind.BASE, artifacts / "base")
    return base, snapshot(artifacts, "rankings", RANKINGS)


def snapshot(root, kind, records):
    path = root / f"{kind}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return DatasetSnapshot.objects.create(kind=kind, content_hash=kind, file_path=str(path), counts={"rankings": 6})


def run(kind, config, snapshots=(), models=()):
    job = jobs.create_job(kind, config, snapshots, models)
    assert jobs.execute(job.pk) == JobState.SUCCEEDED, Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    return job


@pytest.fixture
def engineer(make_user, api_client_for):
    return api_client_for(make_user("ml_engineer"))


@pytest.mark.django_db
def test_bad_dpo_and_best_of_n_launches_are_a_400_naming_the_field(engineer, tiny_lm, artifacts):
    base, rankings = tiny_lm
    rm = registry.register_existing("rm", ModelKind.RM, artifacts / "base")
    demos = snapshot(artifacts, "sft", [{"prompt": "Hi", "completion": "Hello"}])

    def launch(kind, config=None, snapshots=(rankings,), models=(base,)):
        return engineer.post("/api/jobs/", {"kind": kind, "config": config or {}, "input_snapshots": [s.pk for s in snapshots],
                                            "input_models": [m.pk for m in models]}, format="json")

    response = launch("dpo", {"beta": 0})
    assert response.status_code == 400 and response.json()["config"]["beta"] == ["must be > 0"]
    assert launch("dpo", {"loss": "hinge"}).json()["config"]["loss"] == ["must be one of pairwise, listwise"]
    response = launch("dpo", snapshots=[demos])
    assert response.status_code == 400
    assert response.json()["input_snapshots"] == [f"snapshot #{demos.pk} is a sft snapshot; a dpo job takes pairs "
                                                  "or rankings snapshots"]
    assert launch("dpo", snapshots=[]).json()["input_snapshots"] == ["give exactly one pairs or rankings snapshot (got 0)"]
    assert "input_models" in launch("dpo", models=[base, rm]).json()
    assert launch("dpo", {"reference": rm.pk}).json()["config"]["reference"] == [f"model version {rm.pk} is a rm model"]
    assert launch("bon", {"n": 0}, snapshots=[], models=[base, rm]).json()["config"]["n"] == ["must be > 0"]
    assert launch("bon", snapshots=[], models=[base]).json()["input_models"] == ["give exactly one reward model "
                                                                                  "(it picks the best of N) (got 0)"]
    assert launch("bon", snapshots=[rankings], models=[base, rm]).status_code == 400
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_launch_form_schema_has_the_dpo_and_best_of_n_fields(engineer):
    kinds = engineer.get("/api/jobs/config-schema/").json()["kinds"]
    dpo = {f["name"]: f for f in kinds["dpo"]["fields"]}
    assert dpo["loss"]["choices"] == ["pairwise", "listwise"] and dpo["beta"]["default"] == 0.1
    assert dpo["reference"]["source"] == "job"
    bon = {f["name"]: f for f in kinds["bon"]["fields"]}
    assert bon["n"]["type"] == "int" and bon["split"]["default"] == "ppo" and bon["finetune"]["type"] == "bool"


@pytest.mark.slow
@pytest.mark.django_db
def test_dpo_listwise_and_best_of_n_jobs_register_policies_with_their_lineage(tiny_lm, artifacts):
    from labeling.models import Prompt

    base, rankings = tiny_lm
    sft = registry.register_existing("sft", ModelKind.SFT, artifacts / "base", parents=[base])
    dpo_job = run("dpo", {**SMALL, "eval_fraction": 0.0}, [rankings], [sft])
    dpo = ModelVersion.objects.get(job=dpo_job)
    assert dpo.kind == ModelKind.POLICY and [m.pk for m in dpo.parents.all()] == [sft.pk]
    assert dpo_job.result["steps"] == 4 and "reward_accuracy" in dpo.metrics
    assert list(dpo_job.input_snapshots.all()) == [rankings]

    # listwise against another reference: both are parents, and the reference, recorded among the job's input
    # models, is told apart from the policy when the worker resolves them again
    listwise_job = run("dpo", {**SMALL, "loss": "listwise", "reference": base.pk, "eval_fraction": 0.0}, [rankings], [sft])
    listwise = ModelVersion.objects.get(job=listwise_job)
    assert sorted(m.pk for m in listwise.parents.all()) == [base.pk, sft.pk]
    assert sorted(m.pk for m in listwise_job.input_models.all()) == [base.pk, sft.pk]

    for n in NOUNS[:4]:
        Prompt.objects.create(messages=[{"role": "user", "content": f"Tell me about the {n}."}], text=n, split="ppo")
    rm_job = run("rm", {**SMALL, "eval_fraction": 0.0, "normalize": False}, [rankings], [sft])
    rm = ModelVersion.objects.get(job=rm_job)
    bon_job = run("bon", {**SMALL, "n": 3, "max_new_tokens": 4}, [], [sft, rm])
    bon = ModelVersion.objects.get(job=bon_job)
    assert sorted(m.pk for m in bon.parents.all()) == [sft.pk, rm.pk] and bon.metrics["prompts"] == 4
    baseline = run("bon", {"n": 2, "max_new_tokens": 4, "finetune": False}, [], [sft, rm])
    assert not ModelVersion.objects.filter(job=baseline).exists()
    kept = [json.loads(line) for line in open(baseline.result["answers"])]
    assert len(kept) == 4 and all(k["completion"] == k["responses"][k["best"]] for k in kept)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_dpo_job_on_the_worker_resumes_after_a_kill_and_is_cancelled(start_worker, engineer, tiny_lm, artifacts):
    base, rankings = tiny_lm
    env = {"ARTIFACT_ROOT": str(artifacts), "OMP_NUM_THREADS": "1"}
    worker = start_worker(queues="gpu", concurrency=1, extra_env=env)
    response = engineer.post("/api/jobs/", {"kind": "dpo", "config": {"loss": "listwise", "batch_size": 2,
                                                                       "max_steps": 100_000, "log_every": 5,
                                                                       "save_every": 5, "eval_fraction": 0.0},
                                            "input_snapshots": [rankings.pk], "input_models": [base.pk]}, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    output_dir = wait_for(lambda: Job.objects.get(pk=job_id).output_dir, message="output dir")
    wait_for(lambda: resume_step(output_dir) >= 10, timeout=90, message="a first checkpoint")

    worker.kill()  # SIGKILL: the task is never acked
    killed_at = resume_step(output_dir)
    start_worker(queues="gpu", concurrency=1, extra_env=env)  # finds the job left running and sends it again
    wait_for(lambda: Job.objects.get(pk=job_id).attempts == 2
             and JobMetric.objects.filter(job_id=job_id, step__gt=killed_at + 5).exists(),
             timeout=90, message="the resumed job logs past its checkpoint")

    assert engineer.post(f"/api/jobs/{job_id}/cancel/").json()["cancel_requested"] is True
    wait_for(lambda: Job.objects.get(pk=job_id).state == JobState.CANCELLED, timeout=15, message="cancelled")
    job = Job.objects.get(pk=job_id)
    assert job.result["resumed_from_steps"][0] >= killed_at >= 10  # not from step 0
    steps = list(JobMetric.objects.filter(job=job).values_list("step", flat=True))
    assert steps == list(range(5, steps[-1] + 1, 5))  # one point per logged step: nothing lost, nothing twice
    assert resume_step(output_dir) > killed_at and not ModelVersion.objects.filter(job=job).exists()
