"""Bias analytics: do labelers favour the answer shown first, or the longer answer?

Each ranking records the order its labeler saw the answers in (Ranking.display_order). Per labeler
and overall:

- first_shown_best: share of rankings whose first-shown answer got rank 1 (ties for first count),
  beside first_shown_best_by_chance, what a labeler ignoring position would get (mean of
  answers-ranked-first / K).
- earlier_shown_preferred: over every untied pair, share where the preferred answer was shown
  earlier (0.5 without position bias).
- longer_preferred: over every untied pair of answers of different lengths (characters), share
  where the preferred answer is the longer one (0.5 without length bias).

Rankings without a recorded display order (imports) count for length only; unrankable ones not at all.
"""

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

from django.contrib.auth import get_user_model
from django.db.models.functions import Length

from labeling.models import RankedResponse, Ranking
from labeling.agreement import ratio


@dataclass
class BiasTally:
    rankings: int = 0
    first_best: int = 0
    first_best_chance: float = 0.0
    position_pairs: int = 0
    earlier_preferred: int = 0
    length_pairs: int = 0
    longer_preferred: int = 0

    def add_ranking(self, items, display_order):
        """items: {response_id: (rank, length)}; display_order: response ids as shown."""
        shown = {rid: i for i, rid in enumerate(display_order)}
        has_order = bool(display_order) and set(shown) == set(items)
        if has_order:
            self.rankings += 1
            best = min(rank for rank, _ in items.values())
            self.first_best += items[display_order[0]][0] == best
            self.first_best_chance += sum(rank == best for rank, _ in items.values()) / len(items)
        for a, b in combinations(items, 2):
            (rank_a, len_a), (rank_b, len_b) = items[a], items[b]
            if rank_a == rank_b:
                continue
            winner, loser = (a, b) if rank_a < rank_b else (b, a)
            if has_order:
                self.position_pairs += 1
                self.earlier_preferred += shown[winner] < shown[loser]
            if len_a != len_b:
                self.length_pairs += 1
                self.longer_preferred += items[winner][1] > items[loser][1]

    def merge(self, other):
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self):
        return {
            "rankings": self.rankings,
            "first_shown_best": ratio(self.first_best, self.rankings),
            "first_shown_best_by_chance": ratio(self.first_best_chance, self.rankings),
            "position_pairs": self.position_pairs,
            "earlier_shown_preferred": ratio(self.earlier_preferred, self.position_pairs),
            "length_pairs": self.length_pairs,
            "longer_preferred": ratio(self.longer_preferred, self.length_pairs),
        }


def bias_report(rankings=None):
    """{"overall": {...}, "labelers": [{"labeler", "username", ...}]} over these rankings (default: all)."""
    rankings = (rankings if rankings is not None else Ranking.objects.all()).filter(unrankable=False)
    orders = dict(rankings.order_by().values_list("id", "display_order"))
    items = defaultdict(dict)
    labeler_of = {}
    rows = (RankedResponse.objects.filter(ranking__in=rankings).order_by()
            .values_list("ranking_id", "ranking__labeler_id", "response_id", "rank", Length("response__text")))
    for ranking_id, labeler_id, response_id, rank, length in rows.iterator(chunk_size=5000):
        items[ranking_id][response_id] = (rank, length)
        labeler_of[ranking_id] = labeler_id

    per_labeler = defaultdict(BiasTally)
    for ranking_id, ranking_items in items.items():
        per_labeler[labeler_of[ranking_id]].add_ranking(ranking_items, orders.get(ranking_id) or [])
    overall = BiasTally()
    for tally in per_labeler.values():
        overall.merge(tally)
    names = dict(get_user_model().objects.filter(id__in=list(per_labeler)).values_list("id", "username"))
    return {
        "overall": overall.as_dict(),
        "labelers": [{"labeler": labeler_id, "username": names.get(labeler_id, ""), **per_labeler[labeler_id].as_dict()}
                     for labeler_id in sorted(per_labeler)],
    }
