"""Jobs on a real gpu worker process (real broker, real database): a tiny job end to end through the
API, cancel within seconds, and a SIGKILLed worker whose job is resumed from its checkpoint."""

import pytest

from tests.support.waiting import wait_for
from training.jobs import resume_step
from training.models import Job, JobMetric, JobState, ModelKind, ModelVersion

TEXTS = [f"User: Tell me about the {n}.\nAssistant: The {n} is {a}." for n in ("apple", "river", "stone", "cloud")
         for a in ("good", "bad", "nice")]
TINY = {"vocab_size": 300, "n_layer": 1, "n_embd": 32, "n_head": 2, "context_length": 64, "block_size": 16,
        "batch_size": 4, "texts": TEXTS}

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gpu_worker(start_worker, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    env = {"ARTIFACT_ROOT": str(tmp_path), "OMP_NUM_THREADS": "1"}
    return lambda: start_worker(queues="gpu", concurrency=1, extra_env=env)


@pytest.fixture
def engineer_client(make_user, api_client_for):
    return api_client_for(make_user("ml_engineer"))


def launch(client, config):
    response = client.post("/api/jobs/", {"kind": "bootstrap", "config": config, "name": "tiny"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def state_of(job_id):
    return Job.objects.get(pk=job_id).state


def test_a_tiny_job_runs_on_the_worker_and_registers_its_model(gpu_worker, engineer_client):
    gpu_worker()
    job_id = launch(engineer_client, dict(TINY, max_steps=6, log_every=2, save_every=3))

    wait_for(lambda: state_of(job_id) in (JobState.SUCCEEDED, JobState.FAILED), timeout=90, message="job finished")

    body = engineer_client.get(f"/api/jobs/{job_id}/").json()
    assert (body["state"], body["progress"], body["attempts"], body["error"]) == ("succeeded", 1.0, 1, "")
    assert body["worker_host"] and body["started_at"] and body["finished_at"]
    assert [m["step"] for m in body["metrics"]] == [2, 4, 6] and "loss" in body["metrics"][0]["values"]
    model = ModelVersion.objects.get(job_id=job_id)
    assert model.kind == ModelKind.BASE and body["model_versions"] == [model.pk]
    assert engineer_client.get(f"/api/models/{model.pk}/lineage/").json()["lineage"][0]["id"] == model.pk


def test_cancel_stops_a_running_job_within_seconds(gpu_worker, engineer_client):
    gpu_worker()
    job_id = launch(engineer_client, dict(TINY, max_steps=100_000, log_every=5, save_every=100_000))
    wait_for(lambda: JobMetric.objects.filter(job_id=job_id).exists(), timeout=60, message="first metrics")

    assert engineer_client.post(f"/api/jobs/{job_id}/cancel/").json()["cancel_requested"] is True
    wait_for(lambda: state_of(job_id) == JobState.CANCELLED, timeout=10, message="cancelled within seconds")

    job = Job.objects.get(pk=job_id)
    assert job.progress < 0.5 and job.finished_at and not ModelVersion.objects.filter(job=job).exists()
    assert resume_step(job.output_dir) > 0  # it left a checkpoint behind
    assert engineer_client.post(f"/api/jobs/{job_id}/cancel/").status_code == 409


def test_a_job_whose_worker_is_killed_resumes_from_its_checkpoint_on_a_new_worker(gpu_worker, engineer_client):
    worker = gpu_worker()
    job_id = launch(engineer_client, dict(TINY, max_steps=150, log_every=10, save_every=10))
    output_dir = wait_for(lambda: Job.objects.get(pk=job_id).output_dir, message="output dir")
    wait_for(lambda: resume_step(output_dir) >= 10, timeout=60, message="a first checkpoint")

    worker.kill()  # SIGKILL: no clean shutdown, the task is never acked
    killed_at = resume_step(output_dir)
    assert state_of(job_id) == JobState.RUNNING and killed_at < 150

    gpu_worker()  # on start it finds the job left running by a dead process and sends it again
    wait_for(lambda: state_of(job_id) in (JobState.SUCCEEDED, JobState.FAILED), timeout=120, message="resumed job finished")

    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.SUCCEEDED and job.attempts == 2
    assert job.result["resumed_from_steps"][0] >= killed_at >= 10  # not from step 0
    steps = list(JobMetric.objects.filter(job=job).values_list("step", flat=True))
    assert steps == list(range(10, 151, 10))  # one point per logged step: nothing lost, nothing twice
    assert ModelVersion.objects.filter(job=job).count() == 1
