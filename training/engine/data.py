"""Reading SPEC records, rendering prompts, tokenising, masking, bucketing and collation.

Formats (SPEC, JSON Lines):
- demonstrations ``{"prompt", "completion"}``; rankings ``{"prompt", "responses": [K], "ranks": [K]}``;
  pairs ``{"prompt", "chosen", "rejected"}``; prompts ``{"text"}`` or ``{"prompt"}``;
  Anthropic HH-RLHF ``{"chosen", "rejected"}`` full dialogues.
- ``prompt`` is a string or a list of ``{"role", "content"}`` messages; an answer is a string or
  ``[{"role": "assistant", "content": ...}]``.

Over-length examples are truncated (prompt from the left, then the answer from the right) and counted
in a ``Truncation`` tally that the trainers report; nothing is dropped silently.

Strict reading: ``load_records(path, kind)`` checks every record against its format at load time and
raises ``DataError`` naming the file and line. A ranking must carry its ranks (a sampling output lists
answers in generation order, which is no preference), one positive integer per answer.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch

from .messages import normalise_answer, normalise_prompt  # noqa: F401  (read from here by the trainers)

PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


# ---- reading -------------------------------------------------------------------------------------


class DataError(ValueError):
    """A record of a data file does not have its format; the message names the file and line."""

    def __init__(self, source, line: int, message: str):
        self.source, self.line, self.message = str(source), line, message
        super().__init__(f"{source}, line {line}: {message}")


def numbered_records(path) -> list[tuple[int, dict]]:
    """(line number, record) for every non-blank line; bad JSON is a DataError naming the line."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(path, n, f"not JSON ({e.msg})") from None
            if not isinstance(record, dict):
                raise DataError(path, n, f"expected a JSON object, got {type(record).__name__}")
            out.append((n, record))
    return out


def read_jsonl(path) -> list[dict]:
    return [r for _, r in numbered_records(path)]


def write_jsonl(path, records: Iterable[dict]):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def load_records(data, check=None) -> list[dict]:
    """``data`` is a JSONL path or an in-memory list of records; ``check(record)`` raises ValueError on a bad one
    (``DEMONSTRATIONS``, ``RANKINGS``, ``PROMPTS``), reported as a DataError with the file and line."""
    if data is None:
        return []
    if isinstance(data, (str, Path)):
        numbered, source = numbered_records(data), data
    else:
        numbered, source = list(enumerate(data, 1)), "records"
    if check is not None:
        for n, record in numbered:
            try:
                if not isinstance(record, dict):
                    raise ValueError(f"expected a JSON object, got {type(record).__name__}")
                check(record)
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(source, n, str(e)) from None
    return [r for _, r in numbered]


# ---- normalisation (prompts and answers: messages.py) ---------------------------------------------


def prompt_of(record: dict):
    if "prompt" in record:
        return record["prompt"]
    if "text" in record:
        return record["text"]
    raise ValueError("record has no 'prompt' or 'text'")


def parse_hh_dialogue(text: str) -> tuple[list[dict], str]:
    """Split an HH-RLHF dialogue ("\\n\\nHuman: ...\\n\\nAssistant: ...") into (prompt messages, last answer)."""
    messages = []
    for chunk in text.split("\n\nHuman: ")[1:] if "\n\nHuman: " in text else [text]:
        parts = chunk.split("\n\nAssistant:")
        messages.append({"role": "user", "content": parts[0].strip()})
        for a in parts[1:]:
            messages.append({"role": "assistant", "content": a.strip()})
    if not messages or messages[-1]["role"] != "assistant":
        return messages, ""
    return messages[:-1], messages[-1]["content"]


@dataclass
class RankedAnswers:
    """One K-wise ranking (a pair is a ranking with K=2). rank 1 is best; equal ranks are ties."""

    prompt: list
    responses: list[str]
    ranks: list[int]

    def pairs(self) -> list[tuple[int, int]]:
        """Non-tied (winner, loser) index pairs."""
        K = len(self.responses)
        return [(i, j) if self.ranks[i] < self.ranks[j] else (j, i)
                for i in range(K) for j in range(i + 1, K) if self.ranks[i] != self.ranks[j]]

    def ties(self) -> list[tuple[int, int]]:
        K = len(self.responses)
        return [(i, j) for i in range(K) for j in range(i + 1, K) if self.ranks[i] == self.ranks[j]]


