"""Confidence intervals for rates measured over prompts: a bootstrap that resamples whole prompts.

The comparisons of one prompt are not independent: a prompt is easy or hard for both models, and
several labelers or sampled answers see the same prompt. Treating them as independent trials (a
Wilson or normal interval over all comparisons) gives intervals that are too narrow. So the interval
resamples prompts with replacement, each drawn prompt bringing all its comparisons (a cluster
bootstrap), and reads the 2.5th and 97.5th percentiles of the resampled rates. With one comparison
per prompt it is the ordinary bootstrap. A fixed seed makes the same data give the same interval.

Pure Python and numpy, no Django: the platform's evaluation and the experiment both use it.
"""

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95


def clustered_rate(groups, resamples=RESAMPLES, level=LEVEL, seed=0):
    """{n, prompts, rate, ci_low, ci_high} of scores in [0, 1] given per prompt: `groups` is one
    sequence of scores per prompt (a win 1, a tie 0.5, a loss 0; or a correct pair 1). The rate is
    the mean over all comparisons; None values when there are none."""
    groups = [list(g) for g in groups if len(g)]
    n = sum(len(g) for g in groups)
    if n == 0:
        return {"n": 0, "prompts": 0, "rate": None, "ci_low": None, "ci_high": None}
    sums = np.array([float(sum(g)) for g in groups])
    counts = np.array([len(g) for g in groups], dtype=float)
    draws = np.random.default_rng(seed).integers(0, len(groups), size=(resamples, len(groups)))
    rates = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(rates, [tail, 1 - tail])
    return {"n": n, "prompts": len(groups), "rate": float(sums.sum() / n), "ci_low": float(low), "ci_high": float(high)}
