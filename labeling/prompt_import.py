"""Importing prompts, alone or with answers to rank, from JSON Lines or CSV.

One parser serves the API (`/api/prompts/import/`, `/api/tasks/import/`) and the command
(`manage.py import_prompts`). Imports are all-or-nothing: every line is checked first, and if any is
bad nothing is written and the errors list every bad line as {line, field, message}.

Prompt lines (JSON Lines): `{"text": ..., "category": ..., "split": ..., "source": ..., "tags": [...]}`;
instead of `text`, `messages` (a conversation: [{"role", "content"}]) or `prompt` (a string or a
conversation, the SPEC exchange layout). CSV: a header row naming the same columns (`text` required;
tags separated by `;`).

Task lines (JSON Lines): `{"prompt": ..., "responses": [..K..], "gold_ranks": [...], "labelers_required": 3,
"kind": "ranking"}`; `kind` may also be `comparison` (K = 2) or `demonstration` (no responses).
"""

import csv
import io
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from labeling.models import MAX_K, Category, Origin, Prompt, Response, Split, TaskKind
from labeling.ranking import RuleError, create_demonstration_task, create_ranking_task, last_user_text
from labeling.text import check_text

ROLES = ("system", "user", "assistant")
FORMATS = ("jsonl", "csv")
MAX_TAGS = 50
MAX_TAG_LENGTH = 100
MAX_MESSAGES = 200
MAX_LINES = 100_000
MAX_LABELERS = 100


@dataclass
class ImportResult:
    created: int = 0
    errors: list = field(default_factory=list)  # [{"line": n, "field": name, "message": text}]
    objects: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [{"line": n, "prompt": id or None}]: identical prompts left out

    @property
    def ok(self):
        return not self.errors


def _max_text():
    return settings.MAX_TEXT_LENGTH


def clean_messages(value, name="messages"):
    """A conversation: a non-empty list of {role, content} with at least one user message."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise RuleError(name, "give a non-empty string or a list of {role, content} messages")
    if len(value) > MAX_MESSAGES:
        raise RuleError(name, f"at most {MAX_MESSAGES} messages")
    total = 0
    cleaned = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise RuleError(name, f"message {i} is not an object with role and content")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise RuleError(name, f"message {i} has role {role!r}; use one of {', '.join(ROLES)}")
        if not isinstance(content, str) or not content.strip():
            raise RuleError(name, f"message {i} has no text content")
        total += len(content)
        cleaned.append({"role": role, "content": content})
    if total > _max_text():
        raise RuleError(name, f"the prompt is {total} characters long; at most {_max_text()}")
    if not any(m["role"] == "user" for m in cleaned):
        raise RuleError(name, "a prompt needs at least one user message")
    return cleaned


def _choice(record, name, choices, default):
    value = record.get(name)
    if value in (None, ""):
        value = default
    if value not in choices:
        raise RuleError(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _tags(value):
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [t.strip() for t in value.split(";") if t.strip()]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise RuleError("tags", "give a list of strings")
    if len(value) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in value):
        raise RuleError("tags", f"at most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters")
    return value


def _source(value, default=""):
    value = default if value in (None, "") else value
    if not isinstance(value, str) or len(value) > 200:
        raise RuleError("source", "give a string of at most 200 characters")
    return value


def prompt_fields(record, defaults=None):
    """The model fields of a prompt from one record; raises RuleError naming the bad field."""
    defaults = defaults or {}
    if not isinstance(record, dict):
        raise RuleError("line", "each line must be a JSON object")
    if record.get("messages") not in (None, ""):
        if not isinstance(record["messages"], list):
            raise RuleError("messages", "give a list of {role, content} messages")
        messages = clean_messages(record["messages"], "messages")
    elif record.get("text") not in (None, ""):
        if not isinstance(record["text"], str):
            raise RuleError("text", "give the prompt as a string")
        messages = clean_messages(record["text"], "text")
    elif record.get("prompt") not in (None, ""):
        messages = clean_messages(record["prompt"], "prompt")
    else:
        raise RuleError("text", "give the prompt as `text`, `prompt` or `messages`")
    return {
        "messages": messages,
        "text": last_user_text(messages),
        "category": _choice(record, "category", Category.values, defaults.get("category") or Category.OTHER),
        "split": _choice(record, "split", Split.values, defaults.get("split") or Split.RM),
        "source": _source(record.get("source"), defaults.get("source", "")),
        "tags": _tags(record.get("tags")),
    }


def read_records(content, fmt="jsonl"):
    """Yield (line number, record or None, error or None) from JSON Lines or CSV text."""
    if fmt not in FORMATS:
        raise RuleError("format", f"use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        # strict: an unterminated quote is an error, not a field that swallows the rest of the file
        reader = csv.DictReader(io.StringIO(content), strict=True)
        if not reader.fieldnames or not ({"text", "prompt", "messages"} & set(reader.fieldnames)):
            yield 1, None, RuleError("header", "the first CSV row must name the columns, including `text`")
            return
        try:
            for row in reader:
                if None in row:
                    yield reader.line_num, None, RuleError("line", "more values than header columns")
                    continue
                yield reader.line_num, {k: v for k, v in row.items() if v is not None}, None
        except csv.Error as exc:
            yield reader.line_num, None, RuleError("line", f"not valid CSV: {exc}")
        return
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply for json
            yield number, None, RuleError("line", f"not valid JSON: {exc}")


def decode(raw):
    """Text from uploaded bytes (UTF-8, with or without a byte-order mark)."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleError("file", f"the file is not UTF-8 text (byte {exc.start})") from exc


