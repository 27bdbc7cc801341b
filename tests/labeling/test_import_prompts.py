"""Prompt import from JSON Lines or CSV, through the API and `manage.py import_prompts`: one parser,
all or nothing, every bad line reported with its line number and field."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings

from labeling.models import Prompt
from labeling.prompt_import import import_prompts
from tests.support.builders import client_as

pytestmark = pytest.mark.django_db

GOOD_JSONL = "\n".join([
    json.dumps({"text": "Why is the sky blue?", "category": "open_qa", "split": "sft"}),
    "",
    json.dumps({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}],
                "category": "chat", "tags": ["greeting"]}),
    json.dumps({"prompt": "Summarise: the cat sat.", "category": "summarization", "split": "eval", "source": "mine"}),
])

BAD_JSONL = "\n".join([
    json.dumps({"text": "fine", "category": "open_qa"}),
    "{not json",
    json.dumps({"text": "x", "category": "poetry"}),
    json.dumps({"messages": [{"role": "robot", "content": "x"}]}),
    json.dumps({"category": "chat"}),
    json.dumps(["a list"]),
    json.dumps({"text": "x", "split": "train"}),
    json.dumps({"text": "x", "tags": "a;b", "messages": [{"role": "assistant", "content": "no user"}]}),
])


def test_the_parser_reads_text_messages_and_prompt():
    result = import_prompts(GOOD_JSONL, "jsonl", {"source": "upload.jsonl"})
    assert result.ok and result.created == 3
    first, chat, summary = Prompt.objects.order_by("id")
    assert (first.text, first.category, first.split, first.source) == ("Why is the sky blue?", "open_qa", "sft", "upload.jsonl")
    assert first.messages == [{"role": "user", "content": "Why is the sky blue?"}]
    assert (chat.text, chat.split, chat.tags, len(chat.messages)) == ("Hi!", "rm", ["greeting"], 2)
    assert (summary.split, summary.source) == ("eval", "mine")


def test_one_bad_line_imports_nothing_and_every_bad_line_is_listed():
    result = import_prompts(BAD_JSONL, "jsonl")
    assert result.created == 0 and not Prompt.objects.exists()
    assert [(e["line"], e["field"]) for e in result.errors] == [
        (2, "line"), (3, "category"), (4, "messages"), (5, "text"), (6, "line"), (7, "split"), (8, "messages")]
    assert "not valid JSON" in result.errors[0]["message"]
    assert "poetry" in result.errors[1]["message"]


def test_csv_with_a_header_row():
    content = 'text,category,split,tags\n"Name three, please",brainstorming,sft,a;b\n"Line one\nline two",rewrite,,\n'
    result = import_prompts(content, "csv")
    assert result.ok and result.created == 2
    first, second = Prompt.objects.order_by("id")
    assert (first.text, first.tags) == ("Name three, please", ["a", "b"])
    assert (second.text, second.split) == ("Line one\nline two", "rm")


def test_csv_errors_carry_the_file_line_number():
    content = "text,category\nfine,chat\n,chat\nok,nope\n"
    result = import_prompts(content, "csv")
    assert [(e["line"], e["field"]) for e in result.errors] == [(3, "text"), (4, "category")]
    assert import_prompts("category\nchat\n", "csv").errors[0]["field"] == "header"


def test_an_empty_file_is_an_error():
    assert import_prompts("\n\n", "jsonl").errors == [{"line": 0, "field": "file", "message": "the file has no records"}]


@override_settings(MAX_TEXT_LENGTH=10)
def test_a_prompt_over_the_size_limit_is_refused():
    result = import_prompts(json.dumps({"text": "x" * 11}), "jsonl")
    assert result.errors[0]["field"] == "text" and "at most 10" in result.errors[0]["message"]


# Through the API


def test_the_api_imports_a_json_body_with_defaults():
    admin = client_as("admin")
    response = admin.post("/api/prompts/import/", {"content": GOOD_JSONL, "split": "ppo", "source": "ui"}, format="json")
    assert response.status_code == 201
    assert response.json()["created"] == 3 and response.json()["errors"] == []
    assert Prompt.objects.filter(split="ppo").count() == 1  # the line without a split
    assert set(Prompt.objects.values_list("created_by__username", flat=True)) == {admin.user.username}


def test_the_api_imports_a_multipart_file_and_a_raw_body():
    admin = client_as("admin")
    upload = SimpleUploadedFile("prompts.csv", b"text,category\nHello there,chat\n", content_type="text/csv")
    response = admin.post("/api/prompts/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json()["created"] == 1
    assert Prompt.objects.get().source == "prompts.csv"
    response = admin.generic("POST", "/api/prompts/import/?split=eval", GOOD_JSONL.encode(), content_type="application/jsonl")
    assert response.status_code == 201 and response.json()["created"] == 3
    assert Prompt.objects.filter(split="eval").count() == 2


def test_the_api_lists_every_bad_line_and_imports_nothing():
    response = client_as("admin").post("/api/prompts/import/", {"content": BAD_JSONL}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["created"] == 0 and len(body["errors"]) == 7
    assert body["errors"][0] == {"line": 2, "field": "line", "message": body["errors"][0]["message"]}
    assert not Prompt.objects.exists()


def test_the_api_import_needs_content_and_an_admin():
    admin = client_as("admin")
    assert "file" in admin.post("/api/prompts/import/", {}, format="json").json()
    assert admin.post("/api/prompts/import/", {"content": "x", "format": "xml"}, format="json").json().keys() == {"format"}
    bad_bytes = SimpleUploadedFile("p.jsonl", b"\xff\xfe\x00bad", content_type="application/jsonl")
    assert "file" in admin.post("/api/prompts/import/", {"file": bad_bytes}, format="multipart").json()
    assert client_as("labeler").post("/api/prompts/import/", {"content": GOOD_JSONL}, format="json").status_code == 403
    assert client_as("ml_engineer").post("/api/prompts/import/", {"content": GOOD_JSONL}, format="json").status_code == 403


# Through the command


def test_the_command_imports_a_file(tmp_path, capsys):
    path = tmp_path / "prompts.jsonl"
    path.write_text(GOOD_JSONL)
    call_command("import_prompts", str(path), "--split", "sft")
    assert "imported 3 prompts" in capsys.readouterr().out
    assert Prompt.objects.count() == 3 and Prompt.objects.filter(split="sft").count() == 2
    assert set(Prompt.objects.values_list("source", flat=True)) == {"prompts.jsonl", "mine"}


def test_the_command_reads_csv_by_extension_or_flag(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("text\nOne\nTwo\n")
    call_command("import_prompts", str(path), "--format", "csv")
    assert Prompt.objects.count() == 2


def test_the_command_lists_bad_lines_imports_nothing_and_fails(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text(BAD_JSONL)
    with pytest.raises(CommandError, match="7 bad line"):
        call_command("import_prompts", str(path))
    err = capsys.readouterr().err
    assert f"{path}:3: category:" in err and f"{path}:8: messages:" in err
    assert not Prompt.objects.exists()
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_prompts", str(tmp_path / "missing.jsonl"))
