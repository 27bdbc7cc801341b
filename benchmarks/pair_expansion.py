"""Pair expansion throughput: N rankings with K from 4 to 9 into the database, then every ranking's
comparison pairs written by `labeling.pairs.expand_rankings` in batches, as the workers do.

    python benchmarks/pair_expansion.py --database-url postgres://postgres@127.0.0.1:5432/rlhf_bench
    python benchmarks/pair_expansion.py --rankings 300          # tiny, SQLite under var/

The benchmark migrates the target database and deletes what a previous run left there. Target:
at least 50,000 pairs per second on PostgreSQL. Prints a table and writes benchmarks/results/pair_expansion.json.
"""

import argparse
import json
import os
import random
import sys
import time
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def setup_django(database_url):
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def build_rankings(n_rankings, seed, batch=5000):
    """Insert n rankings (K uniform in 4..9, random ranks with some ties) and return their ids."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from labeling.models import (Assignment, ComparisonPair, Origin, Prompt, RankedResponse, Ranking, Response, Task,
                                 TaskResponse)

    rng = random.Random(seed)
    # Clear what a previous run left (only the benchmark's own rows, children first).
    tasks = Task.objects.filter(prompt__source="bench")
    ComparisonPair.objects.filter(ranking__task__in=tasks).delete()
    RankedResponse.objects.filter(ranking__task__in=tasks).delete()
    Ranking.objects.filter(task__in=tasks).delete()
    Assignment.objects.filter(task__in=tasks).delete()
    TaskResponse.objects.filter(task__in=tasks).delete()
    tasks.delete()
    Response.objects.filter(source="bench").delete()
    Prompt.objects.filter(source="bench").delete()
    user, _ = get_user_model().objects.get_or_create(username="bench-labeler")
    n_prompts = max(1, n_rankings // 100)
    prompts = Prompt.objects.bulk_create(
        [Prompt(messages=[{"role": "user", "content": f"p{i}"}], text=f"p{i}", source="bench") for i in range(n_prompts)]
    )
    responses = Response.objects.bulk_create(
        [Response(prompt=p, text=f"{p.text} answer {j}", origin=Origin.IMPORT, source="bench") for p in prompts for j in range(9)],
        batch_size=batch,
    )
    by_prompt = {}
    for r in responses:
        by_prompt.setdefault(r.prompt_id, []).append(r.id)

    now = timezone.now()
    expected = 0
    ranking_ids = []
    for start in range(0, n_rankings, batch):
        size = min(batch, n_rankings - start)
        plan = []
        for _ in range(size):
            prompt = rng.choice(prompts)
            k = rng.randint(4, 9)
            chosen = rng.sample(by_prompt[prompt.id], k)
            ranks = [rng.randint(1, k) for _ in range(k)]  # random ranks: ties happen
            plan.append((prompt, chosen, ranks))
        tasks = Task.objects.bulk_create([Task(kind="ranking", prompt=p, completed_count=1) for p, _, _ in plan])
        TaskResponse.objects.bulk_create(
            [TaskResponse(task=t, response_id=r, position=i) for t, (_, chosen, _) in zip(tasks, plan) for i, r in enumerate(chosen)],
            batch_size=batch * 3,
        )
        assignments = Assignment.objects.bulk_create(
            [Assignment(task=t, labeler=user, state="submitted", lease_expires_at=now) for t in tasks]
        )
        rankings = Ranking.objects.bulk_create([Ranking(task=t, assignment=a, labeler=user) for t, a in zip(tasks, assignments)])
        RankedResponse.objects.bulk_create(
            [RankedResponse(ranking=rk, response_id=r, rank=rank)
             for rk, (_, chosen, ranks) in zip(rankings, plan) for r, rank in zip(chosen, ranks)],
            batch_size=batch * 3,
        )
        for _, _, ranks in plan:
            expected += sum(1 for i in range(len(ranks)) for j in range(i + 1, len(ranks)) if ranks[i] != ranks[j])
        ranking_ids.extend(rk.id for rk in rankings)
    return ranking_ids, expected


# The expansion as it was before 2026-12-03 (one INSERT ... SELECT joined to the ranking, then an
# UPDATE marking the rankings; the ranking foreign key checked per pair row), for --compare.
BEFORE_INSERT = """
    INSERT INTO labeling_comparisonpair (ranking_id, chosen_id, rejected_id)
    SELECT better.ranking_id, better.response_id, worse.response_id
    FROM labeling_rankedresponse better
    JOIN labeling_rankedresponse worse ON worse.ranking_id = better.ranking_id AND better.rank < worse.rank
    JOIN labeling_ranking r ON r.id = better.ranking_id
    WHERE better.ranking_id IN ({marks}) AND NOT r.unrankable
    ON CONFLICT DO NOTHING