def guess_format(name="", content_type=""):
    name, content_type = (name or "").lower(), (content_type or "").lower()
    return "csv" if name.endswith(".csv") or "csv" in content_type else "jsonl"


def _collect(content, fmt, build):
    """Run `build(record)` on every record; every failure becomes a line error."""
    result = ImportResult()
    rows = []
    for number, record, error in read_records(content, fmt):
        if number > MAX_LINES:
            result.errors.append({"line": number, "field": "file", "message": f"at most {MAX_LINES} lines per import"})
            break
        if error is None:
            try:
                rows.append(build(check_text(record)))  # no lone surrogate or NUL is stored (labeling.text)
                continue
            except RuleError as exc:
                error = exc
        result.errors.append({"line": number, "field": error.field, "message": error.message})
    if not rows and not result.errors:
        result.errors.append({"line": 0, "field": "file", "message": "the file has no records"})
    return result, rows


def import_prompts(content, fmt="jsonl", defaults=None, user=None, allow_duplicates=False):
    """Create every prompt of the file, or none (when any line is bad). A prompt identical (same
    conversation) to one already stored, or to an earlier line, is skipped and listed in `skipped`,
    so importing a file twice does not ask labelers for everything twice; `allow_duplicates` keeps them."""
    result, rows = _collect(content, fmt, lambda record: prompt_fields(record, defaults))
    if result.errors:
        return result
    with transaction.atomic():
        if not allow_duplicates:
            rows = _without_duplicates(rows, _line_numbers(content, fmt, len(rows)), result)
        result.objects = Prompt.objects.bulk_create([Prompt(created_by=user, **row) for row in rows], batch_size=1000)
    result.created = len(result.objects)
    return result


def _line_numbers(content, fmt, count):
    """The line number of each record (rows come in file order; a file with errors never gets here)."""
    numbers = [number for number, _, _ in read_records(content, fmt)]
    return numbers[:count]


def _conversation_key(messages):
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


def _without_duplicates(rows, numbers, result):
    """Rows whose conversation is not stored yet nor repeated earlier in the file; the rest go to
    `result.skipped`. Candidates are the stored prompts with the same `text` (the last user message),
    looked up a chunk at a time (SQLite bounds a query's parameters); then whole conversations are compared."""
    texts = sorted({row["text"] for row in rows})
    stored = {}
    for i in range(0, len(texts), 500):
        candidates = Prompt.objects.filter(text__in=texts[i:i + 500]).order_by("pk").values_list("pk", "messages")
        for pk, messages in candidates:
            stored.setdefault(_conversation_key(messages), pk)
    kept, seen = [], {}
    for number, row in zip(numbers, rows):
        key = _conversation_key(row["messages"])
        if key in stored:
            result.skipped.append({"line": number, "prompt": stored[key]})
        elif key in seen:
            result.skipped.append({"line": number, "prompt": None, "same_as_line": seen[key]})
        else:
            seen[key] = number
            kept.append(row)
    return kept


