"""Ranking imports: the public sets give the counts their README states, bad files import nothing."""

import gzip
import io
import json
import time
from math import comb
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labeling.importers import hh_dialogue, import_rankings, parse_hh_rlhf
from labeling.models import ComparisonPair, Origin, Prompt, RankedResponse, Ranking, Response

DATA = Path(__file__).resolve().parents[2] / "data"

pytestmark = pytest.mark.django_db


def jsonl(*records, gz=False):
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    return io.BytesIO(gzip.compress(data) if gz else data)


def test_hh_rlhf_train_gives_2000_pairs_in_seconds():
    started = time.monotonic()
    result = import_rankings(DATA / "hh-rlhf" / "train.jsonl.gz", "hh-rlhf")
    elapsed = time.monotonic() - started
    assert result.ok, result.errors
    assert (result.rankings, result.pairs) == (2000, 2000)
    assert ComparisonPair.objects.count() == 2000
    assert not Ranking.objects.filter(pairs_expanded_at__isnull=True).exists()
    assert set(Response.objects.values_list("origin", flat=True)) == {Origin.IMPORT}
    assert set(Ranking.objects.values_list("labeler__username", flat=True)) == {"import:hh-rlhf"}
    assert elapsed < 15, f"import took {elapsed:.1f}s"


def test_hh_rlhf_dialogue_becomes_a_conversation_and_two_answers():
    chosen = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a colour.\n\nAssistant: Red."
    rejected = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a colour.\n\nAssistant: Go away."
    [record] = parse_hh_rlhf({"chosen": chosen, "rejected": rejected}, 1)
    assert record.messages == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                               {"role": "user", "content": "Name a colour."}]
    assert (record.responses, record.ranks) == (["Red.", "Go away."], [1, 2])
    # Answers that start alike are split where the dialogue parts, at the last shared Assistant turn.
    [record] = parse_hh_rlhf({"chosen": chosen, "rejected": chosen[:-4] + "Blue."}, 1)
    assert record.responses == ["Red.", "Blue."]
    assert hh_dialogue("\n\nHuman: a\n\nAssistant: b") == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


def test_oasst_trees_give_211_rankings_and_751_pairs_154_with_k_at_least_3():
    result = import_rankings(DATA / "oasst" / "en_100_tree.jsonl.gz", "oasst")
    assert result.ok, result.errors
    assert (result.rankings, result.pairs) == (211, 751)
    sizes = [len(r.ranks()) for r in Ranking.objects.prefetch_related("items")]
    assert sum(k >= 3 for k in sizes) == 154
    assert sum(comb(k, 2) for k in sizes) == 751  # OASST ranks have no ties

    # Matches the reference derivation: same prompts and the same answers best first.
    reference = [json.loads(line) for line in gzip.open(DATA / "oasst" / "rankings_k3plus.jsonl.gz", "rt", encoding="utf-8")]
    ours = []
    for ranking in Ranking.objects.select_related("task__prompt").order_by("id"):
        items = list(RankedResponse.objects.filter(ranking=ranking).select_related("response").order_by("rank", "response_id"))
        if len(items) >= 3:
            ours.append((ranking.task.prompt.messages, [i.response.text for i in items]))
    assert len(ours) == len(reference) == 154
    for (messages, best_first), ref in zip(ours, reference):
        assert messages[-1] == {"role": "user", "content": ref["prompt"]}
        assert [m["content"] for m in messages] == [turn["text"] for turn in ref["conversation"]]
        assert best_first == [text for _, text in sorted(zip(ref["ranks"], ref["responses"]))]
    assert sum(len(m) > 1 for m, _ in ours) == 63  # multi-turn prompts keep their conversation


def test_kwise_file_with_ties_and_a_conversation():
    result = import_rankings(jsonl(
        {"prompt": "Name a fruit.", "responses": ["apple", "pear", "rock"], "ranks": [1, 1, 3], "split": "rm", "category": "brainstorming"},
        {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
         "responses": [[{"role": "assistant", "content": "4"}], [{"role": "assistant", "content": "5"}]], "ranks": [1, 2]},
        {"prompt": "Pick one.", "chosen": "this", "rejected": "that"},
    ), "kwise")
    assert result.ok, result.errors
    assert (result.rankings, result.pairs) == (3, 2 + 1 + 1)
    fruit = Prompt.objects.get(text="Name a fruit.")
    assert (fruit.split, fruit.category) == ("rm", "brainstorming")
    assert Prompt.objects.get(text="2+2?").messages[0] == {"role": "system", "content": "Be brief."}


def test_gzip_is_recognised_and_the_format_detected():
    result = import_rankings(jsonl({"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: no"}, gz=True))
    assert (result.format, result.rankings, result.pairs) == ("hh-rlhf", 1, 1)


def test_a_file_with_malformed_lines_imports_nothing_and_names_every_bad_line():
    result = import_rankings(jsonl(
        {"prompt": "ok", "responses": ["a", "b"], "ranks": [1, 2]},
        {"prompt": "one answer", "responses": ["a"], "ranks": [1]},
        {"prompt": "ok", "responses": ["a", "b"], "ranks": [1, 2], "split": "train"},
        {"responses": ["a", "b"], "ranks": [1, 2]},
        {"prompt": "ok", "responses": ["a", "b"], "ranks": [0, 1]},
    ), "kwise")
    assert not result.ok
    assert [(e["line"], e["field"]) for e in result.errors] == [(2, "responses"), (3, "split"), (4, "prompt"), (5, "ranks")]
    assert not Ranking.objects.exists() and not Prompt.objects.exists()

    broken = io.BytesIO(b'{"prompt": "ok", "responses": ["a", "b"], "ranks": [1, 2]}\n{not json\n')
    assert [(e["line"], e["field"]) for e in import_rankings(broken).errors] == [(2, "line")]
    assert import_rankings(io.BytesIO(b"\x1f\x8b not really gzip")).errors[0]["field"] == "file"


def test_command_reports_bad_lines_and_exits_non_zero(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok", "responses": ["a", "b"], "ranks": [1, 2]}\n{"prompt": "x"}\n')
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_rankings", str(bad), "--format", "kwise")
    assert "line 2: responses:" in capsys.readouterr().err
    assert not Ranking.objects.exists()

    call_command("import_rankings", str(DATA / "oasst" / "rankings_k3plus.jsonl.gz"), "--format", "kwise", "--split", "rm")
    assert "imported 154 rankings (kwise) with" in capsys.readouterr().out
    assert Ranking.objects.count() == 154


def test_api_import_is_for_admins_and_answers_400_with_line_errors(make_user, api_client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(user, body, **extra):
        return api_client_for(user).post("/api/imports/rankings/", {"file": SimpleUploadedFile("r.jsonl.gz", body), **extra},
                                         format="multipart")

    good = gzip.compress(b'{"prompt": "q", "responses": ["a", "b", "c"], "ranks": [2, 1, 3]}\n')
    assert upload(make_user("labeler"), good).status_code == 403
    assert upload(make_user("ml_engineer"), good).status_code == 403
    admin = make_user("admin")
    response = upload(admin, good, format="kwise", split="rm")
    assert response.status_code == 201, response.content
    assert response.json() | {"errors": []} == {"format": "kwise", "rankings": 1, "pairs": 3, "errors": []}
    response = upload(admin, b'{"prompt": "q"}\n')
    assert response.status_code == 400
    assert response.json()["errors"] == [{"line": 1, "field": "responses", "message": "give responses and ranks (or chosen and rejected)"}]
    assert upload(admin, good, format="csv").status_code == 400
    assert Ranking.objects.count() == 1