"""
BEFORE_FK = ("ALTER TABLE labeling_comparisonpair ADD CONSTRAINT bench_before_ranking_fk FOREIGN KEY (ranking_id) "
             "REFERENCES labeling_ranking (id) DEFERRABLE INITIALLY DEFERRED NOT VALID")


def expand_before(ranking_ids):
    from django.db import connection, transaction
    from django.utils import timezone

    from labeling.models import Ranking

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BEFORE_INSERT.format(marks=", ".join(["%s"] * len(ranking_ids))), ranking_ids)
        Ranking.objects.filter(id__in=ranking_ids, pairs_expanded_at__isnull=True).update(pairs_expanded_at=timezone.now())


def clear_pairs():
    """Back to the state before expansion: no bench pairs, no ranking marked, dead rows vacuumed."""
    from django.db import connection

    from labeling.models import ComparisonPair, Ranking

    ComparisonPair.objects.filter(ranking__task__prompt__source="bench").delete()
    Ranking.objects.filter(task__prompt__source="bench").update(pairs_expanded_at=None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE labeling_comparisonpair, labeling_ranking")


def timed_expansion(expand, ranking_ids, batch):
    t0 = time.perf_counter()
    for start in range(0, len(ranking_ids), batch):
        expand(ranking_ids[start:start + batch])
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rankings", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000, help="rankings per expansion call (one worker task)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"),
                        help="a database for the benchmark (default: var/bench.sqlite3; never your working one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true",
                        help="then expand the same rankings again the way it was done before (BEFORE_INSERT), in the same run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pair_expansion.json"))
    args = parser.parse_args(argv)
    if args.rankings < 1 or args.batch < 1:
        parser.error("--rankings and --batch must be positive")

    setup_django(args.database_url)
    from django.db import connection

    from labeling.models import ComparisonPair
    from labeling.pairs import expand_rankings

    t0 = time.perf_counter()
    ranking_ids, expected = build_rankings(args.rankings, args.seed)
    setup_s = time.perf_counter() - t0

    if connection.vendor == "postgresql":  # planner statistics, as auto-analyze gives a live database
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    expand_s = timed_expansion(expand_rankings, ranking_ids, args.batch)
    written = ComparisonPair.objects.filter(ranking__task__prompt__source="bench").count()
    redeliver_s = timed_expansion(expand_rankings, ranking_ids, args.batch)  # must write nothing new
    after = ComparisonPair.objects.filter(ranking__task__prompt__source="bench").count()

    before = {}
    if args.compare:  # second, on a vacuumed table: any order effect favours the old way
        clear_pairs()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(BEFORE_FK)
        try:
            before_s = timed_expansion(expand_before, ranking_ids, args.batch)
            before_written = ComparisonPair.objects.filter(ranking__task__prompt__source="bench").count()
            before_redeliver_s = timed_expansion(expand_before, ranking_ids, args.batch)
        finally:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ALTER TABLE labeling_comparisonpair DROP CONSTRAINT IF EXISTS bench_before_ranking_fk")
        before = {"before_expand_seconds": round(before_s, 3),
                  "before_pairs_per_second": round(before_written / before_s) if before_s else None,
                  "before_redelivery_seconds": round(before_redeliver_s, 3),
                  "speedup_over_before": round(before_s / expand_s, 2) if expand_s else None}
        if before_written != written:
            print("ERROR: the old way wrote a different number of pairs", file=sys.stderr)
            return 1

    result = {
        "database": connection.vendor,
        "rankings": len(ranking_ids),
        "pairs_expected": expected,
        "pairs_written": written,
        "pairs_after_redelivery": after,
        "setup_seconds": round(setup_s, 2),
        "expand_seconds": round(expand_s, 3),
        "pairs_per_second": round(written / expand_s) if expand_s else None,
        "redelivery_seconds": round(redeliver_s, 3),
        **before,
        "max_pairs_if_no_ties": sum(comb(k, 2) for k in range(4, 10)) / 6 * len(ranking_ids),
        "target_pairs_per_second": 50_000,
        "cpu_count": os.cpu_count(),
    }
    print(f"{'metric':28s} value")
    for key, value in result.items():
        print(f"{key:28s} {value}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    if written != expected or after != written:
        print("ERROR: pair counts do not match the rankings", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
