"""A sampling job closes the loop: a model version answers prompts K times on a real gpu worker, the
answers become Response rows and ranking tasks, and the labeling API hands those tasks out."""

import pytest

from tests.support.waiting import wait_for
from training.models import Job, JobState, ModelKind, ModelVersion

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_sampling_job_makes_ranking_tasks_that_labelers_are_handed(start_worker, settings, tmp_path, tiny_model_dir,
                                                                     make_user, api_client_for):
    from labeling.models import Prompt, Task

    settings.ARTIFACT_ROOT = tmp_path
    base = ModelVersion.objects.create(name="tiny", kind=ModelKind.BASE, artifact_path=str(tiny_model_dir))
    prompts = [Prompt.objects.create(messages=[{"role": "user", "content": f"Tell me about the {n}."}],
                                     text=f"Tell me about the {n}.", split="rm") for n in ("apple", "river", "stone")]
    Prompt.objects.create(messages=[{"role": "user", "content": "Not this one."}], text="Not this one.", split="eval")
    start_worker(queues="gpu", extra_env={"ARTIFACT_ROOT": str(tmp_path), "OMP_NUM_THREADS": "1"})

    engineer = api_client_for(make_user("ml_engineer"))
    response = engineer.post("/api/jobs/", {"kind": "sample", "input_models": [base.pk],
                                            "config": {"split": "rm", "k": 4, "max_new_tokens": 8, "labelers_required": 2}},
                             format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    wait_for(lambda: Job.objects.get(pk=job_id).state in (JobState.SUCCEEDED, JobState.FAILED), timeout=120, message="sampling job")

    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    tasks = Task.objects.filter(batch=f"sample-job-{job_id}").order_by("prompt_id")
    assert job.result["tasks"] == 3 and [t.prompt_id for t in tasks] == [p.pk for p in prompts]
    for task in tasks:
        answers = list(task.responses.all())
        assert (task.kind, task.labelers_required, len(answers)) == ("ranking", 2, 4)
        assert {(a.origin, a.model_version_id, a.prompt_id) for a in answers} == {("model", base.pk, task.prompt_id)}

    item = api_client_for(make_user("labeler")).post("/api/work/next/", {}, format="json").json()
    assert item["task"]["id"] in {t.pk for t in tasks} and len(item["responses"]) == 4