def to_ranking(record: dict) -> RankedAnswers:
    """Read a K-wise ranking, an explicit-prompt pair, or an HH-RLHF dialogue pair (strictly: see module doc)."""
    if "responses" in record:
        if "prompt" not in record:
            raise ValueError("ranking has no 'prompt'")
        if not isinstance(record["responses"], list) or len(record["responses"]) < 2:
            raise ValueError("'responses' must be a list of at least 2 answers")
        responses = [normalise_answer(r) for r in record["responses"]]
        if "ranks" not in record:
            if "response_tokens" in record:
                raise ValueError("this is a sampling output (answers in generation order, no 'ranks'), not "
                                 "preference data: have it ranked first")
            raise ValueError("ranking has no 'ranks' (one rank per answer, 1 = best)")
        ranks = record["ranks"]
        if not isinstance(ranks, list) or len(ranks) != len(responses):
            raise ValueError(f"'ranks' must list one rank per answer ({len(responses)} answers)")
        if not all(isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= len(responses) for r in ranks):
            raise ValueError(f"'ranks' must be integers from 1 to {len(responses)}, got {ranks}")
        return RankedAnswers(normalise_prompt(record["prompt"]), responses, list(ranks))
    if "chosen" in record and "rejected" in record:
        if "prompt" in record:
            return RankedAnswers(normalise_prompt(record["prompt"]),
                           [normalise_answer(record["chosen"]), normalise_answer(record["rejected"])], [1, 2])
        if isinstance(record["chosen"], str):  # HH-RLHF layout
            p, chosen = parse_hh_dialogue(record["chosen"])
            _, rejected = parse_hh_dialogue(record["rejected"])
            return RankedAnswers(p, [chosen, rejected], [1, 2])
        # conversational implicit prompt: lists of messages sharing a prefix
        return RankedAnswers(record["chosen"][:-1], [record["chosen"][-1]["content"], record["rejected"][-1]["content"]],
                       [1, 2])
    raise ValueError("unknown format: expected a ranking {prompt, responses, ranks}, a pair {prompt, chosen, "
                     f"rejected}} or an HH-RLHF pair {{chosen, rejected}}; got keys {sorted(record)}")


def check_demonstration(record: dict):
    prompt_of(record)
    if "completion" not in record:
        raise ValueError("demonstration has no 'completion'")
    normalise_prompt(prompt_of(record))
    normalise_answer(record["completion"])


def check_prompt(record: dict):
    normalise_prompt(prompt_of(record))


DEMONSTRATIONS, RANKINGS, PROMPTS = check_demonstration, to_ranking, check_prompt


# ---- rendering -----------------------------------------------------------------------------------


def render_prompt(tokenizer, prompt) -> str:
    """Prompt text ending where the assistant answer starts (chat template when the tokenizer has one)."""
    messages = normalise_prompt(prompt)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return plain_chat(messages)


def plain_chat(messages: list[dict]) -> str:
    text = "".join(f"{PLAIN_ROLES.get(m['role'], m['role'].capitalize())}: {m['content']}\n" for m in messages)
    return text + "Assistant:"


def join_answer(prompt_text: str, answer: str) -> str:
    """The answer as it follows the prompt: after "Assistant:" it starts with one space.

    Byte-level BPE merges a space into the next word (" The"), so the generation prompt ends without the
    space and the answer carries it; templates ending in a newline (ChatML) take the answer as is.
    """
    if prompt_text and not prompt_text[-1].isspace() and answer and not answer[0].isspace():
        return " " + answer
    return answer


def strip_answer(text: str) -> str:
    """Inverse of ``join_answer`` for decoded generations."""
    return text[1:] if text.startswith(" ") else text


# ---- tokenising with truncation accounting -------------------------------------------------------


@dataclass
class Truncation:
    """Tally of over-length examples (truncated, never dropped)."""

    seen: int = 0
    truncated: int = 0
    tokens_cut: int = 0

    def as_dict(self) -> dict:
        return {"examples": self.seen, "truncated": self.truncated, "tokens_cut": self.tokens_cut}


