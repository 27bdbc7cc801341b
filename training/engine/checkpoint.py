"""Checkpoints (model + optimizer + scheduler + RNG + step) and the shared step loop.

A checkpoint is ``<out>/checkpoints/step-<N>/state.pt``; the two newest are kept. ``run_steps`` drives
any trainer: it resumes from the newest checkpoint of the output directory, calls ``step_fn(step)``,
writes averaged metrics to ``<out>/metrics.jsonl`` every ``log_every`` steps (a progress bar, or plain
lines in a log (progress.py), + a metric line + ``on_progress``), saves every ``save_every`` steps, and
saves then returns early when ``should_stop()``.
Batch order is a pure function of (seed, step) in every trainer, so a resumed run is the same run.

Several processes: all wait at a barrier, each writes its own RNG state (``rng-<rank>.pt``: PPO's
processes sample different answers), all wait again, then process 0 writes ``state.pt``, the file whose
presence marks a checkpoint complete, and prunes old ones. On resume every process loads ``state.pt`` and
its own RNG file, so a killed N-process run resumed with N processes continues where it stopped.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .progress import progress

KEEP = 2


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict):
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def checkpoint_dirs(out_dir) -> list[Path]:
    root = Path(out_dir) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted((p for p in root.glob("step-*") if (p / "state.pt").exists()), key=lambda p: int(p.name[5:]))


def latest_checkpoint(out_dir) -> Path | None:
    dirs = checkpoint_dirs(out_dir)
    return dirs[-1] if dirs else None


def save_checkpoint(out_dir, step: int, objects: dict, extra: dict | None = None, accelerator=None) -> Path:
    """Save state_dicts of ``objects`` (models, optimizer, scheduler, controllers) plus RNG and step."""
    path = Path(out_dir) / "checkpoints" / f"step-{step:07d}"
    if accelerator is not None and accelerator.num_processes > 1:
        accelerator.wait_for_everyone()
        path.mkdir(parents=True, exist_ok=True)
        torch.save(rng_state(), path / f"rng-{accelerator.process_index}.pt")
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            return path
    path.mkdir(parents=True, exist_ok=True)
    states = {}
    for name, obj in objects.items():
        if accelerator is not None and isinstance(obj, torch.nn.Module):
            obj = accelerator.unwrap_model(obj)
        states[name] = obj.state_dict()
    torch.save({"step": step, "objects": states, "rng": rng_state(), "extra": extra or {}}, path / "state.pt.tmp")
    (path / "state.pt.tmp").replace(path / "state.pt")
    for old in checkpoint_dirs(out_dir)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def load_checkpoint(path, objects: dict, accelerator=None) -> tuple[int, dict]:
    state = torch.load(Path(path) / "state.pt", map_location="cpu", weights_only=False)
    for name, obj in objects.items():
        if accelerator is not None and isinstance(obj, torch.nn.Module):
            obj = accelerator.unwrap_model(obj)
        obj.load_state_dict(state["objects"][name])
    own = Path(path) / f"rng-{accelerator.process_index if accelerator is not None else 0}.pt"
    set_rng_state(torch.load(own, weights_only=False) if own.exists() else state["rng"])
    return state["step"], state["extra"]


def _trim_metrics(path: Path, upto: int):
    """Keep metric lines of steps <= upto (a resumed run rewrites what came after its checkpoint)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut short when the run was killed
            continue
        if record.get("step", 0) <= upto and not record.get("final"):
            kept.append(line)
    path.write_text("".join(line + "\n" for line in kept))


def append_metrics(out_dir, record: dict):
    with open(Path(out_dir) / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _any_process(flag: bool, accelerator) -> bool:
    """True on every process when any process says stop: each polls its own source (a stop file, the
    database), and one that returned early alone would leave the others waiting in a collective."""
    if accelerator is None or accelerator.num_processes == 1:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(t, reduction="sum").item() > 0)


def run_steps(*, out_dir, total_steps: int, step_fn: Callable[[int], dict], objects: dict, log_every: int,
              save_every: int, on_progress=None, should_stop=None, desc: str = "train", accelerator=None,
              get_extra: Callable[[], dict] | None = None, set_extra: Callable[[dict], None] | None = None):
    """Run steps ``start..total_steps-1``; return (steps_done, last_logged_metrics, stopped)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start, last, window = 0, {}, {}
    ckpt = latest_checkpoint(out_dir)
    if ckpt is not None:
        start, extra = load_checkpoint(ckpt, objects, accelerator)
        last, window = extra.get("last_metrics", {}), extra.get("window", {})
        if set_extra is not None:
            set_extra(extra)
    main = accelerator is None or accelerator.is_main_process
    if main:
        _trim_metrics(out_dir / "metrics.jsonl", start)

    def save(step):
        extra = {"last_metrics": last, "window": window}
        if get_extra is not None:
            extra.update(get_extra())
        save_checkpoint(out_dir, step, objects, extra, accelerator)

    bar = progress(total=total_steps, initial=start, desc=desc, disable=not main, dynamic_ncols=True)
    step = start
    try:
        while step < total_steps:
            metrics = step_fn(step)
            step += 1
            bar.update(1)
            for k, v in metrics.items():
                s, n = window.get(k, (0.0, 0))
                window[k] = (s + float(v), n + 1)
            if step % log_every == 0 or step == total_steps:
                last = {k: s / n for k, (s, n) in window.items()}
                window = {}
                if main:
                    append_metrics(out_dir, {"step": step, **last})
                    bar.write(f"{desc} step {step}/{total_steps} " + " ".join(f"{k}={v:.4g}" for k, v in last.items()))
                    bar.set_postfix({k: f"{v:.3g}" for k, v in list(last.items())[:3]})
                if on_progress is not None:
                    on_progress(step, total_steps, dict(last))
            if should_stop is not None and step < total_steps and _any_process(should_stop(), accelerator):
                save(step)
                return step, last, True
            if step % save_every == 0 or step == total_steps:
                save(step)
    finally:
        bar.close()
    return step, last, False
