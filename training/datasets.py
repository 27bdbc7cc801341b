"""Dataset snapshots: freeze labels into an immutable, content-hashed JSON Lines file.

Kinds and line layouts (the SPEC's exchange formats; TRL reads the sft and pairs files as they are):
- `sft`: `{"prompt", "completion"}` — one line per demonstration.
- `pairs`: `{"prompt", "chosen", "rejected"}` — one line per comparison pair.
- `rankings`: `{"prompt", "responses", "ranks", "split", "category"}` — one line per K-wise ranking,
  answers in the task's canonical order, ranks in competition form (1 = best, ties share a rank).
A single-turn prompt (one user message) is a plain string and answers are strings; a conversation is
a list of {role, content} messages and each answer is `[{"role": "assistant", "content": ...}]`.

What goes in:
- sft: accepted demonstrations; with `include_submitted` also those submitted and not yet reviewed
  (rejected ones never). Default: accepted only.
- pairs and rankings: rankings of ranking tasks (side-by-side comparison tasks are evaluation data
  and stay out), except unrankable ones. Rankings not yet expanded are expanded before freezing.
Filters (all optional; stored with the snapshot): `splits` (prompt splits), `guideline_versions`
(ids the label was made under), `min_agreement` (0..1: keep labels of labelers whose agreement —
peer agreement, or gold agreement where they have no peers — is at least this; labelers whose
agreement cannot be measured are left out), `exclude_labelers` (ids or usernames), `include_submitted`,
`labeler_weights` ({estimate, floor, unmeasured_weight}, labeling.gold: every rankings and pairs line
gets `"weight": max(0, 2·acc − 1)` from its labeler's gold accuracy, which the reward model and DPO
losses multiply that line's term by; labelers below the floor are left out).

Lines come in a fixed order (by demonstration / ranking id; a ranking's pairs by the ranks of chosen
and rejected, then their task positions), so the same labels give the same bytes and the same hash.
The file is written under ARTIFACT_ROOT/datasets/ named by its hash and never changed afterwards.
"""

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model

from labeling.agreement import agreement_report
from labeling.gold import WeightRule, labeler_weights
from labeling.models import ComparisonPair, Demonstration, RankedResponse, Ranking, ReviewState, Split, TaskKind, TaskResponse
from labeling.pairs import expand_rankings
from labeling.ranking import RuleError
from training.models import DatasetSnapshot, SnapshotKind

CHUNK = 500


def _id_list(value, name):
    if not isinstance(value, list):
        raise RuleError(name, "give a list")
    if any(isinstance(v, int) and not 0 < v < 2**63 for v in value):  # ids are 64-bit: no database overflow
        raise RuleError(name, "ids are whole numbers from 1 to 2^63 - 1")
    return value


@dataclass(frozen=True)
class SnapshotFilter:
    """The filter that makes a snapshot; `from_dict` checks a request's `filters` object."""

    splits: tuple = ()
    guideline_versions: tuple = ()
    min_agreement: float | None = None
    exclude_labelers: tuple = ()
    include_submitted: bool = False
    labeler_weights: WeightRule | None = None

    @classmethod
    def from_dict(cls, data):
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise RuleError("filters", "give an object")
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise RuleError(f"filters.{sorted(unknown)[0]}", "unknown filter")
        splits = _id_list(data.get("splits", []), "filters.splits")
        bad = [s for s in splits if s not in Split.values]
        if bad:
            raise RuleError("filters.splits", f"{bad[0]!r} is not one of {', '.join(Split.values)}")
        versions = _id_list(data.get("guideline_versions", []), "filters.guideline_versions")
        if any(not isinstance(v, int) or isinstance(v, bool) for v in versions):
            raise RuleError("filters.guideline_versions", "give guideline version ids")
        min_agreement = data.get("min_agreement")
        if min_agreement is not None and (isinstance(min_agreement, bool) or not isinstance(min_agreement, (int, float))
                                          or not 0 <= min_agreement <= 1):
            raise RuleError("filters.min_agreement", "give a number from 0 to 1")
        include_submitted = data.get("include_submitted", False)
        if not isinstance(include_submitted, bool):
            raise RuleError("filters.include_submitted", "give true or false")
        return cls(
            splits=tuple(sorted(set(splits))), guideline_versions=tuple(sorted(set(versions))),
            min_agreement=None if min_agreement is None else float(min_agreement),
            exclude_labelers=tuple(resolve_labelers(_id_list(data.get("exclude_labelers", []), "filters.exclude_labelers"))),
            include_submitted=include_submitted,
            labeler_weights=WeightRule.from_dict(data.get("labeler_weights"), "filters.labeler_weights"),
        )

    def as_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def resolve_labelers(values):
    """User ids from ids or usernames; an unknown one is a RuleError naming it."""
    User = get_user_model()
    ids = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise RuleError("filters.exclude_labelers", "give user ids or usernames")
        lookup = {"id": value} if isinstance(value, int) else {"username": value}
        found = User.objects.filter(**lookup).values_list("id", flat=True).first()
        if found is None:
            raise RuleError("filters.exclude_labelers", f"no user {value!r}")
        ids.add(found)
    return sorted(ids)


