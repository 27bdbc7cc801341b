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

    Two statements. First the rankings not yet expanded are marked (UPDATE ... RETURNING): that
    locks their rows, so an expansion of the same ranking running at the same time waits, then finds
    it marked and writes nothing, and a re-delivered task stops there. Then one set-based INSERT
    writes the marked rankings' pairs inside the database: every two items with a strictly better
    rank give a pair, tied items give none, unrankable rankings give none. Mark and pairs commit
    together; the unique constraint with ON CONFLICT DO NOTHING still makes a second write harmless.
    That is several times faster than building the rows in Python (benchmarks/pair_expansion.py)."""
    ranking_ids = sorted({int(i) for i in ranking_ids})
    if not ranking_ids:
        return 0
    pair, item, ranking = (m._meta.db_table for m in (ComparisonPair, RankedResponse, Ranking))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {ranking} SET pairs_expanded_at = %s WHERE pairs_expanded_at IS NULL AND id IN "
                       f"({_marks(ranking_ids)}) RETURNING id, unrankable",
                       [connection.ops.adapt_datetimefield_value(timezone.now()), *ranking_ids])
        todo = [pk for pk, unrankable in cursor.fetchall() if not unrankable]
        if not todo:
            return 0
        cursor.execute(f"""
            INSERT INTO {pair} (ranking_id, chosen_id, rejected_id)
            SELECT better.ranking_id, better.response_id, worse.response_id
            FROM {item} better
            JOIN {item} worse ON worse.ranking_id = better.ranking_id AND better.rank < worse.rank
            WHERE better.ranking_id IN ({_marks(todo)}) AND worse.ranking_id IN ({_marks(todo)})
            ON CONFLICT DO NOTHING
        """, todo + todo)  # both sides named: else PostgreSQL may read every ranking's items for `worse`
        return max(cursor.rowcount, 0)


def _marks(values):
    return ", ".join(["%s"] * len(values))
