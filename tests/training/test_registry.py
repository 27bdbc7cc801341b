"""The model registry: a job's output is registered once, and lineage reads base -> SFT -> RM -> policy."""

import pytest

from training import registry
from training.models import Job, ModelKind, ModelVersion


@pytest.fixture
def chain(db, tmp_path):
    """base (bootstrap job) -> sft -> rm -> policy (PPO from the SFT model and the RM)."""
    def made_by(kind, parents):
        job = Job.objects.create(kind=kind)
        return registry.register_job_output(job, tmp_path / f"{kind}-{job.pk}", parents=parents, metrics={"loss": 0.5})

    base = made_by("bootstrap", [])
    sft = made_by("sft", [base])
    rm = made_by("rm", [sft])
    policy = made_by("ppo", [sft, rm])
    return base, sft, rm, policy


def test_each_job_kind_makes_its_model_kind(chain):
    assert [m.kind for m in chain] == [ModelKind.BASE, ModelKind.SFT, ModelKind.RM, ModelKind.POLICY]
    assert [m.name for m in chain] == [f"{m.kind}-job-{m.job_id}" for m in chain]


def test_lineage_lists_ancestors_nearest_first_newest_first_among_equals(chain):
    base, sft, rm, policy = chain
    assert [m["id"] for m in registry.lineage_chain(policy)] == [policy.pk, rm.pk, sft.pk, base.pk]
    assert registry.lineage_chain(policy)[0]["parents"] == [sft.pk, rm.pk]
    assert [m["id"] for m in registry.lineage_chain(base)] == [base.pk]


def test_registering_the_same_job_output_twice_gives_the_same_model(chain, tmp_path):
    _, sft, _, _ = chain
    again = registry.register_job_output(sft.job, sft.artifact_path, parents=[], metrics={"loss": 9.0})
    assert again.pk == sft.pk and again.metrics == {"loss": 0.5}
    assert ModelVersion.objects.filter(job=sft.job).count() == 1


def test_metrics_that_are_not_json_numbers_are_left_out(db, tmp_path):
    job = Job.objects.create(kind="sft")
    model = registry.register_job_output(job, tmp_path, metrics={"loss": float("nan"), "acc": 0.75, "ok": True, "x": [1]})
    assert model.metrics == {"acc": 0.75}


def test_the_lineage_endpoint(chain, make_user, api_client_for):
    base, sft, rm, policy = chain
    body = api_client_for(make_user("ml_engineer")).get(f"/api/models/{policy.pk}/lineage/").json()
    assert [(m["kind"], m["id"]) for m in body["lineage"]] == [("policy", policy.pk), ("rm", rm.pk), ("sft", sft.pk), ("base", base.pk)]
