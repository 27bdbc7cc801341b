"""Reward-model training: K-wise batching vs the pairwise way, same model, same rankings, one epoch each.

- kwise:    every answer of a ranking is encoded once (K sequences per ranking), the C(K,2) pair losses
            are gathered by index (training/engine/reward.py).
- pairwise: "pairwise (reimpl.)": every pair's chosen and rejected rows go through the model separately,
            2·C(K,2) sequences per ranking, chosen and rejected stacked into one forward call, loss
            −log σ(r_c − r_r) averaged over the pairs of the batch: a plain-PyTorch reimplementation of what
            TRL's RewardTrainer does, inside the same loop as the K-wise run.
- prefix:   K-wise with prefix reuse (the prompt encoded once per ranking, answers on its KV cache).
- trl:      TRL's own ``trl.RewardTrainer`` (TRL 1.16), run on a local model directory. Skipped, with a printed
            line, when TRL is not installed. TRL is a benchmark-only dependency, not in the project's
            requirements; install it into the project venv with

                .venv/bin/pip install -r benchmarks/requirements.txt

Every mode takes the same B rankings per optimizer step (pairwise and TRL: all C(K,2) pairs of those rankings,
so TRL's ``per_device_train_batch_size`` is B·C(K,2)); with no ties every pair loss has weight 1/(B·C(K,2)) on
both sides, so the losses are the same number at the same weights. Each mode runs in its own subprocess so peak
memory (max RSS on CPU, max allocated on CUDA since just before training) is its own; ``base MB`` is the same
measure taken just before training (on CPU, RSS also counts the imports: TRL brings datasets/pyarrow/pandas).

The TRL run, made to do the same work as the others:
- the model: the worker builds our reward model exactly as the K-wise worker does (same seed, so the same
  randomly initialised head), copies its backbone into ``AutoModelForSequenceClassification`` (num_labels=1)
  and its head weight into ``score``, and saves that with the tokenizer to a temp directory, which is what
  RewardTrainer is given (a path string: TRL loads model and tokenizer from it itself, offline). TRL's ``score``
  layer has no bias, ours has one (zero at start): a bias cancels in r_c − r_r, so the losses are unaffected.
- the data: the same rankings expanded into explicit-prompt pairs in the *standard* (string) form,
  prompt = our rendered chat prompt ("User: …\nAssistant:"), chosen/rejected = the answer as our encoder joins
  it (" answer"); TRL appends the eos token and tokenizes prompt+answer. The worker checks that TRL's token ids
  equal the K-wise side's, sequence for sequence. (The conversational form would render the answer as an
  assistant turn with its own trailing newline: not the text the K-wise side sees.) ``max_length`` is set far
  above the longest pair, and the worker asserts that no pair was dropped by TRL's length filter.
- RewardConfig: bf16=False, fp16=False, gradient_checkpointing=False (TRL's defaults turn both on), one
  epoch, ``train_sampling_strategy="sequential"`` (so its batches are the same pairs as the others'),
  AdamW lr 1e-5 with a constant schedule and no gradient clipping (as the loop of the other modes; TRL's
  weight decay 0.01 skips biases and LayerNorms, torch's AdamW default in the other loop does not: same
  cost), logging every step, report_to none, no saving, ``use_cpu`` without CUDA. Only ``trainer.train()``
  is timed: that includes the Trainer's own per-run setup (optimizer, accelerator, dataloader) and its
  per-step bookkeeping (it computes the gradient norm for its logs even with clipping off, and logs reward
  statistics), which is part of what running TRL costs. Dataset tokenization happens before, untimed.
- the loss check: at the initial weights, ``trainer.compute_loss`` on TRL's own collated first batch, and the
  first logged loss (step 1, computed before the first update, dropout off), against the K-wise loss of the
  same rankings (both from the K-wise worker and recomputed in the TRL worker with the weights it copied).

    python benchmarks/rm_kwise_vs_pairwise.py            # K=4 and K=9
    python benchmarks/rm_kwise_vs_pairwise.py --tiny     # seconds, for the test suite
    python benchmarks/rm_kwise_vs_pairwise.py --shapes synthetic,hh,oasst   # also at the real data sets' shapes

Shapes (``--shapes``): what prefix reuse and K-wise batching buy depends on how long prompts are next to
answers. ``synthetic``: every prompt ``--prompt-words`` and every answer ``--answer-words`` words long. ``hh``
and ``oasst``: each ranking's prompt length and each of its K answers' lengths drawn from the word counts of
the real data in ``data/`` (HH-RLHF, ``hh-rlhf/train.jsonl.gz``: the dialogue before the last Assistant turn,
long, and that turn, short: median 63 and 24 words; OASST, ``oasst/rankings_k3plus.jsonl.gz``: the
conversation up to the prompter's message, short, and each reply, long: median 36 and 94 words), the words
themselves drawn from the benchmark's vocabulary, so the model and tokenizer stay the same. A real word
count becomes a token count at 4/3 tokens a word (GPT-2-style BPE on English: about 75 words per 100 tokens),
and that many tokens of the benchmark's own tokenizer are written (it spends more tokens on a word than a
real one). Lengths are clipped to fit the context (prompt <= 600, answer <= 400 tokens; the JSON says how
often the real data exceeds that).

Results: a table on stdout and JSON in benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("the a river stone cloud tree house road bird book lamp chair ship door hill fish star cake horse garden "
         "song good bad great poor nice sad lovely ugly quick slow bright dark warm cold").split()


SHAPES = ("synthetic", "hh", "oasst")
CONTEXT = 1152  # the model's positions: room for the longest clipped prompt + answer, with markup
MAX_PROMPT_TOKENS, MAX_ANSWER_TOKENS = 600, 400
REAL_TOKENS_PER_WORD = 4 / 3


def real_lengths(shape: str) -> tuple[list[int], list[int]]:
    """(prompt word counts, answer word counts) of a real data set in data/."""
    from training.engine.data import read_jsonl

    prompts, answers = [], []
    if shape == "hh":  # {"chosen", "rejected"}: the same dialogue, different last Assistant turns
        for row in read_jsonl(ROOT / "data" / "hh-rlhf" / "train.jsonl.gz"):
            cut = row["chosen"].rfind("\n\nAssistant:")
            prompts.append(len(row["chosen"][:cut].split()))
            for text in (row["chosen"], row["rejected"]):
                answers.append(len(text[text.rfind("\n\nAssistant:") + len("\n\nAssistant:"):].split()))
    elif shape == "oasst":  # K-wise rankings: the conversation up to the prompter's message, then K replies
        for row in read_jsonl(ROOT / "data" / "oasst" / "rankings_k3plus.jsonl.gz"):
            prompts.append(sum(len(turn["text"].split()) for turn in row["conversation"]))
            answers += [len(text.split()) for text in row["responses"]]
    else:
        raise ValueError(f"no real data for shape {shape!r}")
    return prompts, answers


def tokens_per_word(tokenizer) -> float:
    """How many of this tokenizer's tokens a benchmark word costs (BPE merges make it vary by vocabulary)."""
    rng = random.Random(0)
    text = " ".join(rng.choice(WORDS) for _ in range(2000))
    return len(tokenizer(text, add_special_tokens=False)["input_ids"]) / 2000