def encode_prompt_answer(tokenizer, prompt, answer: str, max_length: int, truncation: Truncation | None = None,
                         add_eos: bool = True) -> tuple[list[int], int]:
    """Token ids of rendered prompt + answer (+ eos) and the number of prompt tokens.

    Over-length: the prompt loses tokens from the left (keeping at least half the budget for it when the
    answer is long), then the answer from the right.
    """
    p_text = render_prompt(tokenizer, prompt)
    p_ids = tokenizer(p_text, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(join_answer(p_text, answer), add_special_tokens=False)["input_ids"]
    if add_eos and tokenizer.eos_token_id is not None:
        a_ids = a_ids + [tokenizer.eos_token_id]
    total = len(p_ids) + len(a_ids)
    if truncation is not None:
        truncation.seen += 1
    if total > max_length:
        if truncation is not None:
            truncation.truncated += 1
            truncation.tokens_cut += total - max_length
        keep_prompt = max(min(len(p_ids), max_length - len(a_ids)), min(len(p_ids), max_length // 2))
        p_ids = p_ids[len(p_ids) - keep_prompt:]
        a_ids = a_ids[: max_length - len(p_ids)]
    return p_ids + a_ids, len(p_ids)


def encode_prompt(tokenizer, prompt, max_length: int, truncation: Truncation | None = None) -> list[int]:
    ids = tokenizer(render_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    if truncation is not None:
        truncation.seen += 1
        if len(ids) > max_length:
            truncation.truncated += 1
            truncation.tokens_cut += len(ids) - max_length
    return ids[-max_length:]


def sft_example(tokenizer, record: dict, max_length: int, truncation: Truncation | None = None) -> dict:
    """input_ids and labels with the prompt tokens masked (-100): loss on the completion only."""
    ids, n_prompt = encode_prompt_answer(tokenizer, prompt_of(record), normalise_answer(record["completion"]),
                                         max_length, truncation)
    labels = [-100] * n_prompt + ids[n_prompt:]
    return {"input_ids": ids, "labels": labels}


# ---- batching ------------------------------------------------------------------------------------


def pad(seqs: Sequence[Sequence[int]], pad_value: int, side: str = "right") -> torch.Tensor:
    width = max(len(s) for s in seqs)
    rows = []
    for s in seqs:
        fill = [pad_value] * (width - len(s))
        rows.append(list(s) + fill if side == "right" else fill + list(s))
    return torch.tensor(rows, dtype=torch.long)


def collate_lm(examples: list[dict], pad_id: int) -> dict:
    ids = [e["input_ids"] for e in examples]
    return {
        "input_ids": pad(ids, pad_id),
        "attention_mask": pad([[1] * len(s) for s in ids], 0),
        "labels": pad([e["labels"] for e in examples], -100),
    }


def position_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only (needed for left padding)."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def bucketed_batches(lengths: Sequence[int], batch_size: int, seed: int, bucket_factor: int = 8) -> list[list[int]]:
    """Length bucketing: shuffle, sort inside windows of ``batch_size*bucket_factor``, cut, shuffle batches."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * bucket_factor
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def epoch_schedule(lengths: Sequence[int], batch_size: int, seed: int, epochs: int, max_steps: int = 0,
                   bucket: bool = True) -> list[list[int]]:
    """The full list of batches (indices) for a run: deterministic, so a resumed run skips to step N."""
    schedule: list[list[int]] = []
    epoch = 0
    while True:
        if bucket:
            batches = bucketed_batches(lengths, batch_size, seed + epoch)
        else:
            order = list(range(len(lengths)))
            random.Random(seed + epoch).shuffle(order)
            batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        schedule += batches
        epoch += 1
        if max_steps and len(schedule) >= max_steps:
            return schedule[:max_steps]
        if not max_steps and epoch >= max(epochs, 1):
            return schedule
        if not batches:
            return schedule


def train_and_held_out(data, eval_data, check, eval_fraction: float, seed: int) -> tuple[list, list]:
    """The training records and the held-out ones: `eval_data` when given, else a seeded split of `data`."""
    records = load_records(data, check)
    if eval_data is not None:
        return records, load_records(eval_data, check)
    return split_eval(records, eval_fraction, seed)


def split_eval(records: list, eval_fraction: float, seed: int) -> tuple[list, list]:
    if not eval_fraction or len(records) < 2:
        return list(records), []
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_eval = max(1, int(round(len(records) * eval_fraction)))
    eval_idx = set(order[:n_eval])
    return ([r for i, r in enumerate(records) if i not in eval_idx], [r for i, r in enumerate(records) if i in eval_idx])
