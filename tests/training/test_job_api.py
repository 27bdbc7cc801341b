"""The jobs API: who may launch, validation against the engine's config (a 400 naming the field),
inputs per kind, cancel, metrics, the config schema for the launch form, and the model registry."""

import pytest

from training.errors import JobError
from training.models import DatasetSnapshot, Job, JobMetric, JobState, ModelKind, ModelVersion

TINY = {"vocab_size": 300, "max_steps": 4, "texts": ["some text to learn from"]}


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def engineer(make_user, api_client_for):
    return api_client_for(make_user("ml_engineer"))


def model(tmp_path, kind=ModelKind.BASE, name="m"):
    folder = tmp_path / f"model-{name}"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return ModelVersion.objects.create(name=name, kind=kind, artifact_path=str(folder))


def snapshot(tmp_path, kind="sft"):
    path = tmp_path / f"{kind}.jsonl"
    path.write_text('{"prompt": "Hi", "completion": "Hello"}\n')
    return DatasetSnapshot.objects.create(kind=kind, content_hash="x", file_path=str(path))


def test_an_ml_engineer_launches_a_job_and_it_is_queued(engineer, artifacts):
    response = engineer.post("/api/jobs/", {"kind": "bootstrap", "config": TINY, "name": "tiny"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["progress"], body["config"]) == ("queued", 0.0, TINY)
    assert body["output_dir"] == str(artifacts / "models" / f"job-{body['id']}-bootstrap")


@pytest.mark.parametrize("config, field, message", [
    ({"learning_rate": -1}, "learning_rate", "must be > 0"),
    ({"learning_rate": "fast"}, "learning_rate", "expected float, got str"),
    ({"n_embd": 96, "n_head": 5}, "n_head", "must divide n_embd"),
    ({"no_such_knob": 1}, "no_such_knob", "unknown field for BootstrapConfig"),
    ({"texts": "not a list"}, "texts", "expected list"),
])
def test_a_bad_config_is_a_400_naming_the_field(engineer, config, field, message):
    response = engineer.post("/api/jobs/", {"kind": "bootstrap", "config": config}, format="json")
    assert response.status_code == 400
    assert message in response.json()["config"][field][0]
    assert not Job.objects.exists()


@pytest.mark.parametrize("kind, value, message", [
    ("sft", 0, "must be from 1 to 64"),
    ("rm", 65, "must be from 1 to 64"),
    ("ppo", "two", "expected int"),
    ("sample", 2, "unknown field"),  # sampling runs in one process
])
def test_num_processes_is_checked_at_launch(engineer, kind, value, message):
    from training.job_config import split_config

    with pytest.raises(JobError) as err:
        split_config(kind, {"num_processes": value})
    assert err.value.field == "config.num_processes" and message in err.value.message


def test_an_unknown_kind_or_a_config_that_is_not_an_object_is_a_400(engineer):
    assert "kind" in engineer.post("/api/jobs/", {"kind": "dance"}, format="json").json()
    assert "config" in engineer.post("/api/jobs/", {"kind": "sft", "config": [1]}, format="json").json()


def test_inputs_are_checked_per_kind(engineer, tmp_path):
    base, rm = model(tmp_path), model(tmp_path, ModelKind.RM, "rm")
    sft_data = snapshot(tmp_path)

    def launch(kind, **body):
        return engineer.post("/api/jobs/", {"kind": kind, **body}, format="json")

    assert launch("sft", input_models=[base.pk]).json() == {"input_snapshots": ["give exactly one sft snapshot (got 0)"]}
    assert launch("sample", input_models=[rm.pk]).json()["input_models"]
    assert launch("bootstrap", input_models=[base.pk], config=TINY).json()["input_models"]
    assert launch("ppo", input_models=[base.pk]).json()["input_models"] == ["give exactly one reward model (got 0)"]
    assert launch("input", input_models=[999]).status_code == 400
    assert "input_models" in launch("sft", input_models=[999]).json()
    response = launch("sft", input_models=[base.pk], input_snapshots=[sft_data.pk])
    assert response.status_code == 201 and response.json()["input_models"] == [base.pk]


def test_sampling_and_evaluation_prompts_must_exist(engineer, tmp_path):
    from labeling.models import Prompt

    lm = model(tmp_path)
    response = engineer.post("/api/jobs/", {"kind": "sample", "input_models": [lm.pk], "config": {"prompt_ids": [12345]}}, format="json")
    assert response.json() == {"config": {"prompt_ids": ["prompts [12345] do not exist"]}}
    response = engineer.post("/api/jobs/", {"kind": "sample", "input_models": [lm.pk], "config": {"split": "eval", "k": 4}}, format="json")
    assert response.json() == {"config": {"split": ["no prompts to work on (split eval)"]}}
    Prompt.objects.create(messages=[{"role": "user", "content": "Hi"}], text="Hi", split="eval")
    response = engineer.post("/api/jobs/", {"kind": "sample", "input_models": [lm.pk], "config": {"split": "eval", "k": 12}}, format="json")
    assert response.json() == {"config": {"k": ["a ranking task shows 2 to 9 answers"]}}
    assert engineer.post("/api/jobs/", {"kind": "sample", "input_models": [lm.pk], "config": {"split": "eval", "k": 4}},
                         format="json").status_code == 201


def test_an_evaluation_names_its_candidate_baseline_and_judge(engineer, tmp_path):
    from labeling.models import Prompt

    Prompt.objects.create(messages=[{"role": "user", "content": "Hi"}], text="Hi", split="eval")
    old, new, rm = model(tmp_path, name="old"), model(tmp_path, ModelKind.POLICY, "new"), model(tmp_path, ModelKind.RM, "rm")
    body = {"kind": "evaluate", "config": {"mode": "reward_win_rate"}, "input_models": [old.pk, new.pk]}
    assert engineer.post("/api/jobs/", body, format="json").json() == {"input_models": ["give exactly one reward model (the judge) (got 0)"]}
    body["config"]["judge"] = new.pk
    assert engineer.post("/api/jobs/", body, format="json").json() == {"config": {"judge": [f"model version {new.pk} is a policy model"]}}
    body["config"]["judge"] = rm.pk
    response = engineer.post("/api/jobs/", body, format="json")
    assert response.status_code == 201 and sorted(response.json()["input_models"]) == sorted([old.pk, new.pk, rm.pk])
    assert engineer.post("/api/jobs/", {**body, "config": {"mode": "vibes"}}, format="json").json()["config"]["mode"]


def test_labelers_may_not_see_jobs_and_admins_may_read_them(make_user, api_client_for, engineer):
    engineer.post("/api/jobs/", {"kind": "bootstrap", "config": TINY}, format="json")
    assert api_client_for(make_user("labeler")).get("/api/jobs/").status_code == 403
    assert api_client_for(make_user("labeler")).post("/api/jobs/", {"kind": "bootstrap"}, format="json").status_code == 403
    assert api_client_for(make_user("admin")).get("/api/jobs/").json()["count"] == 1
    assert api_client_for(None).get("/api/jobs/").status_code in (401, 403)


def test_jobs_are_listed_newest_first_and_filtered_by_state_and_kind(engineer):
    first = engineer.post("/api/jobs/", {"kind": "bootstrap", "config": TINY}, format="json").json()["id"]
    second = engineer.post("/api/jobs/", {"kind": "bootstrap", "config": TINY}, format="json").json()["id"]
    engineer.post(f"/api/jobs/{first}/cancel/")
    assert [j["id"] for j in engineer.get("/api/jobs/").json()["results"]] == [second, first]
    assert [j["id"] for j in engineer.get("/api/jobs/?state=cancelled&kind=bootstrap").json()["results"]] == [first]
    assert engineer.get("/api/jobs/?kind=sft").json()["count"] == 0


def test_cancel_a_queued_job_then_again_is_a_conflict(engineer):
    job_id = engineer.post("/api/jobs/", {"kind": "bootstrap", "config": TINY}, format="json").json()["id"]
    response = engineer.post(f"/api/jobs/{job_id}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert engineer.post(f"/api/jobs/{job_id}/cancel/").status_code == 409
    assert engineer.post("/api/jobs/99999/cancel/").status_code == 404


def test_the_metrics_series_in_step_order_and_after_a_step(engineer):
    job = Job.objects.create(kind="sft", state=JobState.RUNNING)
    for step in (20, 10, 30):
        JobMetric.objects.create(job=job, step=step, values={"loss": 1.0 / step})
    assert [p["step"] for p in engineer.get(f"/api/jobs/{job.pk}/metrics/").json()] == [10, 20, 30]
    assert [p["step"] for p in engineer.get(f"/api/jobs/{job.pk}/metrics/?after_step=10").json()] == [20, 30]
    assert engineer.get(f"/api/jobs/{job.pk}/metrics/?after_step=x").status_code == 400
    assert [p["step"] for p in engineer.get(f"/api/jobs/{job.pk}/").json()["metrics"]] == [10, 20, 30]


def test_the_config_schema_lists_every_kinds_fields_with_types_and_defaults(engineer):
    kinds = engineer.get("/api/jobs/config-schema/").json()["kinds"]
    assert set(kinds) == {"bootstrap", "sft", "rm", "ppo", "sample", "evaluate", "dpo", "bon"}
    # Every field of every kind says what it is for: the launch form shows it as help text.
    assert all(f.get("help") for kind in kinds.values() for f in kind["fields"])
    sft = {f["name"]: f for f in kinds["sft"]["fields"]}
    assert {k: sft["learning_rate"][k] for k in ("name", "type", "default", "source")} == {
        "name": "learning_rate", "type": "float", "default": 1e-4, "source": "engine"}
    assert sft["mixed_precision"]["choices"] == ["no", "fp16", "bf16"]
    sample = {f["name"]: f for f in kinds["sample"]["fields"]}
    assert (sample["k"]["default"], sample["prompt_ids"]["type"], sample["split"]["source"]) == (4, "list", "job")
    assert {f["name"]: f for f in kinds["evaluate"]["fields"]}["mode"]["choices"] == ["rm_accuracy", "reward_win_rate", "human_comparison"]


def test_registering_an_existing_model_folder(engineer, tmp_path):
    folder = tmp_path / "smollm2"
    folder.mkdir()
    response = engineer.post("/api/models/", {"name": "SmolLM2", "kind": "base", "artifact_path": str(folder)}, format="json")
    assert response.status_code == 400 and "config.json" in response.json()["artifact_path"][0]
    (folder / "config.json").write_text("{}")
    response = engineer.post("/api/models/", {"name": "SmolLM2", "kind": "base", "artifact_path": str(folder)}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "base"
    assert engineer.get("/api/models/?kind=base").json()["results"][0]["name"] == "SmolLM2"