def make_rankings(n: int, k: int, prompt_words: int, answer_words: int, seed: int, shape: str = "synthetic",
                  token_cost: float = 1.0) -> list[dict]:
    """n rankings of k answers in random words; lengths fixed (synthetic, in words) or drawn from a real data
    set's word counts, as tokens (see the module docstring), with `token_cost` tokens per benchmark word."""
    rng = random.Random(seed)
    if shape == "synthetic":
        prompt_len = answer_len = None
    else:
        prompt_pool, answer_pool = real_lengths(shape)

        def drawn(pool, most):
            tokens = min(most, rng.choice(pool) * REAL_TOKENS_PER_WORD)
            return max(1, round(tokens / token_cost))

        prompt_len = lambda: drawn(prompt_pool, MAX_PROMPT_TOKENS)  # noqa: E731
        answer_len = lambda: drawn(answer_pool, MAX_ANSWER_TOKENS)  # noqa: E731
    out = []
    for _ in range(n):
        words = prompt_len() if prompt_len else prompt_words
        prompt = " ".join(rng.choice(WORDS) for _ in range(words)) + "?"
        responses = [" ".join(rng.choice(WORDS) for _ in range(answer_len() if answer_len else answer_words)) + "."
                     for _ in range(k)]
        out.append({"prompt": prompt, "responses": responses, "ranks": list(range(1, k + 1))})  # no ties
    return out