# ---- the exchange layout ------------------------------------------------------------------------


def prompt_field(messages):
    """A single user message is a plain string; anything else stays a conversation."""
    if len(messages) == 1 and messages[0].get("role") == "user":
        return messages[0]["content"]
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def answer_field(prompt, text):
    return text if isinstance(prompt, str) else [{"role": "assistant", "content": text}]


def dumps(record):
    text = json.dumps(record, ensure_ascii=False, separators=(", ", ": "))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate stored before the edge refused them: escape it ("\ud800")
            text = json.dumps(record, ensure_ascii=True, separators=(", ", ": "))
    return text


# ---- selecting labels ---------------------------------------------------------------------------


def excluded_labelers(flt, counts):
    """Labelers whose labels stay out: those named, and those below the minimum agreement."""
    excluded = set(flt.exclude_labelers)
    if flt.min_agreement is not None:
        report = agreement_report()
        labeler_ids = set(Ranking.objects.order_by().values_list("labeler_id", flat=True).distinct()) | set(
            Demonstration.objects.order_by().values_list("labeler_id", flat=True).distinct())
        below = {i for i in labeler_ids if (report.labeler_agreement(i) or -1) < flt.min_agreement}
        counts["labelers_below_agreement"] = len(below - excluded)
        excluded |= below
    if flt.labeler_weights is not None:
        _, below = gold_weights(flt)
        counts["labelers_below_gold_floor"] = len(below - excluded)
        excluded |= below
    return excluded


def gold_weights(flt):
    """({labeler: weight}, {below the floor}) under the snapshot's weighting rule, for every labeler."""
    labeler_ids = set(Ranking.objects.order_by().values_list("labeler_id", flat=True).distinct())
    return labeler_weights(flt.labeler_weights, labeler_ids)


def demonstrations(flt, excluded):
    states = [ReviewState.ACCEPTED] + ([ReviewState.SUBMITTED] if flt.include_submitted else [])
    qs = Demonstration.objects.filter(review_state__in=states)
    if flt.splits:
        qs = qs.filter(prompt__split__in=flt.splits)
    if flt.guideline_versions:
        qs = qs.filter(guideline_version_id__in=flt.guideline_versions)
    if excluded:
        qs = qs.exclude(labeler_id__in=excluded)
    return qs.order_by("id")


def rankings(flt, excluded):
    qs = Ranking.objects.filter(unrankable=False, task__kind=TaskKind.RANKING)
    if flt.splits:
        qs = qs.filter(task__prompt__split__in=flt.splits)
    if flt.guideline_versions:
        qs = qs.filter(guideline_version_id__in=flt.guideline_versions)
    if excluded:
        qs = qs.exclude(labeler_id__in=excluded)
    return qs.order_by("id")


class DemoRow(NamedTuple):
    id: int
    labeler_id: int
    prompt_id: int
    text: str
    messages: list


class RankingRow(NamedTuple):
    id: int
    labeler_id: int
    task_id: int
    prompt_id: int
    messages: list
    split: str
    category: str


DEMO_FIELDS = ("id", "labeler_id", "prompt_id", "text", "prompt__messages")
RANKING_FIELDS = ("id", "labeler_id", "task_id", "task__prompt_id", "task__prompt__messages", "task__prompt__split",
                  "task__prompt__category")


def _chunks(queryset, fields, row, size=CHUNK):
    """Rows in id order, a chunk at a time (keyset pagination: steady memory on any database; plain
    tuples, not model instances, because building models was most of the export's time)."""
    last = 0
    while True:
        chunk = [row(*values) for values in queryset.filter(id__gt=last).values_list(*fields)[:size]]
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id


def sft_lines(flt, excluded, counts):
    prompts, labelers = set(), set()
    counts["examples"] = 0
    for chunk in _chunks(demonstrations(flt, excluded), DEMO_FIELDS, DemoRow):
        for demo in chunk:
            prompt = prompt_field(demo.messages)
            counts["examples"] += 1
            prompts.add(demo.prompt_id)
            labelers.add(demo.labeler_id)
            yield {"prompt": prompt, "completion": answer_field(prompt, demo.text)}
    counts.update(prompts=len(prompts), labelers=len(labelers))


