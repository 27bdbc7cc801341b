"""Sampled answers fit to rank: storable text, and K different answers per task.

A small or undertrained model can emit NUL (byte-level tokens decode to any byte), which PostgreSQL
refuses in text columns, failing the whole sampling job; the character carries nothing a labeler
could judge, so it is dropped (and a lone surrogate becomes U+FFFD). And sampling can give the same
answer twice (greedy decoding gives K copies); labelers asked to rank copies of one text produce only
ties, so duplicates are sampled again, a few rounds at most, and what remains is reported in the
job's metrics rather than hidden.
"""

from __future__ import annotations

import re

MAX_RESAMPLE_ROUNDS = 3
_UNSTORABLE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text.replace("\x00", ""))


def _add_distinct(kept: list[str], texts, k: int) -> None:
    seen = {t.strip() for t in kept}
    for text in texts:
        text = storable(text)
        if text.strip() not in seen and len(kept) < k:
            kept.append(text)
            seen.add(text.strip())


def distinct_answers(records: list[dict], k: int, resample, max_rounds: int = MAX_RESAMPLE_ROUNDS):
    """(records with their answers made storable and distinct, stats). `resample(ids, round)` returns
    fresh records ({"id", "responses"}) for the prompts that still have fewer than k different answers.
    Answers are the same when they are equal after trimming whitespace."""
    kept = {}
    for record in records:
        kept[record["id"]] = []
        _add_distinct(kept[record["id"]], record["responses"], k)
    stats = {"duplicate_answers": sum(k - len(v) for v in kept.values()), "resampled_prompts": 0, "resample_rounds": 0}
    for round_ in range(1, max_rounds + 1):
        short = [i for i, answers in kept.items() if len(answers) < k]
        if not short:
            break
        stats["resample_rounds"] = round_
        stats["resampled_prompts"] += len(short)
        for record in resample(short, round_):
            _add_distinct(kept[record["id"]], record["responses"], k)
    stats["tasks_with_fewer_answers"] = sum(1 for v in kept.values() if len(v) < k)
    return [{**record, "responses": kept[record["id"]]} for record in records], stats
