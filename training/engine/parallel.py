"""Data parallelism: N processes take the same optimizer step as one process on the same global batch.

The argument a reader must trust, in four facts:

1. Every process holds the whole dataset and computes the same batch schedule (a pure function of seed and
   step), so the GLOBAL batch of step s is known everywhere without communication. ``shard`` gives process
   r the examples ``batch[r::N]``: each example is on exactly one process.
2. A loss is a sum over units (tokens for SFT, rankings for the RM) divided by the number of units in the
   global batch, U. Each process computes  local = Σ_(its units) ℓ / U · N;  DDP averages gradients over
   the N processes, so the applied gradient is ∇ Σ_(all units) ℓ / U: exactly the one-process gradient.
   U is counted from the global batch (fact 1), never from the shard.
3. A process whose shard is empty (global batch smaller than N) runs one placeholder example with weight
   0, so DDP's gradient all-reduce still meets every process, and no example is counted twice.
4. accelerate is told ``step_scheduler_with_optimizer=False``: its prepared scheduler otherwise steps once
   per process per optimizer step, spending the learning rate N times too fast.

Metrics are the global batch's: ``global_sum`` all-reduces their numerators (and PPO's whitening and KL
statistics), so every process logs and decides with the same numbers; only process 0 writes them.
"""

from __future__ import annotations

import torch


def world(accelerator) -> int:
    return 1 if accelerator is None else accelerator.num_processes


def shard(indices: list, accelerator) -> tuple[list, float]:
    """(this process's examples of a global batch, weight): weight 0 marks a placeholder (fact 3)."""
    n = world(accelerator)
    if n == 1:
        return list(indices), 1.0
    part = list(indices[accelerator.process_index::n])
    if part:
        return part, 1.0
    return list(indices[:1]), 0.0


def global_sum(value, accelerator) -> torch.Tensor:
    """Σ over processes of a number or tensor (a float64 copy, so counts stay exact)."""
    t = torch.as_tensor(value, dtype=torch.float64).detach().clone()
    if world(accelerator) == 1:
        return t
    return accelerator.reduce(t.to(accelerator.device), reduction="sum").cpu()


def scaled(local_sum: torch.Tensor, global_units: float, accelerator, weight: float = 1.0) -> torch.Tensor:
    """The loss to backpropagate on this process (fact 2): Σ_local ℓ / U · N (· 0 for a placeholder)."""
    # units may be a sum of ranking weights below 1; only an empty batch (0) needs the guard
    return local_sum * (weight * world(accelerator) / (float(global_units) if global_units > 0 else 1.0))


def current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])
