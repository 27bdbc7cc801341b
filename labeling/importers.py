"""Importing rankings made elsewhere: our K-wise layout, Anthropic HH-RLHF and OpenAssistant trees.

One reader serves the API (`/api/imports/rankings/`) and the command (`manage.py import_rankings`).

Formats (JSON Lines, UTF-8; a gzip'd file is recognised by its first bytes, whatever its name):
- `kwise`: `{"prompt": str | [{role, content}], "responses": [K answers], "ranks": [K ints], "split"?,
  "category"?}` — rank 1 is best, equal ranks are ties (any ordinal ranks are normalised to 1, 2, 2, 4);
  an answer is a string or `[{"role": "assistant", "content": ...}]`. A preference pair
  `{"prompt", "chosen", "rejected"}` is read as a ranking of K = 2. This is what the `rankings`
  export writes, so export -> import -> export gives the same file.
- `hh-rlhf`: `{"chosen": dialogue, "rejected": dialogue}` with dialogues "\\n\\nHuman: ...\\n\\nAssistant: ...".
  The two dialogues share their turns up to the last Assistant turn where they part: those turns are
  the prompt conversation, and the two final Assistant turns are a ranking of 2 (chosen first). In the
  few upstream pairs whose dialogues part earlier (4 of the 2,000 in data/hh-rlhf), each answer is the
  rest of its dialogue from the last shared Assistant turn on.
- `oasst`: OpenAssistant message trees (`{"message_tree_id", "prompt": message with "replies"}`).
  Every prompter message whose K >= 2 assistant replies all carry a human rank (0 = best) gives one
  K-wise ranking; its prompt is the conversation from the tree's root to that message.

Every imported ranking is made by the system user `import:<format>` (no role, cannot sign in); its
answers have origin "import". Imports are all-or-nothing: every line is read and checked first; if
any is malformed nothing is written and the errors name each bad line as {line, field, message}.
Otherwise one transaction writes everything with bulk inserts and expands the comparison pairs, so
the data is ready to export when the import returns.

Limits: a line holding a lone surrogate or a NUL anywhere is a bad line (labeling.text); a gzip'd
file stops with TooLarge (413) once it has decompressed settings.IMPORT_MAX_DECOMPRESSED_BYTES, and a
corrupt one is a file error, not a crash.
"""

import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from labeling.models import (MAX_K, MIN_K, Assignment, AssignmentState, Category, Origin, Prompt, RankedResponse,
                             Ranking, Response, Split, Task, TaskKind, TaskResponse)
from labeling.errors import RuleError, TooLarge
from labeling.pairs import expand_rankings
from labeling.ranking import competition_ranks, last_user_text
from labeling.text import check_text

FORMATS = ("kwise", "hh-rlhf", "oasst")
ROLES = ("system", "user", "assistant")
MAX_ERRORS = 200
BATCH = 1000


@dataclass
class RankingRecord:
    """One ranking read from a file: a prompt conversation, K answers and their competition ranks."""

    line: int
    messages: list
    responses: list
    ranks: list
    split: str = Split.RM
    category: str = Category.OTHER


@dataclass
class ImportResult:
    format: str = ""
    rankings: int = 0
    pairs: int = 0
    errors: list = field(default_factory=list)  # [{"line": n, "field": name, "message": text}]

    @property
    def ok(self):
        return not self.errors

    def as_dict(self):
        return {"format": self.format, "rankings": self.rankings, "pairs": self.pairs, "errors": self.errors}


# ---- reading ----------------------------------------------------------------------------------------


class CappedReader(io.RawIOBase):
    """A decompressing stream that raises TooLarge past `limit` bytes (a gzip bomb stops early)."""

    def __init__(self, stream, limit):
        self.stream, self.limit, self.read_so_far = stream, limit, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(len(buffer))
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise TooLarge("file", f"the file decompresses to more than {self.limit} bytes")
        buffer[:len(data)] = data
        return len(data)


def read_lines(source):
    """(line number, text) of each non-blank line of a path or binary file; gzip is detected."""
    raw = open(source, "rb") if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") else source
    try:
        raw.seek(0)
        head = raw.read(2)
        raw.seek(0)
        stream = raw
        if head == b"\x1f\x8b":
            stream = io.BufferedReader(CappedReader(gzip.GzipFile(fileobj=raw), settings.IMPORT_MAX_DECOMPRESSED_BYTES))
        for number, line in enumerate(io.TextIOWrapper(stream, encoding="utf-8"), start=1):
            if line.strip():
                yield number, line
    finally:
        if raw is not source:
            raw.close()


def detect_format(record):
    if isinstance(record, dict):
        if isinstance(record.get("chosen"), str) and isinstance(record.get("rejected"), str) and "prompt" not in record:
            return "hh-rlhf"
        if isinstance(record.get("prompt"), dict) and "replies" in record["prompt"]:
            return "oasst"
    return "kwise"


