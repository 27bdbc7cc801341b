"""DPO training: K-wise (each answer once) vs pairwise-expanded as TRL's DPOTrainer does it; same model, same
rankings, one epoch each.

- kwise:    training/engine/dpo.py, ``loss="pairwise"``: every answer of a ranking goes through the policy once
            (K sequences per ranking); the reference log-probs are computed once per answer before the epoch
            (``ref s``, reported apart and included in ``total s``) and the C(K,2) pair losses are gathered by index.
- listwise: the same forward, Plackett–Luce loss (no pairs at all).
- prefix:   kwise with prefix reuse (the prompt encoded once per ranking, answers on its KV cache).
- pairwise: "pairwise (TRL-style reimpl.)": the rankings expanded to C(K,2) pairs; every pair's chosen and
            rejected rows are concatenated into ONE policy forward (TRL's layout: 2·C(K,2) sequences per
            ranking, chosen rows first) and the reference model runs on the same rows, without gradients, in
            every step (TRL's default ``precompute_ref_log_probs=False``); loss
            −log σ(β[(log π_c − log π_ref,c) − (log π_r − log π_ref,r)]) averaged over the pairs of the batch
            (TRL's ``loss_type="sigmoid"`` with no label smoothing), log-probs summed over answer tokens. A
            plain-PyTorch reimplementation of TRL's formula inside the same loop as the other modes: what pair
            expansion costs, without the Trainer around it.
- trl:      TRL's own ``trl.DPOTrainer`` (TRL 1.16). Skipped, with a printed line, when TRL is not installed. TRL
            is a benchmark-only dependency, not in the project's requirements; install it into the project venv with

                .venv/bin/pip install -r benchmarks/requirements.txt

Every mode takes the same B rankings per optimizer step (pairwise and TRL: all C(K,2) pairs of those rankings,
so TRL's ``per_device_train_batch_size`` is B·C(K,2)). The rankings have no ties, so every pair loss has weight
1/(B·C(K,2)) on both sides and the losses are the same number at the same weights. The reference is the policy
with perturbed weights (so π ≠ π_ref and the loss is not the trivial log 2); ``first_batch_loss`` is each mode's
loss on the first batch at the initial weights. Each mode runs in its own subprocess so peak memory (max RSS on
CPU, max allocated on CUDA) is its own; ``base MB`` is the same measure taken just before training (on CPU, RSS
also counts the imports: TRL brings datasets/pyarrow/pandas).

The TRL run, made to do the same work as the others (shared set-up in benchmarks/rm_kwise_vs_pairwise.py):
- the models: the policy directory as a path (TRL loads it itself, float32, offline) and, as ``ref_model``, the
  same perturbed reference the other modes use, loaded as they load it. ``precompute_ref_log_probs`` stays at
  TRL's default, False: the reference runs on every pair's rows in every step, as in the reimplementation (the
  K-wise modes compute it once per answer before the epoch, which is their ``ref s``).
- the data: the same rankings expanded into explicit-prompt pairs in the *standard* (string) form,
  prompt = our rendered chat prompt ("User: …\nAssistant:"), chosen/rejected = the answer as our encoder joins
  it (" answer"); TRL appends the eos token, tokenizes prompt and prompt+answer and splits them where they
  diverge. The worker checks that TRL's prompt and answer token ids equal the K-wise side's, sequence for
  sequence and at the same split (so the same tokens are scored). ``max_length`` is set far above the longest
  pair (TRL 1.16 has no ``max_prompt_length``: one ``max_length`` truncates prompt+answer), the worker asserts
  that nothing is truncated and no pair was dropped.
- DPOConfig: β = 0.1, ``loss_type="sigmoid"``, ``label_smoothing=0``, bf16/fp16/gradient checkpointing off
  (TRL's defaults turn them on), one epoch, ``train_sampling_strategy="sequential"`` (its batches are the same
  pairs in the same order as the others'), AdamW lr 1e-5 with a constant schedule and no gradient clipping (as
  the loop of the other modes; TRL's weight decay 0.01 skips biases and LayerNorms, torch's AdamW default in the
  other loop does not: same cost), dropout off (TRL's default, as our worker does), logging every step,
  report_to none, no saving, ``use_cpu`` without CUDA. Only ``trainer.train()`` is timed: it includes the
  reference forwards, the Trainer's own per-run setup (optimizer, accelerator, dataloader) and its per-step
  bookkeeping (gradient norm for its logs even with clipping off; entropy, token accuracy, reward and log-prob
  statistics), which is part of what running TRL costs. Dataset tokenization happens before, untimed.
- the loss check: at the initial weights, ``trainer.compute_loss`` on TRL's own collated first batch, and the
  first logged loss (step 1, computed before the first update), against the K-wise loss of the same rankings
  (from the K-wise worker, and recomputed in the TRL worker with the policy and reference TRL holds).

    python benchmarks/dpo_kwise_vs_pairwise.py            # K=4 and K=9
    python benchmarks/dpo_kwise_vs_pairwise.py --tiny     # seconds, for the test suite

Results: a table on stdout and JSON in benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.rm_kwise_vs_pairwise import (SKIP_TRL, build_model, current_memory_mb, make_rankings,  # noqa: E402
                                             peak_memory_mb, trl_available, trl_first_batch_loss, trl_summary,
                                             trl_pairs, trl_train_timed, trl_training_args)

MODES = ("kwise", "listwise", "prefix", "pairwise", "trl")
LABELS = {"kwise": "kwise", "listwise": "listwise (PL)", "prefix": "kwise+prefix",
          "pairwise": "pairwise (TRL-style reimpl.)", "trl": "TRL DPOTrainer"}
BETA = 0.1
MAX_LENGTH = 512  # our encoder's budget; the worker asserts no sequence reaches it (nothing truncated)


def build_reference(policy: Path, out: Path) -> Path:
    """The policy's weights plus noise (seeded): a reference that differs from the initial policy."""
    import torch

    from training.engine.device import load_causal_lm, load_tokenizer

    if (out / "config.json").exists():
        return out
    model = load_causal_lm(policy)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    model.save_pretrained(str(out))
    load_tokenizer(policy).save_pretrained(str(out))
    return out


