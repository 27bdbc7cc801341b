"""Importing a prompt file twice does not store every prompt twice (issue 13, defect 7): prompts
identical to stored ones, or to an earlier line, are skipped and listed, unless duplicates are asked for."""

import json

import pytest

from labeling.models import Prompt
from labeling.prompt_import import import_prompts

FILE = "\n".join(json.dumps(r) for r in [
    {"text": "Name a fruit.", "split": "rm"},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}]},
    {"text": "Name a tree."},
    {"text": "Name a fruit.", "split": "sft"},  # the same conversation as line 1, whatever its split
]) + "\n"


@pytest.mark.django_db
def test_a_second_import_skips_identical_prompts_and_says_which():
    first = import_prompts(FILE, "jsonl")
    assert first.created == 3
    assert first.skipped == [{"line": 4, "prompt": None, "same_as_line": 1}]
    fruit = Prompt.objects.order_by("pk").first()

    again = import_prompts(FILE + json.dumps({"text": "Name a river."}) + "\n", "jsonl")
    assert again.created == 1 and [p.text for p in again.objects] == ["Name a river."]
    assert [s["line"] for s in again.skipped] == [1, 2, 3, 4]
    assert again.skipped[0]["prompt"] == fruit.pk
    assert Prompt.objects.count() == 4


@pytest.mark.django_db
def test_duplicates_are_kept_when_asked_and_csv_is_deduplicated_too():
    import_prompts("text,split\nName a fruit.,rm\n", "csv")
    assert import_prompts("text,split\nName a fruit.,rm\n", "csv").skipped == [{"line": 2, "prompt": Prompt.objects.get().pk}]
    assert import_prompts("text\nName a fruit.\n", "csv", allow_duplicates=True).created == 1
    assert Prompt.objects.count() == 2


@pytest.mark.django_db
def test_the_api_reports_what_it_skipped(client, make_user):
    client.force_login(make_user("admin"))
    body = {"content": "text\nName a fruit.\nName a fruit.\n", "format": "csv"}
    response = client.post("/api/prompts/import/", body, content_type="application/json")
    assert response.status_code == 201 and response.json()["created"] == 1
    assert response.json()["skipped"] == [{"line": 3, "prompt": None, "same_as_line": 2}]
    response = client.post("/api/prompts/import/", {**body, "allow_duplicates": True}, content_type="application/json")
    assert response.json()["created"] == 2 and Prompt.objects.count() == 3