def _ranking_chunks(flt, excluded):
    """[(ranking row, [(response_id, text, rank)] in task order)] for the rankings in scope, by chunk."""
    for chunk in _chunks(rankings(flt, excluded), RANKING_FIELDS, RankingRow):
        task_of = {r.id: r.task_id for r in chunk}
        position = {(t, r): p for t, r, p in TaskResponse.objects.filter(task_id__in=set(task_of.values()))
                    .values_list("task_id", "response_id", "position")}
        items = {}
        for ranking_id, response_id, text, rank in (RankedResponse.objects.filter(ranking_id__in=list(task_of))
                                                    .values_list("ranking_id", "response_id", "response__text", "rank")):
            where = position.get((task_of[ranking_id], response_id), 0)
            items.setdefault(ranking_id, []).append((where, response_id, text, rank))
        yield [(r, [item[1:] for item in sorted(items.get(r.id, []))]) for r in chunk]


def ranking_lines(flt, excluded, counts):
    prompts, labelers = set(), set()
    counts["rankings"] = 0
    weights = gold_weights(flt)[0] if flt.labeler_weights is not None else None
    for chunk in _ranking_chunks(flt, excluded):
        for ranking, items in chunk:
            prompt = prompt_field(ranking.messages)
            counts["rankings"] += 1
            prompts.add(ranking.prompt_id)
            labelers.add(ranking.labeler_id)
            record = {"prompt": prompt, "responses": [answer_field(prompt, text) for _, text, _ in items],
                      "ranks": [rank for _, _, rank in items], "split": ranking.split, "category": ranking.category}
            if weights is not None:
                record["weight"] = weights[ranking.labeler_id]
            yield record
    counts.update(prompts=len(prompts), labelers=len(labelers))


def pair_lines(flt, excluded, counts):
    prompts, labelers, rankings_with_pairs = set(), set(), 0
    counts["pairs"] = 0
    weights = gold_weights(flt)[0] if flt.labeler_weights is not None else None
    for chunk in _ranking_chunks(flt, excluded):
        ids = [ranking.id for ranking, _ in chunk]
        pairs = {}
        for ranking_id, chosen, rejected in ComparisonPair.objects.filter(ranking_id__in=ids).values_list(
                "ranking_id", "chosen_id", "rejected_id"):
            pairs.setdefault(ranking_id, []).append((chosen, rejected))
        for ranking, items in chunk:
            if ranking.id not in pairs:
                continue
            order = {rid: (rank, i) for i, (rid, _, rank) in enumerate(items)}
            text = {rid: t for rid, t, _ in items}
            prompt = prompt_field(ranking.messages)
            rankings_with_pairs += 1
            prompts.add(ranking.prompt_id)
            labelers.add(ranking.labeler_id)
            for chosen, rejected in sorted(pairs[ranking.id], key=lambda p: (order[p[0]], order[p[1]])):
                counts["pairs"] += 1
                record = {"prompt": prompt, "chosen": answer_field(prompt, text[chosen]),
                          "rejected": answer_field(prompt, text[rejected])}
                if weights is not None:
                    record["weight"] = weights[ranking.labeler_id]
                yield record
    counts.update(rankings=rankings_with_pairs, prompts=len(prompts), labelers=len(labelers))


LINES = {SnapshotKind.SFT: sft_lines, SnapshotKind.PAIRS: pair_lines, SnapshotKind.RANKINGS: ranking_lines}


# ---- freezing -----------------------------------------------------------------------------------


def datasets_dir():
    path = Path(settings.ARTIFACT_ROOT) / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def expand_pending(flt, excluded):
    """Expand rankings in scope whose pairs are not written yet (their task may still be queued)."""
    pending = list(rankings(flt, excluded).filter(pairs_expanded_at__isnull=True).values_list("id", flat=True))
    for i in range(0, len(pending), CHUNK):
        expand_rankings(pending[i:i + CHUNK])


def freeze_snapshot(kind, filters=None, name="", user=None):
    """Write the snapshot file (streaming, hashing as it goes) and record it. Raises RuleError on a bad
    kind or filter."""
    if kind not in SnapshotKind.values:
        raise RuleError("kind", f"{kind!r} is not one of {', '.join(SnapshotKind.values)}")
    if not isinstance(name, str) or len(name) > 200:
        raise RuleError("name", "at most 200 characters of text")
    flt = filters if isinstance(filters, SnapshotFilter) else SnapshotFilter.from_dict(filters)
    counts = {}
    excluded = excluded_labelers(flt, counts)
    if kind != SnapshotKind.SFT:
        expand_pending(flt, excluded)
    folder = datasets_dir()
    digest = hashlib.sha256()
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{kind}-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for record in LINES[kind](flt, excluded, counts):
                data = (dumps(record) + "\n").encode("utf-8")
                digest.update(data)
                out.write(data)
        content_hash = digest.hexdigest()
        final = folder / f"{kind}-{content_hash[:16]}.jsonl"
        if final.exists():  # the same content was frozen before: keep that file untouched
            Path(tmp).unlink()
        else:
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return DatasetSnapshot.objects.create(name=name, kind=kind, filters=flt.as_dict(), counts=counts,
                                          content_hash=content_hash, file_path=str(final), created_by=user)
