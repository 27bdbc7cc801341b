"""Sampling K answers per prompt: one batched generate call (prompt repeated K times, KV cache) vs
one call per answer vs no KV cache. Same small model, same prompts, same token budget.

    python benchmarks/sampling.py            # K=4 and K=9
    python benchmarks/sampling.py --tiny     # seconds

Prints a table and writes JSON to benchmarks/results/<name>.json. Generation stops at max_new_tokens
for every mode (eos disabled) so all modes produce the same number of tokens.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    import torch

    from benchmarks.rm_kwise_vs_pairwise import WORDS, build_model
    from training.engine.data import encode_prompt
    from training.engine.device import load_causal_lm, load_tokenizer

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--ks", default="4,9")
    p.add_argument("--prompts", type=int, default=None)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None)
    p.add_argument("--name", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_prompts = args.prompts or (4 if args.tiny else 16)
    new_tokens = args.max_new_tokens or (8 if args.tiny else 32)
    name = args.name or ("sampling_tiny" if args.tiny else "sampling")
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    model_dir = Path(args.model) if args.model else build_model(results_dir / "rm_kwise_vs_pairwise-model"
                                                                if not args.tiny else
                                                                results_dir / "rm_kwise_vs_pairwise_tiny-model",
                                                                args.tiny)
    tok, model = load_tokenizer(model_dir), load_causal_lm(model_dir).eval()
    prompts = [" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(24)) for i in range(n_prompts)]
    p_ids = [encode_prompt(tok, pr, 256) for pr in prompts]

    def run(k, mode):
        from training.engine.data import pad

        torch.manual_seed(0)
        kw = dict(do_sample=True, max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=tok.pad_token_id)
        start = time.perf_counter()
        with torch.no_grad():
            if mode == "batched":
                ids = pad(p_ids, tok.pad_token_id, side="left").repeat_interleave(k, 0)
                mask = pad([[1] * len(x) for x in p_ids], 0, side="left").repeat_interleave(k, 0)
                model.generate(input_ids=ids, attention_mask=mask, use_cache=True, **kw)
            elif mode == "per_answer":
                for x in p_ids:
                    for _ in range(k):
                        t = torch.tensor([x])
                        model.generate(input_ids=t, attention_mask=torch.ones_like(t), use_cache=True, **kw)
            else:  # batched, no KV cache
                ids = pad(p_ids, tok.pad_token_id, side="left").repeat_interleave(k, 0)
                mask = pad([[1] * len(x) for x in p_ids], 0, side="left").repeat_interleave(k, 0)
                model.generate(input_ids=ids, attention_mask=mask, use_cache=False, **kw)
        wall = time.perf_counter() - start
        answers = n_prompts * k
        return {"k": k, "mode": mode, "wall_s": wall, "answers": answers, "answers_per_s": answers / wall,
                "tokens_per_s": answers * new_tokens / wall}

    rows = [run(k, mode) for k in [int(x) for x in args.ks.split(",")]
            for mode in ("batched", "per_answer", "batched_no_cache")]
    print(f"{'K':>3} {'mode':>17} {'wall s':>8} {'answers/s':>10} {'tokens/s':>9}")
    for r in rows:
        print(f"{r['k']:>3} {r['mode']:>17} {r['wall_s']:>8.2f} {r['answers_per_s']:>10.1f} {r['tokens_per_s']:>9.0f}")
    split = ppo_split(model_dir, prompts, new_tokens, iterations=2 if args.tiny else 4, tiny=args.tiny)
    print(f"\nPPO iteration ({split['batch_size']} prompts, {new_tokens} new tokens, {split['ppo_epochs']} PPO epochs), "
          f"mean of {split['iterations']}:")
    for phase in ("generate", "score", "update"):
        print(f"  {phase:>8} {split[phase + '_s']:7.2f} s  {100 * split[phase + '_share']:5.1f}%")
    result = {"name": name, "prompts": n_prompts, "max_new_tokens": new_tokens, "rows": rows, "ppo_iteration": split}
    (results_dir / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result


def ppo_split(model_dir, prompts, new_tokens, iterations, tiny):
    """Where a PPO iteration's time goes: generation, scoring (policy / reference log-probs, values, reward
    model) and the update epochs, from the engine's own per-iteration timings (time_*_s metrics)."""
    import tempfile

    from training.engine.data import read_jsonl
    from training.engine.ppo import PPOConfig, train_ppo
    from training.engine.reward import RMConfig, train_reward_model

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rankings = [{"prompt": p, "responses": [f"{p} yes", f"{p} no"], "ranks": [1, 2]} for p in prompts[:4]]
        train_reward_model(model_dir, rankings, tmp / "rm", RMConfig(max_steps=1, batch_size=2, save_every=100_000))
        batch = 4 if tiny else 16
        config = PPOConfig(iterations=iterations, batch_size=batch, mini_batch_size=min(8, batch), ppo_epochs=4,
                           max_new_tokens=new_tokens, log_every=1, save_every=100_000)
        train_ppo(model_dir, tmp / "rm", [{"text": p} for p in prompts], tmp / "ppo", config)
        rows = [r for r in read_jsonl(tmp / "ppo" / "metrics.jsonl") if "time_generate_s" in r and not r.get("final")]
    mean = {phase: sum(r[f"time_{phase}_s"] for r in rows) / len(rows) for phase in ("generate", "score", "update")}
    total = sum(mean.values())
    return {"iterations": len(rows), "batch_size": batch, "ppo_epochs": 4, "total_s": total,
            **{f"{k}_s": v for k, v in mean.items()}, **{f"{k}_share": v / total for k, v in mean.items()}}


if __name__ == "__main__":
    main()
