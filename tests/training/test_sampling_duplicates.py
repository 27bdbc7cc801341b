"""A sampling job never asks labelers to rank copies of one answer (issue 13: greedy decoding gave K
identical answers): duplicates are sampled again, and what could not be made different is left out
and reported in the job's metrics."""

import pytest

from tests.support.waiting import wait_for
from training.models import Job, JobState, ModelKind, ModelVersion

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_greedy_copies_are_resampled_then_left_out_and_reported(start_worker, settings, tmp_path, tiny_model_dir,
                                                               make_user, api_client_for):
    from labeling.models import Prompt, Task

    settings.ARTIFACT_ROOT = tmp_path
    base = ModelVersion.objects.create(name="tiny", kind=ModelKind.BASE, artifact_path=str(tiny_model_dir))
    for n in ("apple", "river"):
        Prompt.objects.create(messages=[{"role": "user", "content": f"Tell me about the {n}."}], text=f"Tell me about the {n}.")
    start_worker(queues="gpu", extra_env={"ARTIFACT_ROOT": str(tmp_path), "OMP_NUM_THREADS": "1"})
    engineer = api_client_for(make_user("ml_engineer"))
    response = engineer.post("/api/jobs/", {"kind": "sample", "input_models": [base.pk],
                                            "config": {"k": 4, "max_new_tokens": 6, "do_sample": False}}, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    wait_for(lambda: Job.objects.get(pk=job_id).state in (JobState.SUCCEEDED, JobState.FAILED), timeout=120, message="sampling job")
    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    metrics = job.result["metrics"]
    assert metrics["duplicate_answers"] == 2 * 3  # greedy: four copies of one answer per prompt
    assert metrics["resample_rounds"] == 3 and metrics["resampled_prompts"] == 2 * 3
    assert metrics["prompts_without_two_answers"] == 2
    assert job.result["tasks"] == 0 and not Task.objects.filter(batch=f"sample-job-{job_id}").exists()
    assert "identical answers: 6" in job.log_tail
