"""Admin actions never discard finished or leased work: lowering a task's labelers_required below the
labelers already at work on it is refused (400), and `export_dataset --out` checks that it can write
the destination before it freezes a snapshot."""

import io

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Ranking, Task
from tests.support.builders import client_as, next_work, ranking_task, submit
from training.models import DatasetSnapshot

pytestmark = pytest.mark.django_db


def test_lowering_labelers_required_under_live_leases_is_refused_and_both_labelers_keep_their_work():
    task = ranking_task(k=2, labelers_required=2)
    first, second, admin = client_as("labeler"), client_as("labeler"), client_as("admin")
    items = [next_work(first).json(), next_work(second).json()]
    response = admin.patch(f"/api/tasks/{task.pk}/", {"labelers_required": 1}, format="json")
    assert response.status_code == 400 and "labelers_required" in response.json()
    assert Task.objects.get(pk=task.pk).labelers_required == 2
    assert [submit(c, item).status_code for c, item in zip((first, second), items)] == [201, 201]
    assert Ranking.objects.filter(task=task).count() == 2
    assert admin.patch(f"/api/tasks/{task.pk}/", {"labelers_required": 3}, format="json").status_code == 200
    assert admin.patch(f"/api/tasks/{task.pk}/", {"labelers_required": 2}, format="json").status_code == 200


def test_raising_it_or_lowering_it_to_the_work_in_hand_is_fine():
    task = ranking_task(k=2, labelers_required=3)
    next_work(client_as("labeler"))
    admin = client_as("admin")
    assert admin.patch(f"/api/tasks/{task.pk}/", {"labelers_required": 1}, format="json").status_code == 200
    assert Task.objects.get(pk=task.pk).labelers_required == 1


@pytest.mark.parametrize("where", ["missing-folder", "a-directory"])
def test_export_to_a_destination_it_cannot_write_freezes_nothing(tmp_path, where):
    out = tmp_path / "no" / "such" / "folder" / "pairs.jsonl" if where == "missing-folder" else tmp_path
    with pytest.raises(CommandError):
        call_command("export_dataset", kind="pairs", out=str(out), stderr=io.StringIO())
    assert DatasetSnapshot.objects.count() == 0


def test_export_writes_the_file_and_leaves_no_temporary_file(tmp_path):
    labeler = client_as("labeler")
    ranking_task(k=3)
    submit(labeler, next_work(labeler).json())
    out = tmp_path / "pairs.jsonl"
    call_command("export_dataset", kind="pairs", out=str(out), stderr=io.StringIO())
    assert len(out.read_text().splitlines()) == 3 and [p.name for p in tmp_path.iterdir()] == ["pairs.jsonl"]
    assert DatasetSnapshot.objects.count() == 1
