"""Dataset snapshots: what goes in, the exchange layouts, filters, hashing, the API and the command."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from labeling.models import (Assignment, ComparisonPair, Demonstration, Guideline, GuidelineVersion, Origin, Prompt,
                             RankedResponse, Ranking, Response)
from labeling.ranking import RuleError, create_ranking_task
from training.datasets import SnapshotFilter, freeze_snapshot
from training.models import DatasetSnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifact_root(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"
    return settings.ARTIFACT_ROOT


def prompt(messages, split="rm"):
    messages = [{"role": "user", "content": messages}] if isinstance(messages, str) else messages
    return Prompt.objects.create(messages=messages, text=messages[-1]["content"], split=split)


def ranking_of(labeler, p, texts, ranks, version=None, expand=True):
    responses = [Response.objects.create(prompt=p, text=t, origin=Origin.MODEL) for t in texts]
    task = create_ranking_task(p, responses)
    assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now())
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler, guideline_version=version)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, ranks)])
    if expand:
        from labeling.pairs import expand_rankings
        expand_rankings([ranking.id])
    return ranking


def lines(snapshot):
    with open(snapshot.file_path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_sft_takes_accepted_demonstrations_and_submitted_ones_only_when_asked(make_user):
    ann = make_user("labeler")
    single, chat = prompt("Say hi."), prompt([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi?"}], "sft")
    Demonstration.objects.create(prompt=single, labeler=ann, text="Hi!", review_state="accepted")
    Demonstration.objects.create(prompt=chat, labeler=ann, text="Hello, friend.", review_state="submitted")
    Demonstration.objects.create(prompt=single, labeler=ann, text="Go away.", review_state="rejected")

    assert lines(freeze_snapshot("sft")) == [{"prompt": "Say hi.", "completion": "Hi!"}]
    snapshot = freeze_snapshot("sft", {"include_submitted": True})
    assert lines(snapshot) == [
        {"prompt": "Say hi.", "completion": "Hi!"},
        {"prompt": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi?"}],
         "completion": [{"role": "assistant", "content": "Hello, friend."}]},
    ]
    assert snapshot.counts == {"examples": 2, "prompts": 2, "labelers": 1}


def test_pairs_and_rankings_in_the_exchange_layout(make_user):
    ann = make_user("labeler")
    ranking_of(ann, prompt("Best fruit?"), ["pear", "apple", "rock"], [2, 1, 3])
    ranking_of(ann, prompt("Tie?"), ["x", "y"], [1, 1])  # a tie: a ranking line, no pair

    pairs = freeze_snapshot("pairs")
    assert lines(pairs) == [
        {"prompt": "Best fruit?", "chosen": "apple", "rejected": "pear"},
        {"prompt": "Best fruit?", "chosen": "apple", "rejected": "rock"},
        {"prompt": "Best fruit?", "chosen": "pear", "rejected": "rock"},
    ]
    assert pairs.counts == {"pairs": 3, "rankings": 1, "prompts": 1, "labelers": 1}
    rankings = freeze_snapshot("rankings")
    assert [(r["prompt"], r["responses"], r["ranks"]) for r in lines(rankings)] == [
        ("Best fruit?", ["pear", "apple", "rock"], [2, 1, 3]), ("Tie?", ["x", "y"], [1, 1])]


def test_rankings_not_yet_expanded_are_expanded_when_freezing(make_user):
    ranking = ranking_of(make_user("labeler"), prompt("q"), ["a", "b", "c"], [1, 2, 3], expand=False)
    assert freeze_snapshot("pairs").counts["pairs"] == 3
    assert ComparisonPair.objects.filter(ranking=ranking).count() == 3


def test_the_file_is_named_by_its_content_hash_and_the_same_labels_give_the_same_bytes(make_user, artifact_root):
    ranking_of(make_user("labeler"), prompt("Ünïcödé ✓?"), ["ja", "nein"], [1, 2])
    first, second = freeze_snapshot("pairs", name="one"), freeze_snapshot("pairs", name="two")
    data = open(first.file_path, "rb").read()
    assert first.content_hash == second.content_hash == hashlib.sha256(data).hexdigest()
    assert first.file_path == second.file_path == str(artifact_root / "datasets" / f"pairs-{first.content_hash[:16]}.jsonl")
    assert "Ünïcödé ✓?".encode() in data  # UTF-8, not \\u escapes


def test_filters_splits_guideline_versions_labelers_and_agreement(make_user):
    ann, bob, cat = make_user("labeler"), make_user("labeler"), make_user("labeler")
    guideline = Guideline.objects.create(name="g")
    v1 = GuidelineVersion.objects.create(guideline=guideline, number=1, body="b", published_at=timezone.now())
    shared = prompt("shared", split="rm")
    responses = [Response.objects.create(prompt=shared, text=t, origin=Origin.MODEL) for t in ("a", "b", "c")]
    task = create_ranking_task(shared, responses, labelers_required=2)
    for labeler, ranks in ((ann, [1, 2, 3]), (bob, [3, 2, 1])):  # they disagree on every pair
        assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now())
        r = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler, guideline_version=v1)
        RankedResponse.objects.bulk_create([RankedResponse(ranking=r, response=x, rank=k) for x, k in zip(responses, ranks)])
    ranking_of(cat, prompt("eval prompt", split="eval"), ["x", "y"], [1, 2])

    def count(**filters):
        return freeze_snapshot("rankings", filters).counts["rankings"]

    assert count() == 3
    assert count(splits=["rm"]) == 2 and count(splits=["eval", "rm"]) == 3
    assert count(guideline_versions=[v1.id]) == 2
    assert count(exclude_labelers=[ann.username, bob.id]) == 1
    snapshot = freeze_snapshot("rankings", {"min_agreement": 0.5})
    assert snapshot.counts["rankings"] == 0  # ann and bob agree 0%; cat's agreement can't be measured
    assert snapshot.counts["labelers_below_agreement"] == 3
    assert snapshot.filters == {"splits": [], "guideline_versions": [], "min_agreement": 0.5, "exclude_labelers": [],
                                "include_submitted": False, "labeler_weights": None}


@pytest.mark.parametrize("filters,field", [
    ({"splits": ["train"]}, "filters.splits"), ({"splits": "rm"}, "filters.splits"),
    ({"min_agreement": 1.5}, "filters.min_agreement"), ({"min_agreement": "high"}, "filters.min_agreement"),
    ({"exclude_labelers": ["nobody"]}, "filters.exclude_labelers"), ({"guideline_versions": ["v1"]}, "filters.guideline_versions"),
    ({"include_submitted": "yes"}, "filters.include_submitted"), ({"colour": "red"}, "filters.colour"), ([], "filters"),
])
def test_bad_filters_name_their_field(filters, field):
    with pytest.raises(RuleError) as err:
        SnapshotFilter.from_dict(filters)
    assert err.value.field == field


def test_api_freeze_list_and_streamed_download(make_user, api_client_for):
    ranking_of(make_user("labeler"), prompt("q"), ["a", "b"], [1, 2])
    engineer = api_client_for(make_user("ml_engineer"))
    assert api_client_for(make_user("labeler")).post("/api/snapshots/", {"kind": "pairs"}, format="json").status_code == 403
    assert engineer.post("/api/snapshots/", {"kind": "dpo"}, format="json").json().keys() == {"kind"}
    bad = engineer.post("/api/snapshots/", {"kind": "pairs", "filters": {"splits": ["x"]}}, format="json")
    assert bad.status_code == 400 and "splits" in bad.json()["filters"]  # a dotted field, nested (web/errors.py)

    created = engineer.post("/api/snapshots/", {"kind": "pairs", "name": '../../etc/pass"wd;.sh', "filters": {"splits": ["rm"]}},
                            format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["counts"]["pairs"] == 1 and body["filters"]["splits"] == ["rm"]
    assert [s["id"] for s in api_client_for(make_user("admin")).get("/api/snapshots/?kind=pairs").json()["results"]] == [body["id"]]

    download = engineer.get(body["download_url"])
    assert download.status_code == 200 and download.streaming
    assert download["Content-Disposition"] == f'attachment; filename="etcpasswdsh-pairs-{body["id"]}.jsonl"'
    assert download["ETag"] == f'"{body["content_hash"]}"'
    assert b"".join(download.streaming_content) == b'{"prompt": "q", "chosen": "a", "rejected": "b"}\n'
    assert api_client_for(make_user("labeler")).get(body["download_url"]).status_code == 403
    assert engineer.get("/api/snapshots/999999/download/").status_code == 404


def test_export_command_freezes_or_exports_a_named_snapshot(make_user, tmp_path, capsys):
    ranking_of(make_user("labeler"), prompt("q"), ["a", "b", "c"], [1, 2, 2])
    out = tmp_path / "pairs.jsonl"
    call_command("export_dataset", "--kind", "pairs", "--out", str(out), "--split", "rm")
    snapshot = DatasetSnapshot.objects.get()
    assert out.read_bytes() == open(snapshot.file_path, "rb").read() and len(out.read_text().splitlines()) == 2
    assert snapshot.filters["splits"] == ["rm"]

    again = tmp_path / "again.jsonl"
    call_command("export_dataset", "--snapshot", str(snapshot.id), "--out", str(again))
    assert again.read_bytes() == out.read_bytes() and DatasetSnapshot.objects.count() == 1
    with pytest.raises(CommandError, match="of kind pairs"):
        call_command("export_dataset", "--snapshot", str(snapshot.id), "--kind", "sft", "--out", str(again))
    with pytest.raises(CommandError, match="filters.min_agreement"):
        call_command("export_dataset", "--kind", "sft", "--out", str(again), "--min-agreement", "2")
