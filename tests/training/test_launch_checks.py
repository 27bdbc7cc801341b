"""A job is refused before it is saved when an input snapshot is empty or of a kind it does not take
(issue 13, defect 3: an SFT job on an empty sft snapshot was queued, then failed with a traceback)."""

import pytest

from training.jobs import JobError, create_job
from training.models import DatasetSnapshot, Job, ModelVersion


@pytest.fixture
def base(tmp_path):
    return ModelVersion.objects.create(name="base", kind="base", artifact_path=str(tmp_path))


def snapshot(tmp_path, kind, rows):
    path = tmp_path / f"{kind}-{rows}.jsonl"
    path.write_text("{}\n" * rows)
    key = {"sft": "examples", "pairs": "pairs", "rankings": "rankings"}[kind]
    return DatasetSnapshot.objects.create(kind=kind, counts={key: rows}, content_hash=f"{kind}{rows}", file_path=str(path))


@pytest.mark.django_db
def test_an_sft_job_on_an_empty_sft_snapshot_is_refused_and_says_why(base, tmp_path):
    empty = snapshot(tmp_path, "sft", 0)
    with pytest.raises(JobError) as refused:
        create_job("sft", {}, [empty], [base])
    assert refused.value.field == "input_snapshots"
    assert refused.value.message == (f"snapshot #{empty.pk} is empty (0 examples): accept demonstrations under Review, "
                                     "then freeze a new sft snapshot")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_a_snapshot_of_a_kind_the_job_does_not_take_is_refused_not_ignored(base, tmp_path):
    sft, rankings = snapshot(tmp_path, "sft", 2), snapshot(tmp_path, "rankings", 3)
    with pytest.raises(JobError, match=f"snapshot #{rankings.pk} is a rankings snapshot; a sft job takes sft snapshots"):
        create_job("sft", {}, [sft, rankings], [base])
    with pytest.raises(JobError, match=f"snapshot #{sft.pk} is a sft snapshot; a sample job takes no snapshot"):
        create_job("sample", {}, [sft], [base])
    assert Job.objects.count() == 0
    assert create_job("sft", {}, [sft], [base]).kind == "sft"


@pytest.mark.django_db
def test_the_api_answers_400_naming_the_field(base, tmp_path, make_user, client):
    empty = snapshot(tmp_path, "sft", 0)
    client.force_login(make_user("ml_engineer"))
    response = client.post("/api/jobs/", {"kind": "sft", "input_snapshots": [empty.pk], "input_models": [base.pk]},
                           content_type="application/json")
    assert response.status_code == 400
    assert "is empty (0 examples)" in str(response.json()["input_snapshots"])
