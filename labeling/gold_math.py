"""The arithmetic of labeler weights from gold, free of Django so the offline experiment
(experiments/hidden_preference/label_efficiency.py) weighs its simulated labelers with the very
functions the platform uses (labeling.gold, whose docstring states the rules).

- ``gold_pair_tally``: over the answer pairs a gold ranking orders strictly, (pairs ordered the same
  way + ½ · pairs tied, pairs counted); pairs tied in gold are left out.
- ``wilson_interval``: the 95% Wilson score interval of that accuracy.
- ``weight_from_accuracy``: w = max(0, 2·acc − 1).
"""

import math
from itertools import combinations

Z95 = 1.959963984540054


def gold_pair_tally(given, truth):
    """(agreed, pairs) of one ranking against gold; both map an answer key to its rank (1 best)."""
    agreed, pairs = 0.0, 0
    for x, y in combinations(sorted(set(given) & set(truth)), 2):
        if truth[x] == truth[y]:
            continue
        pairs += 1
        said = (given[x] > given[y]) - (given[x] < given[y])
        agreed += 0.5 if said == 0 else float(said == ((truth[x] > truth[y]) - (truth[x] < truth[y])))
    return agreed, pairs


def wilson_interval(successes, n, z=Z95):
    """(low, high) of the Wilson score interval for successes out of n; (None, None) when n is 0."""
    if not n:
        return None, None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def weight_from_accuracy(accuracy):
    return max(0.0, 2 * accuracy - 1)
