"""Pair expansion: a ranking of K answers implies every (y_w, y_l) with rank(y_w) better than
rank(y_l). Ties give no pair, so K answers give C(K,2) minus the tied pairs; an `unrankable`
ranking gives none. Expansion is idempotent: the unique constraint plus ON CONFLICT DO NOTHING means a
re-delivered task writes nothing new.
"""

from itertools import combinations

from django.db import connection, transaction
from django.utils import timezone

from labeling.models import ComparisonPair, RankedResponse, Ranking


def pairs_from_ranks(ranks):
    """[(chosen, rejected)] from {item: rank} (1 = best); tied items give no pair."""
    ordered = sorted(ranks.items(), key=lambda kv: (kv[1], str(kv[0])))
    return [(a, b) for (a, ra), (b, rb) in combinations(ordered, 2) if ra < rb]


def expected_pair_count(ranks):
    return len(pairs_from_ranks(ranks))


def expand_rankings(ranking_ids):
    """Write the pairs of these rankings; returns the number of new pair rows.

    One set-based statement does it inside the database: every two items of a ranking with a
    strictly better rank give a pair, tied items give none, unrankable rankings give none, and
    ON CONFLICT DO NOTHING skips pairs that already exist (a re-delivered task writes nothing).
    That is several times faster than building the rows in Python (benchmarks/pair_expansion.py)."""
    ranking_ids = [int(i) for i in ranking_ids]
    if not ranking_ids:
        return 0
    pair, item, ranking = (m._meta.db_table for m in (ComparisonPair, RankedResponse, Ranking))
    marks = ", ".join(["%s"] * len(ranking_ids))
    sql = f"""
        INSERT INTO {pair} (ranking_id, chosen_id, rejected_id)
        SELECT better.ranking_id, better.response_id, worse.response_id
        FROM {item} better
        JOIN {item} worse ON worse.ranking_id = better.ranking_id AND better.rank < worse.rank
        JOIN {ranking} r ON r.id = better.ranking_id
        WHERE better.ranking_id IN ({marks}) AND NOT r.unrankable
        ON CONFLICT DO NOTHING
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, ranking_ids)
        written = cursor.rowcount
        Ranking.objects.filter(id__in=ranking_ids, pairs_expanded_at__isnull=True).update(pairs_expanded_at=timezone.now())
    return max(written, 0)
