"""Agreement between labelers, and between labelers and gold tasks.

How it is counted. Two rankings of the same task are compared pair by pair: for every two answers
both labelers ranked, each labeler's judgment is one of three outcomes — the first is better, the
second is better, or they are tied. The pair counts as *agreed* when both labelers gave the same
outcome, so a tie agrees only with a tie; a tie against a preference is a disagreement. The agreement
of two rankings is agreed pairs / compared pairs (a ranking of K answers compares C(K,2) pairs).

Pooled figures are pair-weighted: the overall agreement is the sum of agreed pairs over every two
labelers of every task, divided by the sum of compared pairs. A labeler's peer agreement pools the
comparisons of their rankings with every other labeler's ranking of the same tasks; their gold
agreement compares their rankings of gold tasks with the task's gold ranks the same way.
Unrankable rankings compare nothing. InstructGPT reports about 73% between its trained labelers.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from labeling.models import RankedResponse, Ranking, Task


def _outcome(a, b):
    return (a > b) - (a < b)


def compare_ranks(ranks_a, ranks_b):
    """(agreed, compared) over the answer pairs both {response: rank} maps rank; ties are an outcome."""
    common = sorted(set(ranks_a) & set(ranks_b), key=str)
    agreed = compared = 0
    for x, y in combinations(common, 2):
        compared += 1
        agreed += _outcome(ranks_a[x], ranks_a[y]) == _outcome(ranks_b[x], ranks_b[y])
    return agreed, compared


def ratio(agreed, compared):
    return agreed / compared if compared else None


@dataclass
class Tally:
    agreed: int = 0
    compared: int = 0

    def add(self, agreed, compared):
        self.agreed += agreed
        self.compared += compared

    @property
    def value(self):
        return ratio(self.agreed, self.compared)


@dataclass
class AgreementReport:
    peer: Tally = field(default_factory=Tally)
    gold: Tally = field(default_factory=Tally)
    tasks_compared: int = 0
    per_labeler_peer: dict = field(default_factory=lambda: defaultdict(Tally))
    per_labeler_gold: dict = field(default_factory=lambda: defaultdict(Tally))
    rankings_per_labeler: dict = field(default_factory=lambda: defaultdict(int))

    def labeler_agreement(self, labeler_id):
        """The figure a dataset filter uses: peer agreement, or gold agreement where the labeler has
        no peers yet; None when neither can be measured."""
        peer = self.per_labeler_peer.get(labeler_id)
        if peer and peer.compared:
            return peer.value
        gold = self.per_labeler_gold.get(labeler_id)
        return gold.value if gold and gold.compared else None

    def as_dict(self):
        ids = sorted(set(self.rankings_per_labeler) | set(self.per_labeler_peer) | set(self.per_labeler_gold))
        names = dict(get_user_model().objects.filter(id__in=ids).values_list("id", "username"))
        labelers = []
        for labeler_id in ids:
            peer = self.per_labeler_peer.get(labeler_id, Tally())
            gold = self.per_labeler_gold.get(labeler_id, Tally())
            labelers.append({
                "labeler": labeler_id, "username": names.get(labeler_id, ""),
                "rankings": self.rankings_per_labeler.get(labeler_id, 0),
                "peer_agreement": peer.value, "peer_pairs": peer.compared,
                "gold_agreement": gold.value, "gold_pairs": gold.compared,
            })
        return {
            "overall": self.peer.value, "compared_pairs": self.peer.compared, "tasks_compared": self.tasks_compared,
            "gold_agreement": self.gold.value, "gold_pairs": self.gold.compared,
            "ties": "a pair is agreed when both rankings give the same outcome: better, worse or tied",
            "labelers": labelers,
        }


def agreement_report(rankings=None):
    """Agreement over the tasks that two or more labelers ranked, and over gold tasks.

    rankings: an optional Ranking queryset to restrict which rankings count (e.g. one guideline version)."""
    rankings = (rankings if rankings is not None else Ranking.objects.all()).filter(unrankable=False)
    report = AgreementReport()
    for labeler_id, n in rankings.order_by().values_list("labeler_id").annotate(n=Count("id")):
        report.rankings_per_labeler[labeler_id] = n

    shared = rankings.order_by().values("task_id").annotate(n=Count("id")).filter(n__gte=2).values("task_id")
    in_scope = rankings.filter(Q(task_id__in=shared) | Q(task__gold_ranks__isnull=False))
    by_task = defaultdict(lambda: defaultdict(dict))  # {task: {labeler: {response: rank}}}
    rows = (RankedResponse.objects.filter(ranking__in=in_scope)
            .values_list("ranking__task_id", "ranking__labeler_id", "response_id", "rank").order_by())
    for task_id, labeler_id, response_id, rank in rows.iterator(chunk_size=5000):
        by_task[task_id][labeler_id][response_id] = rank
    gold_ranks = dict(Task.objects.filter(gold_ranks__isnull=False, rankings__in=in_scope).distinct()
                      .values_list("id", "gold_ranks"))

    for task_id, per_labeler in by_task.items():
        if len(per_labeler) >= 2:
            report.tasks_compared += 1
            for (a, ranks_a), (b, ranks_b) in combinations(sorted(per_labeler.items()), 2):
                agreed, compared = compare_ranks(ranks_a, ranks_b)
                report.peer.add(agreed, compared)
                report.per_labeler_peer[a].add(agreed, compared)
                report.per_labeler_peer[b].add(agreed, compared)
        if task_id in gold_ranks:
            gold = {int(k): v for k, v in gold_ranks[task_id].items()}
            for labeler_id, ranks in per_labeler.items():
                agreed, compared = compare_ranks(ranks, gold)
                report.gold.add(agreed, compared)
                report.per_labeler_gold[labeler_id].add(agreed, compared)
    return report