def _int_in(record, name, low, high, default):
    value = record.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RuleError(name, f"give a whole number from {low} to {high}")
    return value


def task_fields(record, defaults=None):
    """A task record checked without touching the database (the prompt is created on import)."""
    if not isinstance(record, dict):
        raise RuleError("line", "each line must be a JSON object")
    kind = _choice(record, "kind", TaskKind.values, TaskKind.RANKING)
    prompt = prompt_fields({k: v for k, v in record.items() if k in ("prompt", "text", "messages", "category", "split",
                                                                    "source", "tags")}, defaults)
    responses = record.get("responses", [])
    if kind == TaskKind.DEMONSTRATION:
        if responses:
            raise RuleError("responses", "a demonstration task has no responses")
        texts = []
    else:
        if not isinstance(responses, list) or not 2 <= len(responses) <= MAX_K:
            raise RuleError("responses", f"give a list of 2 to {MAX_K} answers")
        if kind == TaskKind.COMPARISON and len(responses) != 2:
            raise RuleError("responses", "a side-by-side comparison shows exactly 2 answers")
        texts = []
        for i, response in enumerate(responses):
            if isinstance(response, list):  # [{"role": "assistant", "content": ...}] (TRL's conversational layout)
                response = "".join(m.get("content", "") for m in response if isinstance(m, dict))
            if isinstance(response, dict):
                response = response.get("text", response.get("content"))
            if not isinstance(response, str) or not response.strip():
                raise RuleError("responses", f"answer {i} has no text")
            if len(response) > _max_text():
                raise RuleError("responses", f"answer {i} is longer than {_max_text()} characters")
            texts.append(response)
    gold = record.get("gold_ranks")
    if gold is not None:
        if kind == TaskKind.DEMONSTRATION:
            raise RuleError("gold_ranks", "a demonstration task has no gold ranking")
        if not isinstance(gold, list) or len(gold) != len(texts):
            raise RuleError("gold_ranks", f"give one rank per answer ({len(texts)})")
        if not all(isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= len(texts) for r in gold):
            raise RuleError("gold_ranks", f"ranks are whole numbers from 1 to {len(texts)}")
    return {
        "kind": kind,
        "prompt": prompt,
        "responses": texts,
        "gold_ranks": gold,
        "labelers_required": _int_in(record, "labelers_required", 1, MAX_LABELERS, (defaults or {}).get("labelers_required", 1)),
        "priority": _int_in(record, "priority", -1000, 1000, 0),
    }


def create_task(fields, batch="", user=None, prompt=None):
    """Create one checked task record: its prompt (unless given), its answers and the task."""
    if prompt is None:
        prompt = Prompt.objects.create(created_by=user, **fields["prompt"])
    if fields["kind"] == TaskKind.DEMONSTRATION:
        task = create_demonstration_task(prompt, fields["labelers_required"], batch=batch)
    else:
        responses = Response.objects.bulk_create(
            [Response(prompt=prompt, text=text, origin=Origin.IMPORT, source=batch) for text in fields["responses"]]
        )
        task = create_ranking_task(prompt, responses, fields["labelers_required"], fields["gold_ranks"], fields["kind"], batch)
    if fields["priority"]:
        task.priority = fields["priority"]
        task.save(update_fields=["priority"])
    return task


def import_tasks(content, fmt="jsonl", defaults=None, batch="", user=None):
    """Create every task of the file (with its prompt and answers), or none."""
    if fmt != "jsonl":
        raise RuleError("format", "tasks are imported from JSON Lines")
    result, rows = _collect(content, fmt, lambda record: task_fields(record, defaults))
    if result.errors:
        return result
    with transaction.atomic():
        result.objects = [create_task(row, batch=batch, user=user) for row in rows]
    result.created = len(result.objects)
    return result
