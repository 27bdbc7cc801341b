"""DPO training: K-wise (each answer once) vs pairwise-expanded as TRL's DPOTrainer does it; same model, same
rankings, one epoch each.

- kwise:    training/engine/dpo.py, ``loss="pairwise"``: every answer of a ranking goes through the policy once
            (K sequences per ranking); the reference log-probs are computed once per answer before the epoch
            (``ref s``, reported apart and included in ``total s``) and the C(K,2) pair losses are gathered by index.
- listwise: the same forward, Plackett–Luce loss (no pairs at all).
- prefix:   kwise with prefix reuse (the prompt encoded once per ranking, answers on its KV cache).
- pairwise: "pairwise (TRL-style reimpl.)": the rankings expanded to C(K,2) pairs; every pair's chosen and
            rejected rows are concatenated into ONE policy forward (TRL's ``concatenated_forward``: 2·C(K,2)
            sequences per ranking) and the reference model runs on the same rows, without gradients, in every
            step (TRL's default ``precompute_ref_log_probs=False``); loss
            −log σ(β[(log π_c − log π_ref,c) − (log π_r − log π_ref,r)]) averaged over the pairs of the batch
            (TRL's ``loss_type="sigmoid"`` with no label smoothing), log-probs summed over answer tokens.
            This is our plain-PyTorch reimplementation of TRL's formula inside the same loop as the other
            modes, NOT TRL itself: TRL is a benchmark-only requirement (benchmarks/requirements.txt) and is not
            installed in the project venv this was run in. With TRL installed the comparison against its
            ``DPOTrainer`` would be the next step, as the RM benchmark does for ``RewardTrainer``.

Every mode takes the same B rankings per optimizer step (pairwise: all C(K,2) pairs of those rankings). The
rankings have no ties, so every pair loss has weight 1/(B·C(K,2)) on both sides and the losses are the same
number at the same weights. The reference is the policy with perturbed weights (so π ≠ π_ref and the loss is
not the trivial log 2); ``first_batch_loss`` is each mode's loss on the first batch at the initial weights.
Each mode runs in its own subprocess so peak memory (max RSS on CPU, max allocated on CUDA) is its own.

    python benchmarks/dpo_kwise_vs_pairwise.py            # K=4 and K=9
    python benchmarks/dpo_kwise_vs_pairwise.py --tiny     # seconds, for the test suite

Results: a table on stdout and JSON in benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import platform as host
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.rm_kwise_vs_pairwise import build_model, make_rankings, peak_memory_mb  # noqa: E402

MODES = ("kwise", "listwise", "prefix", "pairwise")
LABELS = {"kwise": "kwise", "listwise": "listwise (PL)", "prefix": "kwise+prefix",
          "pairwise": "pairwise (TRL-style reimpl.)"}
BETA = 0.1


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


def worker(args) -> dict:
    """One mode, one epoch; returns the JSON row."""
    import torch
    import torch.nn.functional as F

    from training.engine.data import pad, to_ranking
    from training.engine.device import disable_dropout, load_causal_lm, load_tokenizer
    from training.engine.dpo import (answer_mask, encode_ranking, listwise_losses, pairwise_losses, policy_logprobs,
                                     reference_logprobs, sequence_logprobs)
    from training.engine.reward import collate_rankings

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tok = load_tokenizer(args.model)
    policy = disable_dropout(load_causal_lm(args.model)).to(device)
    ref = load_causal_lm(args.reference).to(device).eval().requires_grad_(False)
    items = [encode_ranking(tok, to_ranking(r), 512) for r in make_rankings(args.rankings, args.k, args.prompt_words,
                                                                             args.answer_words, seed=args.k)]
    batches = [items[i:i + args.batch_size] for i in range(0, len(items), args.batch_size)]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    ref_s = 0.0
    if args.mode != "pairwise":  # computed once per answer, cached for every epoch (part of the cost: ref_s)
        sync()
        t0 = time.perf_counter()
        ref_cache = reference_logprobs(ref, tok, items, args.batch_size, device)
        sync()
        ref_s = time.perf_counter() - t0
        for item, logps in zip(items, ref_cache):
            item["ref_logps"] = logps
        del ref
        if device.type == "cuda":
            torch.cuda.empty_cache()

    def kwise(chunk, loss="pairwise", prefix=False):
        batch = collate_rankings(chunk, tok.pad_token_id)
        logps = policy_logprobs(policy, tok, chunk, batch, device, prefix_reuse=prefix).float()
        h = BETA * (logps - torch.cat([c["ref_logps"] for c in chunk]).to(device))
        losses = pairwise_losses(h, batch) if loss == "pairwise" else listwise_losses(h, chunk)
        return losses.mean(), sum(len(c["seqs"]) for c in chunk)

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
            "device": str(device), "first_batch_loss": first_loss}


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
        summary.append(s)
    print(f"{'K':>3} {'mode':>30} {'epoch s':>8} {'ref s':>6} {'total s':>8} {'encodings':>9} {'rank/s':>7} "
          f"{'peak MB':>8} {'loss@init':>10}")
    for r in rows:
        print(f"{r['k']:>3} {r['label']:>30} {r['epoch_s']:>8.2f} {r['ref_s']:>6.2f} {r['total_s']:>8.2f} "
              f"{r['sequence_encodings']:>9} {r['rankings_per_s']:>7.2f} {r['peak_memory_mb']:>8.0f} "
              f"{r['first_batch_loss']:>10.6f}")
    for s in summary:
        if "speedup_total" in s:
            print(f"K={s['k']}: pairwise (TRL-style reimpl.)/kwise time {s['speedup_total']:.2f}x "
                  f"(training epoch alone {s['speedup_epoch']:.2f}x), sequence encodings {s['encoding_ratio']:.1f}x, "
                  f"peak memory {s['memory_ratio']:.2f}x, same loss at same weights: {s['same_loss']} "
                  f"({s['loss_kwise']:.6f} vs {s['loss_pairwise']:.6f})")
    result = {"name": name, "machine": f"{host.machine()} {host.processor() or ''}".strip(),
              "config": {k: v for k, v in vars(args).items() if k not in ("worker", "k", "model", "reference")},
              "rows": rows, "summary": summary}
    (results_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