def kwise_loss(policy, tok, chunk: list[dict], device, loss: str = "pairwise", prefix: bool = False):
    """training/engine/dpo.py's loss of a batch of rankings, each answer through the policy once
    (``item["ref_logps"]``: the cached reference log-probs)."""
    import torch

    from training.engine.dpo import listwise_losses, pairwise_losses, policy_logprobs
    from training.engine.reward import collate_rankings

    batch = collate_rankings(chunk, tok.pad_token_id)
    logps = policy_logprobs(policy, tok, chunk, batch, device, prefix_reuse=prefix).float()
    h = BETA * (logps - torch.cat([c["ref_logps"] for c in chunk]).to(device))
    return (pairwise_losses(h, batch) if loss == "pairwise" else listwise_losses(h, chunk)).mean()


def cache_reference(ref, tok, items: list[dict], batch_size: int, device) -> None:
    """log π_ref of every answer, once, into ``item["ref_logps"]``."""
    from training.engine.dpo import reference_logprobs

    for item, logps in zip(items, reference_logprobs(ref, tok, items, batch_size, device)):
        item["ref_logps"] = logps


def worker(args) -> dict:
    """One mode, one epoch; returns the JSON row."""
    if args.mode == "trl":  # everything is local: never reach for the Hub (read when huggingface_hub is imported)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import torch
    import torch.nn.functional as F

    from training.engine.data import pad, to_ranking
    from training.engine.device import disable_dropout, load_causal_lm, load_tokenizer
    from training.engine.dpo import answer_mask, encode_ranking, sequence_logprobs

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tok = load_tokenizer(args.model)
    items = [encode_ranking(tok, to_ranking(r), MAX_LENGTH)
             for r in make_rankings(args.rankings, args.k, args.prompt_words, args.answer_words, seed=args.k)]
    assert all(len(s) < MAX_LENGTH for item in items for s in item["seqs"]), "a sequence reached max_length: truncated"
    batches = [items[i:i + args.batch_size] for i in range(0, len(items), args.batch_size)]
    if args.mode == "trl":
        return trl_worker(args, tok, items, batches, device)
    policy = disable_dropout(load_causal_lm(args.model)).to(device)
    ref = load_causal_lm(args.reference).to(device).eval().requires_grad_(False)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    ref_s = 0.0
    if args.mode != "pairwise":  # computed once per answer, cached for every epoch (part of the cost: ref_s)
        sync()
        t0 = time.perf_counter()
        cache_reference(ref, tok, items, args.batch_size, device)
        sync()
        ref_s = time.perf_counter() - t0
        del ref
        if device.type == "cuda":
            torch.cuda.empty_cache()

    def kwise(chunk, loss="pairwise", prefix=False):
        return kwise_loss(policy, tok, chunk, device, loss, prefix), sum(len(c["seqs"]) for c in chunk)

    def pairwise(chunk):
        chosen, rejected = [], []
        for item in chunk:
            for w, l in item["pairs"]:
                chosen.append((item["seqs"][w], item["n_prompt"][w]))
                rejected.append((item["seqs"][l], item["n_prompt"][l]))
        rows = chosen + rejected  # TRL concatenates chosen and rejected into one forward
        seqs = [s for s, _ in rows]
        x = pad(seqs, tok.pad_token_id).to(device)
        m = pad([[1] * len(s) for s in seqs], 0).to(device)
        am = answer_mask([{"seqs": seqs, "n_prompt": [n for _, n in rows]}], x.size(1)).to(device)
        logps = sequence_logprobs(policy, x, m, am).float()
        with torch.no_grad():
            ref_logps = sequence_logprobs(ref, x, m, am).float()
        P = len(chosen)
        logits = BETA * ((logps[:P] - ref_logps[:P]) - (logps[P:] - ref_logps[P:]))
        return -F.logsigmoid(logits).mean(), len(seqs) * 2  # policy and reference encode every row

    step = {"kwise": kwise, "listwise": lambda c: kwise(c, loss="listwise"),
            "prefix": lambda c: kwise(c, prefix=True), "pairwise": pairwise}[args.mode]
    with torch.no_grad():
        first_loss = step(batches[0])[0].item()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-5)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync()
    base_memory = current_memory_mb(device)
    sequences, start = 0, time.perf_counter()
    for chunk in batches:
        loss, n = step(chunk)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sequences += n
    sync()
    wall = time.perf_counter() - start
    encodings = sequences + (sum(len(i["seqs"]) for i in items) if args.mode != "pairwise" else 0)
    return {"mode": args.mode, "label": LABELS[args.mode], "k": args.k, "rankings": len(items), "steps": len(batches),
            "epoch_s": wall, "ref_s": ref_s, "total_s": wall + ref_s, "sequence_encodings": encodings,
            "rankings_per_s": len(items) / (wall + ref_s), "peak_memory_mb": peak_memory_mb(device),
            "base_memory_mb": base_memory, "device": str(device), "first_batch_loss": first_loss}


