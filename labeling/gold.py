"""Labelers measured on gold tasks, and the weights their rankings get in a dataset snapshot.

Accuracy. Over the answer pairs that a gold ranking orders strictly, a labeler's gold accuracy is
(pairs they order the same way + ½ · pairs they tie) / pairs. Pairs tied in gold say nothing about
direction and are not counted (labeling.agreement, which compares outcomes, counts a tie against a
tie as agreement: by that count a labeler who reverses every ranking still "agrees" on tied pairs).
A tie is half right, so a labeler who ties everything, or orders at random, scores ½. Its 95%
interval is Wilson's score interval over those pairs:

    centre = (p + z²/2n) / (1 + z²/n),   half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n),   z = 1.96

The pairs of one ranking are not independent, so the interval is somewhat narrower than the truth.

Weights. A ranking's weight is its labeler's  w = max(0, 2·acc − 1):  a labeler who orders a pair at
random (acc = ½) carries no information and weighs 0, a perfect one weighs 1, and in between the
weight is the expected signed vote on a pair (+1 right, −1 wrong). `estimate` chooses which accuracy
goes in: the point estimate, or the Wilson lower bound (a labeler with little gold is trusted
less). Labelers whose chosen estimate is below `floor` are left out of the snapshot; labelers with no
gold pairs get `unmeasured_weight` and are never below the floor. The rule is recorded with the
snapshot (its filters) and every ranking line carries its weight.

The arithmetic (pair tally, interval, weight) is in labeling.gold_math, free of Django, so the offline
hidden-preference experiment weighs its simulated labelers with the same functions.
"""

import math
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from labeling.gold_math import gold_pair_tally, weight_from_accuracy, wilson_interval  # noqa: F401 (re-exported)
from labeling.models import RankedResponse, Ranking, Task
from labeling.ranking import RuleError

ESTIMATES = ("accuracy", "wilson_low")


def _unit_number(value, field):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise RuleError(field, "give a number from 0 to 1")
    return float(value)


@dataclass(frozen=True)
class WeightRule:
    """How a snapshot weighs rankings by their labeler's gold accuracy (see the module docstring)."""

    estimate: str = "accuracy"
    floor: float | None = None
    unmeasured_weight: float = 1.0

    @classmethod
    def from_dict(cls, data, field="labeler_weights"):
        """None stays None (no weighting); an object is checked, naming the field of a bad value."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise RuleError(field, "give an object: {estimate, floor, unmeasured_weight}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise RuleError(f"{field}.{sorted(unknown)[0]}", "unknown setting")
        estimate = data.get("estimate", "accuracy")
        if estimate not in ESTIMATES:
            raise RuleError(f"{field}.estimate", f"use one of {', '.join(ESTIMATES)}")
        floor = data.get("floor")
        return cls(estimate=estimate, floor=None if floor is None else _unit_number(floor, f"{field}.floor"),
                   unmeasured_weight=_unit_number(data.get("unmeasured_weight", 1.0), f"{field}.unmeasured_weight"))


@dataclass(frozen=True)
class GoldScore:
    labeler: int
    agreed: float  # pairs right, a tie counting ½
    pairs: int

    @property
    def accuracy(self):
        return self.agreed / self.pairs if self.pairs else None

    @property
    def interval(self):
        return wilson_interval(self.agreed, self.pairs)

    def estimate(self, which):
        return self.accuracy if which == "accuracy" else self.interval[0]


def gold_scores(rankings=None):
    """{labeler id: GoldScore} for every labeler with a ranking of a gold task in `rankings` (not
    unrankable); `agreed` counts a tie as ½."""
    rankings = (rankings if rankings is not None else Ranking.objects.all()).filter(
        task__gold_ranks__isnull=False, unrankable=False)
    ranks = defaultdict(dict)  # {(ranking, task, labeler): {response: rank}}
    for ranking_id, task_id, labeler_id, response_id, rank in (
            RankedResponse.objects.filter(ranking__in=rankings).order_by()
            .values_list("ranking_id", "ranking__task_id", "ranking__labeler_id", "response_id", "rank")):
        ranks[(ranking_id, task_id, labeler_id)][response_id] = rank
    gold = {task_id: {int(k): v for k, v in gold_ranks.items()} for task_id, gold_ranks in
            Task.objects.filter(pk__in={task for _, task, _ in ranks}).values_list("id", "gold_ranks")}
    tallies = defaultdict(lambda: [0.0, 0])
    for (_, task_id, labeler_id), given in ranks.items():
        agreed, pairs = gold_pair_tally(given, gold[task_id])
        tallies[labeler_id][0] += agreed
        tallies[labeler_id][1] += pairs
    return {labeler: GoldScore(labeler, agreed, pairs) for labeler, (agreed, pairs) in tallies.items()}


def labeler_weights(rule, labeler_ids, scores=None):
    """({labeler: weight}, {labelers below the floor}) for these labelers under the rule."""
    scores = gold_scores() if scores is None else scores
    weights, below = {}, set()
    for labeler in labeler_ids:
        score = scores.get(labeler)
        if score is None or not score.pairs:
            weights[labeler] = rule.unmeasured_weight
            continue
        estimate = score.estimate(rule.estimate)
        if rule.floor is not None and estimate < rule.floor:
            below.add(labeler)
        weights[labeler] = weight_from_accuracy(estimate)
    return weights, below


def gold_report(rankings=None, rule=None):
    """Per labeler: gold pairs, accuracy with its 95% Wilson interval, and the weight under `rule`
    (the default rule when None), flagged when below its floor."""
    rule = rule or WeightRule()
    scores = gold_scores(rankings)
    weights, below = labeler_weights(rule, scores, scores)
    names = dict(get_user_model().objects.filter(id__in=scores).values_list("id", "username"))
    rows = []
    for labeler, score in sorted(scores.items()):
        low, high = score.interval
        rows.append({"labeler": labeler, "username": names.get(labeler, ""), "gold_pairs": score.pairs,
                     "agreed_pairs": score.agreed, "accuracy": score.accuracy, "interval_low": low,
                     "interval_high": high, "weight": weights[labeler], "below_floor": labeler in below})
    return {"rule": {"estimate": rule.estimate, "floor": rule.floor, "unmeasured_weight": rule.unmeasured_weight},
            "weight": "max(0, 2·estimate − 1)", "interval": "Wilson score, 95%", "labelers": rows}
