"""Reward-model training: K-wise batching vs the pairwise way, same model, same rankings, one epoch each.

- kwise:    every answer of a ranking is encoded once (K sequences per ranking), the C(K,2) pair losses
            are gathered by index (training/engine/reward.py).
- pairwise: every pair's chosen and rejected rows go through the model separately, 2·C(K,2) sequences
            per ranking, chosen and rejected stacked into one forward call, loss −log σ(r_c − r_r) averaged
            over the pairs of the batch. This reimplements what TRL's RewardTrainer does (TRL is not
            installed here); its bf16 / gradient checkpointing defaults are off, as for the K-wise run.
- prefix:   K-wise with prefix reuse (the prompt encoded once per ranking, answers on its KV cache).

Both ways take the same B rankings per optimizer step (pairwise: all pairs of those rankings), so with no
ties the two losses are the same number; the script checks that at the initial weights. Each mode runs in
its own subprocess so peak memory (max RSS on CPU, max allocated on CUDA) is its own.

    python benchmarks/rm_kwise_vs_pairwise.py            # K=4 and K=9
    python benchmarks/rm_kwise_vs_pairwise.py --tiny     # seconds, for the test suite

Results: a table on stdout and JSON in benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
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


def make_rankings(n: int, k: int, prompt_words: int, answer_words: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        prompt = " ".join(rng.choice(WORDS) for _ in range(prompt_words)) + "?"
        responses = [" ".join(rng.choice(WORDS) for _ in range(answer_words)) + "." for _ in range(k)]
        out.append({"prompt": prompt, "responses": responses, "ranks": list(range(1, k + 1))})  # no ties
    return out


def build_model(path: Path, tiny: bool):
    """A small GPT-2 + BPE built from config (weights untrained: speed does not depend on them)."""
    from training.engine.bootstrap import BootstrapConfig, build_model as build, train_tokenizer

    if (path / "config.json").exists():
        return path
    text = [" ".join(random.Random(i).choice(WORDS) for _ in range(200)) for i in range(20)]
    tok = train_tokenizer(text, vocab_size=400 if tiny else 1024)
    cfg = BootstrapConfig(vocab_size=400 if tiny else 1024, n_layer=2 if tiny else 4, n_embd=64 if tiny else 256,
                          n_head=4, context_length=512)
    model = build(cfg, tok)
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def peak_memory_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args) -> dict:
    """One mode, one epoch; prints a JSON line."""
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
    items = [encode_ranking(tok, to_ranking(r), 512) for r in make_rankings(args.rankings, args.k, args.prompt_words,
                                                                             args.answer_words, seed=args.k)]
    opt = torch.optim.AdamW(rm.parameters(), lr=1e-5)
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

    step = {"kwise": kwise, "pairwise": pairwise_loss, "prefix": lambda c: kwise(c, prefix=True)}[args.mode]
    with torch.no_grad():  # this mode's loss on the first batch at the initial weights (same in every worker)
        first_loss = step(batches[0])[0].item()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
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
    return {"mode": args.mode, "k": args.k, "rankings": len(items), "steps": len(batches), "wall_s": wall,
            "sequences": sequences, "sequences_per_s": sequences / wall, "rankings_per_s": len(items) / wall,
            "peak_memory_mb": peak_memory_mb(device), "device": str(device), "first_batch_loss": first_loss}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true", help="seconds-long run (tests)")
    p.add_argument("--ks", default="4,9")
    p.add_argument("--rankings", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8, help="rankings per optimizer step")
    p.add_argument("--prompt-words", type=int, default=None)
    p.add_argument("--answer-words", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="causal LM / RM dir (default: a small GPT-2 built from config)")
    p.add_argument("--name", default=None)
    p.add_argument("--worker", choices=["kwise", "pairwise", "prefix"], help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rankings is None:
        args.rankings = 16 if args.tiny else 64
    args.prompt_words = args.prompt_words or (12 if args.tiny else 48)
    args.answer_words = args.answer_words or (6 if args.tiny else 24)

    if args.worker:
        args.mode = args.worker
        print(json.dumps(worker(args)))
        return None

    name = args.name or ("rm_kwise_vs_pairwise_tiny" if args.tiny else "rm_kwise_vs_pairwise")
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else build_model(results_dir / (name + "-model"), args.tiny)
    rows = []
    for k in [int(x) for x in args.ks.split(",")]:
        for mode in ("kwise", "pairwise", "prefix"):
            cmd = [sys.executable, __file__, "--worker", mode, "--k", str(k), "--model", str(model),
                   "--rankings", str(args.rankings), "--batch-size", str(args.batch_size),
                   "--prompt-words", str(args.prompt_words), "--answer-words", str(args.answer_words),
                   "--threads", str(args.threads)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)  # partial results survive an interrupted run
    summary = []
    for k in sorted({r["k"] for r in rows}):
        by = {r["mode"]: r for r in rows if r["k"] == k}
        losses = {m: by[m]["first_batch_loss"] for m in by}
        summary.append({
            "k": k,
            "speedup_wall": by["pairwise"]["wall_s"] / by["kwise"]["wall_s"],
            "speedup_wall_prefix": by["pairwise"]["wall_s"] / by["prefix"]["wall_s"],
            "sequence_ratio": by["pairwise"]["sequences"] / by["kwise"]["sequences"],
            "memory_ratio": by["pairwise"]["peak_memory_mb"] / by["kwise"]["peak_memory_mb"],
            "same_loss": abs(losses["kwise"] - losses["pairwise"]) < 1e-4 and abs(losses["kwise"] - losses["prefix"]) < 1e-3,
            "loss_kwise": losses["kwise"], "loss_pairwise": losses["pairwise"], "loss_prefix": losses["prefix"],
        })
    print(f"{'K':>3} {'mode':>9} {'wall s':>8} {'seqs':>6} {'seq/s':>8} {'rank/s':>8} {'peak MB':>8}")
    for r in rows:
        print(f"{r['k']:>3} {r['mode']:>9} {r['wall_s']:>8.2f} {r['sequences']:>6} {r['sequences_per_s']:>8.1f} "
              f"{r['rankings_per_s']:>8.2f} {r['peak_memory_mb']:>8.0f}")
    for s in summary:
        print(f"K={s['k']}: pairwise/kwise wall {s['speedup_wall']:.2f}x (prefix {s['speedup_wall_prefix']:.2f}x), "
              f"sequences {s['sequence_ratio']:.1f}x, peak memory {s['memory_ratio']:.2f}x, "
              f"same loss at same weights: {s['same_loss']} ({s['loss_kwise']:.6f} vs {s['loss_pairwise']:.6f})")
    result = {"name": name, "config": {k: v for k, v in vars(args).items() if k not in ("worker", "k")},
              "rows": rows, "summary": summary}
    (results_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
