"""Spend labels where the reward model is least sure: order (and cut) a sampling job's new ranking tasks by
the uncertainty of a reward-model ensemble (training.engine.ensemble).

The rule, recorded in the sampling job's config: with `order_by_uncertainty`, every sampled prompt's K
answers are scored by the ensemble given as the job's reward model; a task's uncertainty is the mean
spread of its answers. Tasks are created most uncertain first and get a priority above the job's own
`priority` that falls with their uncertainty rank (0..1000 from least to most uncertain), so `next`
hands them out in that order. With `uncertainty_budget` N > 0 only the N most uncertain prompts become
tasks (answers are cheap; labels are not).
"""

from pathlib import Path

PRIORITY_LEVELS = 1000
MAX_PRIORITY = 32767  # Task.priority is a SmallIntegerField


def rank_by_uncertainty(ensemble_path, records, budget=0):
    """[(record, uncertainty)] most uncertain first, cut to `budget` when it is > 0. records: the
    sampler's {"prompt", "responses"} lines."""
    from training.engine.ensemble import load_ensemble

    ensemble = load_ensemble(ensemble_path)
    scored = [(record, ensemble.score(record["prompt"], record["responses"])["uncertainty"]) for record in records]
    scored.sort(key=lambda pair: -pair[1])  # stable: equal uncertainty keeps the sampler's order
    return scored[:budget] if budget else scored


def priorities(count, base=0):
    """Priorities for `count` tasks in hand-out order: the first gets base + 1000, the last base + 0."""
    if count <= 1:
        return [min(base + PRIORITY_LEVELS, MAX_PRIORITY)] * count
    return [min(base + round(PRIORITY_LEVELS * (count - 1 - i) / (count - 1)), MAX_PRIORITY) for i in range(count)]


def has_ensemble(path):
    """Whether a reward-model folder carries ensemble heads (training.engine.ensemble.HEADS_FILE; named
    here so that checking a launch does not import torch)."""
    return (Path(path) / "ensemble_heads.safetensors").exists()