def _text(value, name):
    if not isinstance(value, str):
        raise RuleError(name, "must be text")
    if len(value) > settings.MAX_TEXT_LENGTH:
        raise RuleError(name, f"is {len(value)} characters long; at most {settings.MAX_TEXT_LENGTH}")
    return value


def clean_prompt(value, name="prompt"):
    """A prompt: a string (one user message) or a non-empty list of {role, content} messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": _text(value, name)}]
    if not isinstance(value, list) or not value:
        raise RuleError(name, "give a string or a non-empty list of {role, content} messages")
    messages = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise RuleError(name, f"message {i} needs a role among {', '.join(ROLES)} and a content")
        messages.append({"role": message["role"], "content": _text(message.get("content"), f"{name}[{i}].content")})
    return messages


def clean_answer(value, name):
    """An answer: a string, or [{"role": "assistant", "content": ...}] (the conversational layout)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]
    if isinstance(value, dict):
        if value.get("role", "assistant") != "assistant":
            raise RuleError(name, "an answer is an assistant message")
        value = value.get("content")
    return _text(value, name)


def _choice(record, name, choices, default, override):
    if override:
        return override
    value = record.get(name)
    if value in (None, ""):
        return default
    if value not in choices:
        raise RuleError(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def parse_kwise(record, line, split=None):
    if not isinstance(record, dict):
        raise RuleError("line", "each line must be a JSON object")
    if "prompt" not in record:
        raise RuleError("prompt", "missing")
    messages = clean_prompt(record["prompt"])
    if "responses" in record:
        answers, ranks = record["responses"], record.get("ranks")
        if not isinstance(answers, list) or not MIN_K <= len(answers) <= MAX_K:
            raise RuleError("responses", f"give a list of {MIN_K} to {MAX_K} answers")
        if not isinstance(ranks, list) or len(ranks) != len(answers):
            raise RuleError("ranks", "give one rank per response")
        if any(not isinstance(r, int) or isinstance(r, bool) or r < 1 for r in ranks):
            raise RuleError("ranks", "ranks are whole numbers from 1 (best)")
        responses = [clean_answer(a, f"responses[{i}]") for i, a in enumerate(answers)]
    elif "chosen" in record and "rejected" in record:
        responses = [clean_answer(record["chosen"], "chosen"), clean_answer(record["rejected"], "rejected")]
        ranks = [1, 2]
    else:
        raise RuleError("responses", "give responses and ranks (or chosen and rejected)")
    return [RankingRecord(
        line, messages, responses, competition_ranks(ranks),
        split=_choice(record, "split", Split.values, Split.RM, split),
        category=_choice(record, "category", Category.values, Category.OTHER, None),
    )]


_HH_TURN = re.compile(r"\n\n(Human|Assistant):")


def hh_dialogue(text):
    """[{role, content}] of an HH-RLHF dialogue "\\n\\nHuman: ...\\n\\nAssistant: ..."."""
    parts = _HH_TURN.split(text)
    return [{"role": "user" if who == "Human" else "assistant", "content": content.strip()}
            for who, content in zip(parts[1::2], parts[2::2])]


def parse_hh_rlhf(record, line, split=None):
    if not isinstance(record, dict):
        raise RuleError("line", "each line must be a JSON object")
    chosen = _text(record.get("chosen"), "chosen")
    rejected = _text(record.get("rejected"), "rejected")
    # Where the two dialogues part: the last Assistant turn both share up to is the answer.
    common = 0
    for a, b in zip(chosen, rejected):
        if a != b:
            break
        common += 1
    cut = chosen.rfind("\n\nAssistant:", 0, common)
    if cut < 0:
        raise RuleError("chosen", "no Assistant turn shared by chosen and rejected")
    start = cut + len("\n\nAssistant:")
    messages = hh_dialogue(chosen[:cut])
    if not messages or messages[-1]["role"] != "user":
        raise RuleError("chosen", "the dialogue must start with a Human turn")
    answers = [chosen[start:].strip(), rejected[start:].strip()]
    return [RankingRecord(line, messages, answers, [1, 2], split=split or Split.RM)]


def parse_oasst(record, line, split=None):
    if not isinstance(record, dict) or not isinstance(record.get("prompt"), dict):
        raise RuleError("prompt", "an OpenAssistant tree has a root message under 'prompt'")
    found = []

    def walk(message, conversation, depth):
        if depth > 500:
            raise RuleError("prompt", "the message tree is too deep")
        role = message.get("role")
        if role not in ("prompter", "assistant"):
            raise RuleError("role", f"message {message.get('message_id')!r} has role {role!r}")
        conversation = conversation + [{"role": "user" if role == "prompter" else "assistant",
                                        "content": _text(message.get("text"), "text")}]
        replies = message.get("replies") or []
        if not isinstance(replies, list) or not all(isinstance(r, dict) for r in replies):
            raise RuleError("replies", f"replies of message {message.get('message_id')!r} must be messages")
        if role == "prompter" and len(replies) >= MIN_K and all(r.get("rank") is not None for r in replies):
            ranks = [r["rank"] for r in replies]
            if any(not isinstance(r, int) or isinstance(r, bool) or r < 0 for r in ranks):
                raise RuleError("rank", f"ranks of the replies to {message.get('message_id')!r} must be whole numbers from 0")
            if len(replies) > MAX_K:
                raise RuleError("replies", f"{len(replies)} ranked replies; at most {MAX_K}")
            found.append(RankingRecord(line, conversation, [_text(r.get("text"), "text") for r in replies],
                                       competition_ranks([r + 1 for r in ranks]), split=split or Split.RM))
        for reply in replies:
            walk(reply, conversation, depth + 1)

    walk(record["prompt"], [], 0)
    return found


PARSERS = {"kwise": parse_kwise, "hh-rlhf": parse_hh_rlhf, "oasst": parse_oasst}


def read_rankings(source, fmt=None, split=None):
    """(format, records, errors) of a file; fmt None detects it from the first line."""
    if fmt is not None and fmt not in PARSERS:
        raise RuleError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if split is not None and split not in Split.values:
        raise RuleError("split", f"{split!r} is not one of {', '.join(Split.values)}")
    records, errors = [], []
    try:
        for number, text in read_lines(source):
            try:
                try:
                    data = json.loads(text)
                except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply for json
                    raise RuleError("line", f"not valid JSON ({exc})") from None
                check_text(data)
                fmt = fmt or detect_format(data)
                records.extend(PARSERS[fmt](data, number, split))
            except RuleError as exc:
                if len(errors) < MAX_ERRORS:
                    errors.append({"line": number, "field": exc.field, "message": exc.message})
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        errors.append({"line": None, "field": "file", "message": f"cannot read the file: {exc}"})
    if not records and not errors:
        errors.append({"line": None, "field": "file", "message": "no rankings found in the file"})
    return fmt or "kwise", records, errors


# ---- writing ----------------------------------------------------------------------------------------


def import_user(fmt):
    """The system user that owns imported rankings: `import:<format>`, no role, cannot sign in."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=f"import:{fmt}", defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def write_rankings(records, fmt, source=""):
    """Write rankings in bulk (prompt, answers, task, assignment, ranking, items) and expand their
    pairs; returns (ranking ids, new pairs)."""
    labeler = import_user(fmt)
    now = timezone.now()
    batch = f"import:{fmt}:{source}"[:200]
    prompts = Prompt.objects.bulk_create([
        Prompt(messages=r.messages, text=last_user_text(r.messages), category=r.category, split=r.split, source=batch)
        for r in records], batch_size=BATCH)
    responses = Response.objects.bulk_create([
        Response(prompt_id=prompt.id, text=text, origin=Origin.IMPORT, source=batch)
        for prompt, r in zip(prompts, records) for text in r.responses], batch_size=BATCH)
    tasks = Task.objects.bulk_create([
        Task(kind=TaskKind.RANKING, prompt_id=prompt.id, labelers_required=1, completed_count=1, batch=batch)
        for prompt in prompts], batch_size=BATCH)
    answers_of, at = [], 0
    for r in records:
        answers_of.append(responses[at:at + len(r.responses)])
        at += len(r.responses)
    TaskResponse.objects.bulk_create([
        TaskResponse(task_id=task.id, response_id=response.id, position=i)
        for task, answers in zip(tasks, answers_of) for i, response in enumerate(answers)], batch_size=BATCH)
    assignments = Assignment.objects.bulk_create([
        Assignment(task_id=task.id, labeler_id=labeler.id, state=AssignmentState.SUBMITTED, lease_expires_at=now, completed_at=now)
        for task in tasks], batch_size=BATCH)
    rankings = Ranking.objects.bulk_create([
        Ranking(task_id=task.id, assignment_id=assignment.id, labeler_id=labeler.id, display_order=[])
        for task, assignment in zip(tasks, assignments)], batch_size=BATCH)
    RankedResponse.objects.bulk_create([
        RankedResponse(ranking_id=ranking.id, response_id=response.id, rank=rank)
        for ranking, answers, r in zip(rankings, answers_of, records) for response, rank in zip(answers, r.ranks)],
        batch_size=BATCH)
    ids = [ranking.id for ranking in rankings]
    pairs = sum(expand_rankings(ids[i:i + BATCH]) for i in range(0, len(ids), BATCH))
    return ids, pairs


def import_rankings(source, fmt=None, split=None, name=""):
    """Read, check and (when every line is good) write a rankings file. Nothing is written on errors."""
    try:
        fmt, records, errors = read_rankings(source, fmt, split)
    except RuleError as exc:
        return ImportResult(format=fmt or "", errors=[{"line": None, "field": exc.field, "message": exc.message}])
    result = ImportResult(format=fmt, errors=errors)
    if errors:
        return result
    ids, result.pairs = write_rankings(records, fmt, name)
    result.rankings = len(ids)
    return result
