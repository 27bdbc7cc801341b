"""Text that is not valid Unicode (a lone UTF-16 surrogate) or holds a NUL is refused where it enters:
the API's parsers (a 400 naming the field), every importer (a 400 / a command error naming the line),
so nothing of the kind is stored. And whatever is stored already can't break a list, an error answer
or an export (the renderer and the export writer escape it)."""

import gzip
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from labeling.models import Prompt, Ranking, Task
from tests.support.builders import client_as, next_work, ranking_task, submit
from training.datasets import freeze_snapshot
from training.models import Job
from web.renderers import SafeJSONRenderer

pytestmark = pytest.mark.django_db

SURROGATE, NUL = "\ud800", "\x00"
BAD = pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["lone-surrogate", "nul"])


def flat(body, prefix=""):
    """An error body as {dotted field: messages} (nested fields as the web UI's fieldErrors reads them)."""
    if isinstance(body, dict):
        return {k: v for key, value in body.items() for k, v in flat(value, f"{prefix}.{key}" if prefix else key).items()}
    return {prefix: body}


def raw_json(client, method, path, body):
    """Send JSON text as is (json.dumps escapes a surrogate as "\\ud800": the wire form an attacker uses)."""
    return client.generic(method, path, json.dumps(body), content_type="application/json")


@BAD
def test_a_bad_string_anywhere_in_a_json_body_is_a_400_naming_it_and_nothing_is_stored(bad):
    admin = client_as("admin")
    cases = [
        ("/api/prompts/", {"text": "fine", "tags": ["ok", f"x{bad}"]}, "tags.1"),
        ("/api/prompts/", {"messages": [{"role": "system", "content": f"be{bad}"}, {"role": "user", "content": "hi"}]},
         "messages.0.content"),
        ("/api/tasks/", {"prompt": f"q{bad}", "responses": ["a", "b"]}, "prompt"),
        ("/api/guidelines/", {"name": f"g{bad}"}, "name"),
    ]
    for path, body, field in cases:
        response = raw_json(admin, "POST", path, body)
        assert response.status_code == 400, (path, response.status_code)
        errors = flat(response.json())
        assert list(errors) == [field] and len(errors[field]) == 1, errors
    engineer = client_as("ml_engineer")
    response = raw_json(engineer, "POST", "/api/jobs/", {"kind": "bootstrap", "config": {"corpus": f"x{bad}"}})
    assert response.status_code == 400 and list(flat(response.json())) == ["config.corpus"]
    assert Prompt.objects.count() == 0 and Task.objects.count() == 0 and Job.objects.count() == 0


@BAD
def test_a_bad_key_is_refused_without_echoing_it(bad):
    response = raw_json(client_as("admin"), "POST", "/api/prompts/", {"text": "fine", "tags": {f"k{bad}": 1}})
    assert response.status_code == 400 and bad not in response.content.decode("utf-8")


@BAD
def test_a_labelers_submission_with_a_bad_comment_is_refused(bad):
    ranking_task(k=2)
    labeler = client_as("labeler")
    item = next_work(labeler).json()
    ranks = [{"response": r["id"], "rank": n} for n, r in enumerate(item["responses"], 1)]
    response = raw_json(labeler, "POST", f"/api/assignments/{item['id']}/ranking/", {"ranks": ranks, "comment": bad})
    assert response.status_code == 400 and "comment" in response.json()
    assert Ranking.objects.count() == 0
    assert submit(labeler, item).status_code == 201  # the lease is still theirs


def test_a_nul_in_a_query_parameter_is_a_400_naming_it():
    admin = client_as("admin")
    response = admin.generic("GET", "/api/prompts/", QUERY_STRING="search=x%00")
    assert response.status_code == 400 and "search" in response.json()
    # the UTF-8-like bytes of a surrogate are not UTF-8: Django reads them as U+FFFD, a plain search
    assert admin.generic("GET", "/api/prompts/", QUERY_STRING="search=x%ED%A0%80").status_code == 200


# CSV has no escapes: a lone surrogate can't be written in a UTF-8 CSV file at all
@pytest.mark.parametrize("bad, fmt", [(SURROGATE, "jsonl"), (NUL, "jsonl"), (NUL, "csv")])
def test_a_prompt_import_with_a_bad_line_names_it_and_imports_nothing(bad, fmt):
    escaped = json.dumps(f"b{bad}")  # JSON Lines spell it as an escape; CSV holds the character itself
    content = ('{"text": "fine"}\n{"text": %s}\n' % escaped) if fmt == "jsonl" else f'text\nfine\n"b{bad}"\n'
    admin = client_as("admin")
    response = admin.generic("POST", "/api/prompts/import/", content.encode(), content_type=f"text/{fmt}")
    assert response.status_code == 400 and Prompt.objects.count() == 0
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(2 if fmt == "jsonl" else 3, "text")]


