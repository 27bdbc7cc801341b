"""Run several engine trainings in ONE process group (the test launches it with torchrun, paying the start once).

    ACCELERATE_USE_CPU=true torchrun --nproc_per_node 2 tests/training/engine/distributed_runs.py SPEC.json

SPEC is a list of {"kind": "sft"|"rm"|"ppo", "model", "data", "out", "config", ["reward_model"]} or
{"kind": "bootstrap", "out", "config"} (trained on the synthetic corpus). ``"stop_on_rank0_after": N`` makes
process 0 alone ask to stop after step N (as when one process sees a stop request before the others). Every
process appends each logged metric line to ``<out>/rank-<r>.jsonl`` (on_progress runs on every rank), so a
test can check that all ranks saw the same numbers (PPO's β and whitening statistics).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


def main(spec_path):
    import torch

    from tests.training.engine.synthetic import corpus
    from training.engine.bootstrap import BootstrapConfig, bootstrap
    from training.engine.config import from_dict
    from training.engine.ppo import PPOConfig, train_ppo
    from training.engine.reward import RMConfig, train_reward_model
    from training.engine.sft import SFTConfig, train_sft

    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    for run in json.loads(Path(spec_path).read_text()):
        out = Path(run["out"])
        out.mkdir(parents=True, exist_ok=True)

        def on_progress(step, total, metrics, out=out):
            with open(out / f"rank-{rank}.jsonl", "a") as f:
                f.write(json.dumps({"step": step, **metrics}) + "\n")

        if run["kind"] == "bootstrap":
            bootstrap(out, texts=corpus(), config=from_dict(BootstrapConfig, run["config"]), on_progress=on_progress)
        elif run["kind"] == "sft":
            polls = []

            def should_stop(after=run.get("stop_on_rank0_after")):
                polls.append(1)
                return after is not None and rank == 0 and len(polls) >= after

            train_sft(run["model"], run["data"], out, from_dict(SFTConfig, run["config"]), on_progress=on_progress,
                      should_stop=should_stop)
        elif run["kind"] == "rm":
            train_reward_model(run["model"], run["data"], out, from_dict(RMConfig, run["config"]),
                               on_progress=on_progress)
        else:
            train_ppo(run["model"], run["reward_model"], run["data"], out, from_dict(PPOConfig, run["config"]),
                      on_progress=on_progress)


if __name__ == "__main__":
    main(sys.argv[1])