def clipped_share(shape: str) -> dict | None:
    """How often the real lengths exceed the clip (so the reader knows what the shape left out)."""
    if shape == "synthetic":
        return None
    prompts, answers = real_lengths(shape)
    return {"prompts_clipped": sum(x * REAL_TOKENS_PER_WORD > MAX_PROMPT_TOKENS for x in prompts) / len(prompts),
            "answers_clipped": sum(x * REAL_TOKENS_PER_WORD > MAX_ANSWER_TOKENS for x in answers) / len(answers),
            "prompt_words_median": sorted(prompts)[len(prompts) // 2], "answer_words_median": sorted(answers)[len(answers) // 2]}


def build_model(path: Path, tiny: bool):
    """A small GPT-2 + BPE built from config (weights untrained: speed does not depend on them)."""
    from training.engine.bootstrap import BootstrapConfig, build_model as build, train_tokenizer

    config_file = path / "config.json"
    if config_file.exists() and json.loads(config_file.read_text()).get("n_positions", 0) >= CONTEXT:
        return path
    text = [" ".join(random.Random(i).choice(WORDS) for _ in range(200)) for i in range(20)]
    tok = train_tokenizer(text, vocab_size=400 if tiny else 1024)
    cfg = BootstrapConfig(vocab_size=400 if tiny else 1024, n_layer=2 if tiny else 4, n_embd=64 if tiny else 256,
                          n_head=4, context_length=CONTEXT)
    model = build(cfg, tok)
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def peak_memory_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_memory_mb(device) -> float:
    """The baseline just before training, in the same measure as ``peak_memory_mb``."""
    import torch

    if device.type == "cuda":
        return torch.cuda.memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MODES = ("kwise", "pairwise", "prefix", "trl")
LABELS = {"kwise": "kwise", "pairwise": "pairwise (reimpl.)", "prefix": "prefix", "trl": "TRL RewardTrainer"}
SKIP_TRL = "trl: skipped (TRL is not installed; .venv/bin/pip install -r benchmarks/requirements.txt)"


def trl_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("trl", "datasets"))


def worker(args) -> dict:
    """One mode, one epoch; prints a JSON line."""
    if args.mode == "trl":  # everything is local: never reach for the Hub (read when huggingface_hub is imported)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import torch
    import torch.nn.functional as F

    from training.engine.data import to_ranking
    from training.engine.reward import (collate_rankings, encode_ranking, kwise_loss, load_reward_model,
                                        prefix_reuse_rewards)

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rm = load_reward_model(args.model, device)
    tok = rm.tokenizer
    rankings = make_rankings(args.rankings, args.k, args.prompt_words, args.answer_words, seed=args.k, shape=args.shape,
                             token_cost=tokens_per_word(tok))
    items = [encode_ranking(tok, to_ranking(r), CONTEXT) for r in rankings]
    assert all(len(s) < CONTEXT for item in items for s in item["seqs"]), "a sequence reached the context: truncated"
    shape_stats = {"shape": args.shape, "mean_sequence_tokens": sum(len(s) for i in items for s in i["seqs"])
                   / sum(len(i["seqs"]) for i in items)}
    batches = [items[i:i + args.batch_size] for i in range(0, len(items), args.batch_size)]

    def pairwise_loss(chunk):
        chosen, rejected = [], []
        for item in chunk:
            for w, l in item["pairs"]:
                chosen.append(item["seqs"][w])
                rejected.append(item["seqs"][l])
        from training.engine.data import pad
        seqs = chosen + rejected  # TRL stacks chosen and rejected rows into one forward
        x = pad(seqs, tok.pad_token_id).to(device)
        m = pad([[1] * len(s) for s in seqs], 0).to(device)
        r = rm(x, m)
        return -F.logsigmoid(r[:len(chosen)] - r[len(chosen):]).mean(), len(seqs)

    def kwise(chunk, prefix=False):
        batch = collate_rankings(chunk, tok.pad_token_id)
        if prefix:
            r = prefix_reuse_rewards(rm, tok, chunk, device)
        else:
            r = rm(batch["input_ids"].to(device), batch["attention_mask"].to(device))
        loss = kwise_loss(r, batch["w"].to(device), batch["l"].to(device), batch["pair_ranking"].to(device),
                          batch["n_rankings"])
        return loss, sum(len(i["seqs"]) for i in chunk)

    if args.mode == "trl":
        with torch.no_grad():  # the K-wise loss at the weights handed to TRL (same as the kwise worker's)
            kwise_first = kwise(batches[0])[0].item()
        return {**trl_worker(args, rm, items, batches, device, kwise_first), **shape_stats}

    opt = torch.optim.AdamW(rm.parameters(), lr=1e-5)
    step = {"kwise": kwise, "pairwise": pairwise_loss, "prefix": lambda c: kwise(c, prefix=True)}[args.mode]
    with torch.no_grad():  # this mode's loss on the first batch at the initial weights (same in every worker)
        first_loss = step(batches[0])[0].item()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    base_memory = current_memory_mb(device)
    sequences, tokens_seen = 0, 0
    start = time.perf_counter()
    for chunk in batches:
        loss, n = step(chunk)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sequences += n
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    return {"mode": args.mode, "label": LABELS[args.mode], "k": args.k, "rankings": len(items), "steps": len(batches),
            "wall_s": wall, "sequences": sequences, "sequences_per_s": sequences / wall,
            "rankings_per_s": len(items) / wall, "peak_memory_mb": peak_memory_mb(device),
            "base_memory_mb": base_memory, "device": str(device), "first_batch_loss": first_loss, **shape_stats}


def trl_pairs(tok, items: list[dict], batch_size: int) -> tuple[list[dict], list[tuple[dict, int, int]], int]:
    """The rankings as TRL's explicit-prompt pairs in the standard (string) form, the text our encoder sees:
    prompt = our rendered chat prompt, chosen/rejected = the answer as ``join_answer`` joins it (TRL appends the
    eos token and tokenizes prompt + answer). Also (ranking item, w, l) of each row, and how many pairs one
    optimizer step takes: B rankings × C(K,2), as the other modes."""
    from training.engine.data import join_answer, render_prompt

    pairs_per_ranking = {len(item["pairs"]) for item in items}
    assert len(pairs_per_ranking) == 1 and not any(item["ties"] for item in items), "benchmark rankings have no ties"
    pairs = [(item, w, l) for item in items for w, l in item["pairs"]]
    rows = []
    for item, w, l in pairs:
        p_text = render_prompt(tok, item["prompt"])
        rows.append({"prompt": p_text, "chosen": join_answer(p_text, item["responses"][w]),
                     "rejected": join_answer(p_text, item["responses"][l])})
    return rows, pairs, batch_size * pairs_per_ranking.pop()


def trl_training_args(output_dir: Path, pairs_per_step: int, device) -> dict:
    """The TrainingArguments every TRL run here shares: the work of the other modes' loop (module docstring)."""
    return dict(
        output_dir=str(output_dir), bf16=False, fp16=False, gradient_checkpointing=False,
        activation_checkpointing=False,  # transformers 5 name of gradient_checkpointing (TRL defaults it on)
        num_train_epochs=1, per_device_train_batch_size=pairs_per_step, gradient_accumulation_steps=1,
        learning_rate=1e-5, optim="adamw_torch", weight_decay=0.01, lr_scheduler_type="constant", warmup_steps=0,
        max_grad_norm=0.0, train_sampling_strategy="sequential", logging_steps=1, report_to="none",
        save_strategy="no", eval_strategy="no", use_cpu=device.type != "cuda", seed=0, disable_tqdm=True,
        dataloader_num_workers=0)


def trl_first_batch_loss(trainer, pairs_per_step: int) -> float:
    """``trainer.compute_loss`` on TRL's own collated first batch at the current weights, dropout off."""
    import torch

    model = trainer.model
    model.eval()
    ds = trainer.train_dataset
    batch = trainer.data_collator([ds[i] for i in range(min(pairs_per_step, len(ds)))])
    dev = next(model.parameters()).device
    with torch.no_grad():
        return trainer.compute_loss(model, {k: v.to(dev) for k, v in batch.items()}).item()


def trl_train_timed(trainer, device, steps: int) -> tuple[float, float, list[float]]:
    """``trainer.train()`` alone, timed: (wall s, memory just before it, the losses TRL logged, one a step)."""
    import contextlib
    import gc

    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    base_memory = current_memory_mb(device)
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs: keep stdout for the result line
        trainer.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    m = trainer.model
    checkpointing = getattr(m, "is_activation_checkpointing", None)  # transformers 5; older: is_gradient_...
    assert not (m.is_gradient_checkpointing if checkpointing is None else checkpointing)
    assert trainer.state.global_step == steps, (trainer.state.global_step, steps)
    return wall, base_memory, [h["loss"] for h in trainer.state.log_history if "loss" in h]


def trl_loss_summary(loss_kwise: float, t: dict, tol: float) -> dict:
    """The TRL row's losses for the summary. ``same_loss_trl``: TRL's first-batch loss at the initial weights
    (``compute_loss`` and the first logged loss) equals the K-wise loss of the same rankings, from the K-wise
    worker and recomputed in the TRL worker."""
    loss = t["first_batch_loss"]
    same = t["first_logged_loss"] is not None and all(
        abs(x - loss) < tol for x in (loss_kwise, t["kwise_loss_same_weights"], t["first_logged_loss"]))
    return {"loss_trl": loss, "loss_trl_first_logged": t["first_logged_loss"],
            "loss_kwise_in_trl_worker": t["kwise_loss_same_weights"], "same_tokens_trl": t["same_tokens"],
            "same_loss_trl": same}


def trl_summary(by: dict, loss_kwise: float, time_key: str, count_key: str, count_ratio: str, tol: float) -> dict:
    """The summary's TRL entries for one (shape, K), from the rows by mode (`time_key`: the wall time's name,
    `count_key`: the encoded sequences' name in those rows); ``same_loss_trl`` None when TRL was not run."""
    if "trl" not in by:
        return {"same_loss_trl": None}
    t, k = by["trl"], by["kwise"]
    out = {"speedup_wall_trl": t[time_key] / k[time_key]}
    if "prefix" in by:
        out["speedup_wall_prefix_trl"] = t[time_key] / by["prefix"][time_key]
    out.update({count_ratio: t[count_key] / k[count_key], "memory_ratio_trl": t["peak_memory_mb"] / k["peak_memory_mb"],
                **trl_loss_summary(loss_kwise, t, tol)})
    return out


def trl_worker(args, rm, items, batches, device, kwise_first: float) -> dict:
    """TRL's RewardTrainer on the same weights and rankings (see the module docstring)."""
    import contextlib
    import tempfile

    import torch
    import trl
    from datasets import Dataset
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    tok = rm.tokenizer
    rows, pairs, pairs_per_step = trl_pairs(tok, items, args.batch_size)
    chosen_ids = [list(item["seqs"][w]) for item, w, _ in pairs]
    rejected_ids = [list(item["seqs"][l]) for item, _, l in pairs]
    n_pairs = len(rows)
    longest = max(len(s) for s in chosen_ids + rejected_ids)

    tmp = tempfile.TemporaryDirectory(prefix="rm_bench_trl_")
    model_dir = Path(tmp.name) / "model"
    # Our RM's exact weights as a sequence-classification model: backbone copied, head weight -> score.
    config = AutoConfig.from_pretrained(args.model, num_labels=1)
    config.pad_token_id = tok.pad_token_id
    seq = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    seq.base_model.load_state_dict(rm.backbone.state_dict(), strict=True)
    with torch.no_grad():
        seq.score.weight.copy_(rm.head.weight)  # TRL's score has no bias; ours cancels in r_c − r_r
    seq.save_pretrained(str(model_dir))
    tok.save_pretrained(str(model_dir))
    del seq

    cfg = RewardConfig(**trl_training_args(Path(tmp.name) / "out", pairs_per_step, device),
                       max_length=max(1024, 2 * longest))
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs: keep stdout for the result line
        trainer = RewardTrainer(model=str(model_dir), args=cfg, train_dataset=Dataset.from_list(rows))
    assert not (trainer.args.bf16 or trainer.args.fp16 or trainer.args.activation_checkpointing)
    ds = trainer.train_dataset
    assert len(ds) == n_pairs, f"TRL dropped pairs in preprocessing: {len(ds)} of {n_pairs} left"
    same_tokens = ([list(x) for x in ds["chosen_ids"]] == chosen_ids
                   and [list(x) for x in ds["rejected_ids"]] == rejected_ids)

    first_loss = trl_first_batch_loss(trainer, pairs_per_step)  # TRL's first batch at the initial weights
    dev = next(trainer.model.parameters()).device
    del rm
    wall, base_memory, logged = trl_train_timed(trainer, device, len(batches))
    sequences = 2 * n_pairs
    tmp.cleanup()
    return {"mode": "trl", "label": LABELS["trl"], "k": args.k, "rankings": len(items),
            "steps": trainer.state.global_step,
            "wall_s": wall, "sequences": sequences, "sequences_per_s": sequences / wall,
            "rankings_per_s": len(items) / wall, "peak_memory_mb": peak_memory_mb(device),
            "base_memory_mb": base_memory, "device": str(dev), "first_batch_loss": first_loss,
            "first_logged_loss": logged[0] if logged else None, "kwise_loss_same_weights": kwise_first,
            "same_tokens": same_tokens, "pairs": n_pairs, "pairs_after_trl_preprocessing": len(ds),
            "per_device_train_batch_size": pairs_per_step, "trl_version": trl.__version__}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="seconds-long run (tests)")
    p.add_argument("--ks", default="4,9")
    p.add_argument("--shapes", default="synthetic", help="prompt/answer lengths: subset of " + ",".join(SHAPES))
    p.add_argument("--modes", default=",".join(MODES), help="subset of " + ",".join(MODES))
    p.add_argument("--rankings", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8, help="rankings per optimizer step")
    p.add_argument("--prompt-words", type=int, default=None)
    p.add_argument("--answer-words", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="causal LM / RM dir (default: a small GPT-2 built from config)")
    p.add_argument("--name", default=None)
    p.add_argument("--worker", choices=list(MODES), help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, help=argparse.SUPPRESS)
    p.add_argument("--shape", default="synthetic", choices=SHAPES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rankings is None:
        args.rankings = 16 if args.tiny else 64
    args.prompt_words = args.prompt_words or (12 if args.tiny else 48)
    args.answer_words = args.answer_words or (6 if args.tiny else 24)

    if args.worker:
        args.mode = args.worker
        print(json.dumps(worker(args)))
        return None

    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown or "kwise" not in modes:
        p.error(f"--modes: subset of {','.join(MODES)} including kwise (got {args.modes})")
    shapes = [x for x in args.shapes.split(",") if x]
    if not shapes or set(shapes) - set(SHAPES):
        p.error(f"--shapes: subset of {','.join(SHAPES)} (got {args.shapes})")
    if "trl" in modes and not trl_available():
        print(SKIP_TRL, flush=True)
        modes.remove("trl")
    name = args.name or ("rm_kwise_vs_pairwise_tiny" if args.tiny else "rm_kwise_vs_pairwise")
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else build_model(results_dir / (name + "-model"), args.tiny)
    rows = []
    for shape, k in [(shape, int(x)) for shape in shapes for x in args.ks.split(",")]:
        for mode in modes:
            cmd = [sys.executable, __file__, "--worker", mode, "--k", str(k), "--shape", shape, "--model", str(model),
                   "--rankings", str(args.rankings), "--batch-size", str(args.batch_size),
                   "--prompt-words", str(args.prompt_words), "--answer-words", str(args.answer_words),
                   "--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                sys.stderr.write(out.stderr[-5000:])
                raise subprocess.CalledProcessError(out.returncode, cmd, out.stdout, out.stderr)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)  # partial results survive an interrupted run
    summary = []
    for shape, k in [(shape, k) for shape in shapes for k in sorted({r["k"] for r in rows})]:
        by = {r["mode"]: r for r in rows if r["k"] == k and r["shape"] == shape}
        losses = {m: by[m]["first_batch_loss"] for m in by}
        s = {"shape": shape, "k": k, "loss_kwise": losses["kwise"], "mean_sequence_tokens": by["kwise"]["mean_sequence_tokens"]}
        if "pairwise" in by:
            s.update({
                "speedup_wall": by["pairwise"]["wall_s"] / by["kwise"]["wall_s"],
                "sequence_ratio": by["pairwise"]["sequences"] / by["kwise"]["sequences"],
                "memory_ratio": by["pairwise"]["peak_memory_mb"] / by["kwise"]["peak_memory_mb"],
                "loss_pairwise": losses["pairwise"]})
        if "prefix" in by:
            s.update({"speedup_wall_prefix": by.get("pairwise", by["kwise"])["wall_s"] / by["prefix"]["wall_s"],
                      "loss_prefix": losses["prefix"]})
        s["same_loss"] = (abs(losses["kwise"] - losses.get("pairwise", losses["kwise"])) < 1e-4
                          and abs(losses["kwise"] - losses.get("prefix", losses["kwise"])) < 1e-3)
        s.update(trl_summary(by, losses["kwise"], "wall_s", "sequences", "sequence_ratio_trl", tol=1e-4))
        if "trl" in by:
            s["sequences_per_s_ratio_trl"] = by["kwise"]["sequences_per_s"] / by["trl"]["sequences_per_s"]
        summary.append(s)
    print(f"{'shape':>9} {'K':>3} {'mode':>18} {'wall s':>8} {'seqs':>6} {'seq/s':>8} {'rank/s':>8} {'peak MB':>8} "
          f"{'base MB':>8}")
    for r in rows:
        print(f"{r['shape']:>9} {r['k']:>3} {r.get('label', r['mode']):>18} {r['wall_s']:>8.2f} {r['sequences']:>6} "
              f"{r['sequences_per_s']:>8.1f} {r['rankings_per_s']:>8.2f} {r['peak_memory_mb']:>8.0f} "
              f"{r['base_memory_mb']:>8.0f}")
    for s in summary:
        where = f"{s['shape']}, K={s['k']} (mean {s['mean_sequence_tokens']:.0f} tokens a sequence)"
        if "speedup_wall" in s:
            print(f"{where}: pairwise (reimpl.)/kwise wall {s['speedup_wall']:.2f}x"
                  + (f" (prefix {s['speedup_wall_prefix']:.2f}x)" if "speedup_wall_prefix" in s else "")
                  + f", sequences {s['sequence_ratio']:.1f}x, peak memory {s['memory_ratio']:.2f}x, "
                  f"same loss at same weights: {s['same_loss']} ({s['loss_kwise']:.6f} vs {s['loss_pairwise']:.6f})")
        if "speedup_wall_trl" in s:
            print(f"{where}: TRL RewardTrainer/kwise wall {s['speedup_wall_trl']:.2f}x"
                  + (f" (/prefix {s['speedup_wall_prefix_trl']:.2f}x)" if "speedup_wall_prefix_trl" in s else "") + ", "
                  f"seq/s kwise/TRL {s['sequences_per_s_ratio_trl']:.2f}x, sequences {s['sequence_ratio_trl']:.1f}x, "
                  f"peak memory {s['memory_ratio_trl']:.2f}x, same tokens: {s['same_tokens_trl']}, "
                  f"same loss at same weights: {s['same_loss_trl']} (kwise {s['loss_kwise']:.6f}, "
                  f"TRL compute_loss {s['loss_trl']:.6f}, TRL first logged {s['loss_trl_first_logged']:.6f})")
    result = {"name": name, "config": {k: v for k, v in vars(args).items() if k not in ("worker", "k")},
              "shapes": {shape: clipped_share(shape) for shape in shapes}, "rows": rows, "summary": summary}
    (results_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
