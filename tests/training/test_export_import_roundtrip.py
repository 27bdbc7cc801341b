"""export -> import -> export gives the same file, byte for byte."""

import gzip
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from labeling.models import Assignment, Origin, Prompt, RankedResponse, Ranking, Response
from labeling.ranking import create_ranking_task

DATA = Path(__file__).resolve().parents[2] / "data"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifact_root(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"


def labelled(labeler, messages, texts, ranks, split="rm", category="other"):
    p = Prompt.objects.create(messages=messages, text=messages[-1]["content"], split=split, category=category)
    responses = [Response.objects.create(prompt=p, text=t, origin=Origin.MODEL) for t in texts]
    task = create_ranking_task(p, responses)
    assignment = Assignment.objects.create(task=task, labeler=labeler, state="submitted", lease_expires_at=timezone.now())
    ranking = Ranking.objects.create(task=task, assignment=assignment, labeler=labeler)
    RankedResponse.objects.bulk_create([RankedResponse(ranking=ranking, response=r, rank=k) for r, k in zip(responses, ranks)])


def export(kind, path, *extra):
    call_command("export_dataset", "--kind", kind, "--out", str(path), *extra)
    return path.read_bytes()


def test_hand_made_rankings_survive_the_round_trip(make_user, tmp_path):
    ann = make_user("labeler")
    labelled(ann, [{"role": "user", "content": "Best colour?"}], ["blue", "red", "grey", "beige"], [2, 1, 2, 4],
             category="brainstorming")
    labelled(ann, [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Ça va ? 🙂"}],
             ["Oui.", "Non.", "Peut-être.", "…", "Bien, merci !", "Bof.", "Ça roule.", "Très bien.", "Mal."],
             [3, 9, 5, 8, 1, 6, 2, 4, 7], split="eval", category="chat")
    labelled(ann, [{"role": "user", "content": "Line\nbreaks \"quoted\" \\ backslash"}], ["a\tb", "a\nb"], [1, 1])

    rankings, pairs = export("rankings", tmp_path / "r1.jsonl"), export("pairs", tmp_path / "p1.jsonl")
    call_command("import_rankings", str(tmp_path / "r1.jsonl"), "--format", "kwise")
    assert export("rankings", tmp_path / "r2.jsonl", "--exclude-labeler", ann.username) == rankings
    assert export("pairs", tmp_path / "p2.jsonl", "--exclude-labeler", ann.username) == pairs
    assert len(rankings.splitlines()) == 3 and len(pairs.splitlines()) == 5 + 36 + 0


def test_openassistant_trees_survive_the_round_trip(tmp_path):
    call_command("import_rankings", str(DATA / "oasst" / "en_100_tree.jsonl.gz"), "--format", "oasst")
    first = export("rankings", tmp_path / "first.jsonl")
    first_pairs = export("pairs", tmp_path / "first-pairs.jsonl")
    call_command("import_rankings", str(tmp_path / "first.jsonl"))  # format detected: kwise
    oasst_user = get_user_model().objects.get(username="import:oasst")
    assert export("rankings", tmp_path / "second.jsonl", "--exclude-labeler", str(oasst_user.id)) == first
    assert export("pairs", tmp_path / "second-pairs.jsonl", "--exclude-labeler", str(oasst_user.id)) == first_pairs
    assert len(first.splitlines()) == 211 and len(first_pairs.splitlines()) == 751

    # The pairs are the reference derivation's, in its order (group by group, better ranks first).
    def text(value):
        return value if isinstance(value, str) else value[-1]["content"]

    def conversation(prompt):
        return [prompt] if isinstance(prompt, str) else [m["content"] for m in prompt]

    ours = [json.loads(line) for line in first_pairs.decode().splitlines()]
    with gzip.open(DATA / "oasst" / "pairs.jsonl.gz", "rt", encoding="utf-8") as f:
        reference = [json.loads(line) for line in f]
    assert [(conversation(p["prompt"]), text(p["chosen"]), text(p["rejected"])) for p in ours] == [
        ([turn["text"] for turn in r["conversation"]], r["chosen"], r["rejected"]) for r in reference]