def trl_worker(args, tok, items, batches, device) -> dict:
    """TRL's DPOTrainer on the same policy, reference and rankings (see the module docstring)."""
    import contextlib
    import tempfile

    import torch
    import trl
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from training.engine.device import load_causal_lm

    rows, pairs, pairs_per_step = trl_pairs(tok, items, args.batch_size)
    longest = max(len(s) for item in items for s in item["seqs"])
    tmp = tempfile.TemporaryDirectory(prefix="dpo_bench_trl_")
    cfg = DPOConfig(**trl_training_args(Path(tmp.name) / "out", pairs_per_step, device), beta=BETA,
                    loss_type=["sigmoid"], label_smoothing=0.0, max_length=max(1024, 2 * longest))
    assert not cfg.precompute_ref_log_probs  # TRL's default: the reference runs in every step
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs: keep stdout for the result line
        trainer = DPOTrainer(model=str(args.model), ref_model=load_causal_lm(args.reference), args=cfg,
                             train_dataset=Dataset.from_list(rows))
    assert not (trainer.args.bf16 or trainer.args.fp16 or trainer.args.activation_checkpointing)
    assert next(trainer.model.parameters()).dtype == torch.float32
    ds = trainer.train_dataset
    assert len(ds) == len(rows), f"TRL dropped pairs in preprocessing: {len(ds)} of {len(rows)} left"
    assert max(len(p) + max(len(c), len(r)) for p, c, r in zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"])
               ) < cfg.max_length, "TRL would truncate"
    same_tokens = all(
        list(p) == item["seqs"][w][:item["n_prompt"][w]] == item["seqs"][l][:item["n_prompt"][l]]
        and list(c) == item["seqs"][w][item["n_prompt"][w]:] and list(r) == item["seqs"][l][item["n_prompt"][l]:]
        for p, c, r, (item, w, l) in zip(ds["prompt_ids"], ds["chosen_ids"], ds["rejected_ids"], pairs))

    dev = next(trainer.model.parameters()).device
    with torch.no_grad():  # the K-wise loss with the policy and reference TRL holds (dropout off: TRL's default)
        trainer.model.eval()
        cache_reference(trainer.ref_model, tok, batches[0], args.batch_size, dev)
        kwise_first = kwise_loss(trainer.model, tok, batches[0], dev).item()
    first_loss = trl_first_batch_loss(trainer, pairs_per_step)  # TRL's first batch at the initial weights
    wall, base_memory, logged = trl_train_timed(trainer, device, len(batches))
    encodings = 4 * len(rows)  # chosen and rejected rows, through the policy and through the reference
    tmp.cleanup()
    return {"mode": "trl", "label": LABELS["trl"], "k": args.k, "rankings": len(items),
            "steps": trainer.state.global_step, "epoch_s": wall, "ref_s": 0.0, "total_s": wall,
            "sequence_encodings": encodings, "rankings_per_s": len(items) / wall,
            "peak_memory_mb": peak_memory_mb(device), "base_memory_mb": base_memory, "device": str(dev),
            "first_batch_loss": first_loss, "first_logged_loss": logged[0] if logged else None,
            "kwise_loss_same_weights": kwise_first, "same_tokens": same_tokens, "pairs": len(rows),
            "pairs_after_trl_preprocessing": len(ds), "per_device_train_batch_size": pairs_per_step,
            "precompute_ref_log_probs": cfg.precompute_ref_log_probs, "trl_version": trl.__version__}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="seconds-long run (tests)")
    p.add_argument("--ks", default="4,9")
    p.add_argument("--modes", default=",".join(MODES), help="subset of " + ",".join(MODES))
    p.add_argument("--rankings", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8, help="rankings per optimizer step")
    p.add_argument("--prompt-words", type=int, default=None)
    p.add_argument("--answer-words", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--name", default=None)
    p.add_argument("--worker", choices=list(MODES), help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--reference", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.rankings = args.rankings or (8 if args.tiny else 32)
    args.prompt_words = args.prompt_words or (12 if args.tiny else 48)
    args.answer_words = args.answer_words or (6 if args.tiny else 24)
    if args.worker:
        args.mode = args.worker
        print(json.dumps(worker(args)))
        return None

    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(MODES) or "kwise" not in modes:
        p.error(f"--modes: subset of {','.join(MODES)} including kwise (got {args.modes})")
    if "trl" in modes and not trl_available():
        print(SKIP_TRL, flush=True)
        modes.remove("trl")
    name = args.name or ("dpo_kwise_vs_pairwise_tiny" if args.tiny else "dpo_kwise_vs_pairwise")
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(results_dir / (name + "-model"), args.tiny)
    reference = build_reference(model, results_dir / (name + "-reference"))
    rows = []
    for k in [int(x) for x in args.ks.split(",")]:
        for mode in modes:
            cmd = [sys.executable, __file__, "--worker", mode, "--k", str(k), "--model", str(model),
                   "--reference", str(reference), "--rankings", str(args.rankings), "--batch-size",
                   str(args.batch_size), "--prompt-words", str(args.prompt_words), "--answer-words",
                   str(args.answer_words), "--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                sys.stderr.write(out.stderr[-5000:])
                raise subprocess.CalledProcessError(out.returncode, cmd, out.stdout, out.stderr)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    summary = []
    for k in sorted({r["k"] for r in rows}):
        by = {r["mode"]: r for r in rows if r["k"] == k}
        s = {"k": k, "loss_kwise": by["kwise"]["first_batch_loss"]}
        for mode in ("pairwise", "prefix", "listwise"):
            if mode in by:
                s[f"loss_{mode}"] = by[mode]["first_batch_loss"]
        if "pairwise" in by:
            s.update({"speedup_total": by["pairwise"]["total_s"] / by["kwise"]["total_s"],
                      "speedup_epoch": by["pairwise"]["epoch_s"] / by["kwise"]["epoch_s"],
                      "encoding_ratio": by["pairwise"]["sequence_encodings"] / by["kwise"]["sequence_encodings"],
                      "memory_ratio": by["pairwise"]["peak_memory_mb"] / by["kwise"]["peak_memory_mb"],
                      "same_loss": abs(s["loss_pairwise"] - s["loss_kwise"]) < 1e-5})
        if "prefix" in by:
            s["same_loss_prefix"] = abs(s["loss_prefix"] - s["loss_kwise"]) < 1e-3
        # tol 1e-5, as the reimplementation's same_loss
        s.update(trl_summary(by, s["loss_kwise"], "total_s", "sequence_encodings", "encoding_ratio_trl", tol=1e-5))
        if "trl" in by:
            s["speedup_epoch_trl"] = by["trl"]["epoch_s"] / by["kwise"]["epoch_s"]
            if "pairwise" in by:
                s["trl_over_reimpl"] = by["trl"]["total_s"] / by["pairwise"]["total_s"]
        summary.append(s)
    print(f"{'K':>3} {'mode':>30} {'epoch s':>8} {'ref s':>6} {'total s':>8} {'encodings':>9} {'rank/s':>7} "
          f"{'peak MB':>8} {'base MB':>8} {'loss@init':>10}")
    for r in rows:
        print(f"{r['k']:>3} {r['label']:>30} {r['epoch_s']:>8.2f} {r['ref_s']:>6.2f} {r['total_s']:>8.2f} "
              f"{r['sequence_encodings']:>9} {r['rankings_per_s']:>7.2f} {r['peak_memory_mb']:>8.0f} "
              f"{r['base_memory_mb']:>8.0f} {r['first_batch_loss']:>10.6f}")
    for s in summary:
        if "speedup_total" in s:
            print(f"K={s['k']}: pairwise (TRL-style reimpl.)/kwise time {s['speedup_total']:.2f}x "
                  f"(training epoch alone {s['speedup_epoch']:.2f}x), sequence encodings {s['encoding_ratio']:.1f}x, "
                  f"peak memory {s['memory_ratio']:.2f}x, same loss at same weights: {s['same_loss']} "
                  f"({s['loss_kwise']:.6f} vs {s['loss_pairwise']:.6f})")
        if "speedup_wall_trl" in s:
            print(f"K={s['k']}: TRL DPOTrainer/kwise time {s['speedup_wall_trl']:.2f}x "
                  f"(training epoch alone {s['speedup_epoch_trl']:.2f}x)"
                  + (f", TRL/prefix {s['speedup_wall_prefix_trl']:.2f}x" if "speedup_wall_prefix_trl" in s else "")
                  + (f", TRL/reimpl. {s['trl_over_reimpl']:.2f}x" if "trl_over_reimpl" in s else "")
                  + f", sequence encodings {s['encoding_ratio_trl']:.1f}x, peak memory {s['memory_ratio_trl']:.2f}x, "
                  f"same tokens: {s['same_tokens_trl']}, same loss at same weights: {s['same_loss_trl']} "
                  f"(kwise {s['loss_kwise']:.6f}, kwise in TRL worker {s['loss_kwise_in_trl_worker']:.6f}, "
                  f"TRL compute_loss {s['loss_trl']:.6f}, TRL first logged {s['loss_trl_first_logged']:.6f})")
    result = {"name": name, "machine": f"{host.machine()} {host.processor() or ''}".strip(),
              "config": {k: v for k, v in vars(args).items() if k not in ("worker", "k", "model", "reference")},
              "rows": rows, "summary": summary}
    (results_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