@BAD
@pytest.mark.parametrize("line", [
    {"prompt": "q", "responses": ["a", "{bad}"], "ranks": [1, 2]},
    {"chosen": "\n\nHuman: hi\n\nAssistant: {bad}", "rejected": "\n\nHuman: hi\n\nAssistant: no"},
    {"message_tree_id": "t", "prompt": {"message_id": "m", "role": "prompter", "text": "q{bad}", "replies": [
        {"role": "assistant", "text": "a", "rank": 0}, {"role": "assistant", "text": "b", "rank": 1}]}},
], ids=["kwise", "hh-rlhf", "oasst"])
def test_a_ranking_import_with_a_bad_line_names_it_and_imports_nothing(bad, line, tmp_path):
    text = json.dumps(line).replace("{bad}", json.dumps(bad)[1:-1])
    good = json.dumps({"prompt": "q", "responses": ["a", "b"], "ranks": [1, 2]}) if "responses" in line else \
        json.dumps(json.loads(text.replace(json.dumps(bad)[1:-1], "fine")))
    body = f"{good}\n{text}\n".encode()
    upload = SimpleUploadedFile("r.jsonl", body, content_type="application/jsonl")
    response = client_as("admin").post("/api/imports/rankings/", {"file": upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert [e["line"] for e in response.json()["errors"]] == [2]
    assert Ranking.objects.count() == 0
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(gzip.compress(body))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_rankings", str(path), stderr=err)
    assert "line 2" in err.getvalue() and Ranking.objects.count() == 0


@BAD
def test_the_import_prompts_command_names_the_bad_line(bad, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"text": "fine"}\n' + json.dumps({"text": f"x{bad}"}) + "\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_prompts", str(path), stderr=err)
    assert ":2: text:" in err.getvalue() and Prompt.objects.count() == 0


def test_a_file_name_that_is_not_valid_unicode_is_stored_as_valid_text(tmp_path):
    path = tmp_path / "bad-\udcff-name.jsonl"  # how Python spells a non-UTF-8 byte of a file name
    path.write_bytes(b'{"text": "fine"}\n')
    call_command("import_prompts", str(path), stdout=io.StringIO())
    assert Prompt.objects.get().source.encode("utf-8")


def store_behind_the_edges_back():
    """A prompt, a task, a ranking and a job whose JSON holds a lone surrogate, written straight to the
    database as an older version (or another tool) could have: True if the database took it."""
    task = ranking_task(k=2)
    try:
        Prompt.objects.filter(pk=task.prompt_id).update(tags=[SURROGATE], messages=[{"role": "user", "content": "q" + SURROGATE}])
        Job.objects.create(kind="bootstrap", config={"corpus": SURROGATE})
    except Exception:  # PostgreSQL's jsonb refuses a lone surrogate: nothing can be stored to break a read
        return False
    labeler = client_as("labeler")
    assert submit(labeler, next_work(labeler).json()).status_code == 201
    return True


def test_nothing_stored_can_break_a_list_or_an_export():
    with transaction.atomic():
        stored = store_behind_the_edges_back()
    if not stored:
        assert connection.vendor == "postgresql"
        return
    admin, engineer = client_as("admin"), client_as("ml_engineer")
    for client, path in ((admin, "/api/prompts/"), (admin, "/api/tasks/"), (engineer, "/api/jobs/"),
                         (engineer, "/api/rankings/")):
        response = client.get(path)
        assert response.status_code == 200, path
        json.loads(response.content)  # valid JSON: the surrogate is an escape
    assert "\\ud800" in admin.get("/api/prompts/").content.decode("ascii")
    for kind in ("rankings", "pairs"):
        snapshot = freeze_snapshot(kind, {})
        lines = open(snapshot.file_path, encoding="utf-8").read().splitlines()
        assert lines and SURROGATE in json.loads(lines[0])["prompt"]


@BAD
def test_the_renderer_writes_an_error_that_echoes_a_bad_value(bad):
    """The safety net behind the parsers: DRF's "is not a valid choice" message echoes the value."""
    body = SafeJSONRenderer().render({"kind": [f'"{bad}" is not a valid choice.']})
    assert json.loads(body)["kind"][0].startswith('"')
