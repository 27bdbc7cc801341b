"""The one command:  python -m experiments.hidden_preference.run [--out DIR] [--tiny] [--hh]

Runs the whole hidden-preference loop on the CPU and writes into DIR (default
var/experiments/hidden_preference): results.json, report.md (the table) and win_rates.svg (the plot).
By default the labels travel through the real platform (platform_loop.py: API, sampling job on the gpu
worker, pairs on the default worker, frozen snapshots) on a private database and broker in DIR/platform,
so DIR is started afresh; ``--offline`` runs the same stages on the engine alone (loop.py) and resumes
from the stages already in DIR.
``--hh`` also trains a reward model on the HH-RLHF subset in the repository's data/hh-rlhf
(data/README.md says what it is) and reports its held-out accuracy against the majority baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HH_ROOT = ROOT / "data" / "hh-rlhf"


def hh_rlhf(out: Path, log=print) -> dict:
    """Tiny model bootstrapped on HH dialogues; RM on 1,500 training pairs; accuracy on the test pairs."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap
    from training.engine.data import read_jsonl, to_ranking
    from training.engine.reward import RMConfig, train_reward_model

    train = read_jsonl(HH_ROOT / "train.jsonl.gz")[:1500]
    test = read_jsonl(HH_ROOT / "test.jsonl.gz")
    if not (out / "base" / "config.json").exists():
        bootstrap(out / "base", texts=[r["chosen"] for r in train[:600]],
                  config=BootstrapConfig(vocab_size=1024, n_embd=64, n_head=4, n_layer=2, max_steps=150,
                                         block_size=96, context_length=256))
    result = train_reward_model(out / "base", train, out / "rm",
                                RMConfig(epochs=1, batch_size=16, learning_rate=1e-3, max_length=192, log_every=20),
                                eval_data=test)
    pairs = [to_ranking(r) for r in test]
    longer = sum(len(p.responses[0]) > len(p.responses[1]) for p in pairs) / len(pairs)
    figures = {"hh_train_pairs": len(train), "hh_test_pairs": result.metrics["eval_pairs"],
               "hh_rm_accuracy": result.metrics["eval_pair_accuracy"], "hh_majority_baseline": 0.5,
               "hh_longer_answer_baseline": longer, "hh_truncated": result.metrics["truncation_truncated"]}
    log(f"HH-RLHF: {figures}")
    return figures


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "var" / "experiments" / "hidden_preference"))
    parser.add_argument("--tiny", action="store_true", help="the shortened loop of the test suite")
    parser.add_argument("--hh", action="store_true", help="also train and report the HH-RLHF reward model")
    parser.add_argument("--ppo-iterations", type=int, default=0, help="override the PPO iterations of the size set")
    parser.add_argument("--eval-samples", type=int, default=0, help="override the answers per eval prompt and model")
    parser.add_argument("--offline", action="store_true", help="engine only: labels made in memory, no platform")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--label-efficiency", action="store_true",
                        help="also run label_efficiency.py (uncertainty order, noisy crowd) into DIR/label_efficiency")
    args = parser.parse_args(argv)

    import torch

    from . import report
    from .loop import FULL, TINY, Loop

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    sizes = TINY if args.tiny else FULL
    if args.ppo_iterations:
        sizes = replace(sizes, ppo_iterations=args.ppo_iterations)
    if args.eval_samples:
        sizes = replace(sizes, eval_samples=args.eval_samples)
    log = lambda m: print(m, flush=True)  # noqa: E731
    if args.offline:
        results = Loop(out, sizes, log=log).run()
    else:
        from .platform_loop import PlatformLoop, PlatformSession

        if out.exists() and any(out.iterdir()) and not (out / "platform").exists():
            parser.error(f"{out} holds something else than an earlier run; choose another --out")
        if out.exists():
            log(f"starting afresh: removing the earlier run in {out}")
            shutil.rmtree(out)
        with PlatformSession(out / "platform", log=log):
            results = PlatformLoop(out, sizes, log=log).run()
    if args.hh:
        results["figures"] = hh_rlhf(out / "hh_rlhf")
    results["figures"] = {**results.get("figures", {}), **results["facts"],
                          "rm_gold_accuracy": results["rm_gold_accuracy"], "timings_s": results["timings_s"]}
    if args.label_efficiency:
        from . import label_efficiency

        results["label_efficiency"] = label_efficiency.run(
            out / "label_efficiency", label_efficiency.TINY_SETUP if args.tiny else label_efficiency.FULL_SETUP, log=log)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "report.md").write_text(report.markdown_report(results))
    (out / "win_rates.svg").write_text(report.svg_win_rates(results))
    print(report.markdown_report(results))
    return results


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT)]
    main()
