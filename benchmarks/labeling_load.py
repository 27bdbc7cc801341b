"""The labeling API under load: C concurrent labelers, each looping `next task` -> `submit ranking`
against gunicorn (production settings) and a Celery worker expanding pairs, as deployed.

    python benchmarks/labeling_load.py --database-url postgres://postgres@127.0.0.1:5432/rlhf_load
    python benchmarks/labeling_load.py --concurrency 1 --seconds 2 --tasks 100     # tiny, SQLite

Reports per level: cycles per second, p50/p95/p99 per endpoint, errors, tasks leased beyond what
they needed (must be 0) and submissions lost (acknowledged but not in the database; must be 0).
The load generator runs on the same 2 cores as the server, so it takes some of their time too.
Target on 2 cores at 32 labelers: >= 150 cycles/s with p99 < 250 ms. Writes benchmarks/results/labeling_load.json.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def make_items(n_tasks, k):
    """The prompts and K answers every benchmark ranks (labeling_vs_label_studio.py gives Label Studio
    the very same)."""
    return [(f"Question {i}?", [f"Answer {j} to Question {i}? " + "lorem ipsum " * 20 for j in range(k)])
            for i in range(n_tasks)]


def setup_database(database_url, n_labelers, n_tasks, k, labelers_required):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from accounts.roles import ensure_roles
    from labeling.models import (Assignment, ComparisonPair, Guideline, GuidelineVersion, Origin, Prompt, RankedResponse,
                                 Ranking, Response, Task, TaskResponse)

    call_command("migrate", "--noinput", verbosity=0)
    ensure_roles()
    for model in (ComparisonPair, RankedResponse, Ranking, Assignment, TaskResponse, Task, Response, Prompt):
        model.objects.all().delete()
    if not GuidelineVersion.objects.exists():
        from django.utils import timezone

        g = Guideline.objects.create(name="load-test guideline")
        GuidelineVersion.objects.create(guideline=g, number=1, body="Rank the answers, best first.", published_at=timezone.now())
    group = Group.objects.get(name="labeler")
    tokens = []
    for i in range(n_labelers):
        user, _ = get_user_model().objects.get_or_create(username=f"load-labeler-{i}")
        user.groups.add(group)
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    items = make_items(n_tasks, k)
    prompts = Prompt.objects.bulk_create(
        [Prompt(messages=[{"role": "user", "content": text}], text=text, split="rm", source="load") for text, _ in items],
        batch_size=2000)
    responses = Response.objects.bulk_create(
        [Response(prompt=p, text=answer, origin=Origin.MODEL) for p, (_, answers) in zip(prompts, items) for answer in answers],
        batch_size=5000)
    tasks = Task.objects.bulk_create([Task(kind="ranking", prompt=p, labelers_required=labelers_required) for p in prompts],
                                     batch_size=2000)
    TaskResponse.objects.bulk_create(
        [TaskResponse(task=t, response=responses[i * k + j], position=j) for i, t in enumerate(tasks) for j in range(k)],
        batch_size=5000)
    return tokens


def analyze():
    """Fresh planner statistics, as autovacuum's auto-analyze keeps them in a live database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def start_processes(database_url, redis_url, port, web_workers, threads, with_worker, worker_database_url=None):
    """gunicorn (and a Celery worker): the worker may connect as another database role, so that
    PostgreSQL's statistics tell its statements from the web server's."""
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, DEBUG="0", SECRET_KEY="load-test-" + "s" * 50,
               ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", PYTHONPATH=f"{ROOT}:{ROOT / 'platform'}",
               LOG_LEVEL="ERROR")
    logs = ROOT / "var" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:application", "--pythonpath", str(ROOT / "platform"), "--bind",
         f"127.0.0.1:{port}", "--workers", str(web_workers), "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=open(logs / "load-web.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)]
    if with_worker:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-Q", "default", "--concurrency", "1",
             "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=dict(env, DATABASE_URL=worker_database_url or database_url),
            stdout=open(logs / "load-worker.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/schema/")
            if conn.getresponse().status in (200, 401, 403):
                return procs
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up; see var/logs/load-web.log")


class Labeler(threading.Thread):
    """One simulated labeler: next -> submit, over a keep-alive connection, until the deadline.
    `fetch` and `submit` speak the platform's API; a subclass speaks another system's."""

    no_task_status = 204  # what `next` answers when no task is left

    def __init__(self, port, token, deadline, stats):
        super().__init__(daemon=True)
        self.port, self.token, self.deadline, self.stats = port, token, deadline, stats
        self.rng = random.Random(token)

    def fetch(self):
        """(status, work item or None, task id)."""
        status, body = self.call("POST", "/api/work/next/", {})
        if status != 200:
            return status, None, None
        item = json.loads(body)
        return status, item, item["task"]["id"]

    def submit(self, item):
        """(status, acknowledged id)."""
        ids = [r["id"] for r in item["responses"]]
        ranks = list(range(1, len(ids) + 1))
        self.rng.shuffle(ranks)
        status, _ = self.call("POST", f"/api/assignments/{item['id']}/ranking/",
                              {"ranks": [{"response": i, "rank": r} for i, r in zip(ids, ranks)], "seconds_spent": 1.0},
                              {"Idempotency-Key": uuid.uuid4().hex})
        return status, item["id"]

    def call(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                                  headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json",
                                           **(headers or {})})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise

    def run(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        local = {"next": [], "submit": [], "cycles": 0, "errors": 0, "empty": 0, "acknowledged": [], "handed": []}
        while time.monotonic() < self.deadline:
            t0 = time.perf_counter()
            status, item, task_id = self.fetch()
            local["next"].append(time.perf_counter() - t0)
            if status == self.no_task_status:
                local["empty"] += 1
                break
            if item is None:
                local["errors"] += 1
                continue
            local["handed"].append((task_id, self.token))
            t0 = time.perf_counter()
            status, acknowledged = self.submit(item)
            local["submit"].append(time.perf_counter() - t0)
            if status in (200, 201):
                local["cycles"] += 1
                local["acknowledged"].append(acknowledged)
            else:
                local["errors"] += 1
        with self.stats["lock"]:
            for key in ("next", "submit", "acknowledged", "handed"):
                self.stats[key].extend(local[key])
            for key in ("cycles", "errors", "empty"):
                self.stats[key] += local[key]


def _cpu_total(processes, reaped=False):
    import psutil

    seconds = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            seconds += t.user + t.system + (t.children_user + t.children_system if reaped else 0.0)
        except psutil.NoSuchProcess:
            pass
    return seconds


def tree_cpu_seconds(pid):
    """CPU seconds of a process and all its descendants, including children that have already exited
    and been reaped (a PostgreSQL backend that served one short connection, say)."""
    import psutil

    try:
        root = psutil.Process(pid)
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    return _cpu_total([root], reaped=True) + _cpu_total(children, reaped=True)


def own_cpu_seconds():
    """This process's CPU seconds (the load generator's), without its children (the servers it started)."""
    import psutil

    return _cpu_total([psutil.Process()])


def cpu_seconds(procs, with_postgres):
    """CPU seconds used so far, per component: the web server and the worker (each with its child
    processes), this load generator, and, on PostgreSQL, its server processes (all of them: the
    machine is the benchmark's alone). Says where each cycle's CPU goes on the shared cores."""
    import psutil

    usage = {"web": tree_cpu_seconds(procs[0].pid), "worker": tree_cpu_seconds(procs[1].pid) if len(procs) > 1 else 0.0,
             "load_generator": own_cpu_seconds()}
    if with_postgres:
        usage["postgres"] = _cpu_total(p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres"))
    return usage


def run_level(port, tokens, concurrency, seconds, procs, with_postgres, labeler=Labeler, cpu=None, settle=None):
    """One closed-loop level. `cpu()` returns CPU seconds so far by component (default: cpu_seconds);
    `settle()`, if given, waits after the loop (for a worker to finish its queue) before CPU is read again."""
    cpu = cpu or (lambda: cpu_seconds(procs, with_postgres))
    stats = {"lock": threading.Lock(), "next": [], "submit": [], "acknowledged": [], "handed": [], "cycles": 0, "errors": 0,
             "empty": 0}
    cpu_before = cpu()
    start = time.monotonic()
    threads = [labeler(port, tokens[i], start + seconds, stats) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if settle:
        settle()
    cpu_after = cpu()
    per_cycle = lambda part: round(1000 * (cpu_after[part] - cpu_before[part]) / max(stats["cycles"], 1), 1)  # noqa: E731
    ms = lambda v: round(v * 1000, 1) if v is not None else None  # noqa: E731
    return {
        "concurrency": concurrency, "seconds": round(elapsed, 2), "cycles": stats["cycles"],
        "calls": len(stats["next"]) + len(stats["submit"]),
        "cycles_per_second": round(stats["cycles"] / elapsed, 1), "errors": stats["errors"], "ran_out_of_tasks": stats["empty"] > 0,
        **{f"{ep}_p{q}_ms": ms(percentile(stats[ep], q)) for ep in ("next", "submit") for q in (50, 95, 99)},
        **{f"cpu_ms_per_cycle_{part}": per_cycle(part) for part in cpu_before},
        "tasks_handed_to_two": handed_to_two(stats["handed"]), "acknowledged": stats["acknowledged"],
    }


def handed_to_two(handed):
    """Tasks that `next` gave to more than one labeler, from (task id, labeler) pairs as the labelers saw them."""
    holders = {}
    for task_id, labeler in handed:
        holders.setdefault(task_id, set()).add(labeler)
    return sum(1 for who in holders.values() if len(who) > 1)


def check_integrity(acknowledged_assignment_ids):
    from django.db.models import Count, F, Q

    from labeling.models import Assignment, Ranking, Task

    saved = set(Ranking.objects.filter(assignment_id__in=acknowledged_assignment_ids).values_list("assignment_id", flat=True))
    lost = len(set(acknowledged_assignment_ids) - saved)
    over = Task.objects.annotate(active=Count("assignments", filter=Q(assignments__state__in=["leased", "submitted"]))).filter(
        active__gt=F("labelers_required")).count()
    double = Ranking.objects.values("task", "labeler").annotate(n=Count("id")).filter(n__gt=1).count()
    return {"submissions_lost": lost, "tasks_leased_beyond_need": over, "labeler_got_task_twice": double,
            "rankings_saved": Ranking.objects.count(), "assignments": Assignment.objects.count()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'load.sqlite3'}"))
    parser.add_argument("--concurrency", default="1,8,32,64", help="comma-separated labeler counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each level")
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--labelers-required", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-worker", action="store_true", help="don't run a Celery worker beside the web server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "labeling_load.json"))
    args = parser.parse_args(argv)
    try:
        levels = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        parser.error("--concurrency takes comma-separated integers, e.g. 1,8,32,64")
    if min(levels) < 1 or args.tasks < 1 or not 2 <= args.k <= 9:
        parser.error("concurrency and tasks must be positive and k in 2..9")

    from broker import ensure_redis, free_port

    redis_url, redis_process = ensure_redis(ROOT / "var" / "load-redis")
    tokens = setup_database(args.database_url, max(levels), args.tasks, args.k, args.labelers_required)
    from django.db import connection  # configured by setup_database
    port = args.port or free_port()
    procs = start_processes(args.database_url, redis_url, port, args.web_workers, args.threads, not args.no_worker)
    results, acknowledged = [], []
    try:
        for level in levels:
            # Fresh statistics before each level, as auto-analyze keeps a live database's within a minute.
            # Without them, after the bulk load PostgreSQL guesses 3 open tasks instead of 20,000 and sorts
            # the whole queue on every `next`; and as the assignments table, empty at the start, grows by
            # thousands of rows a level, it walks every assignment instead of using the labeler's index.
            analyze()
            row = run_level(port, tokens, level, args.seconds, procs, connection.vendor == "postgresql")
            acknowledged += row.pop("acknowledged")
            results.append(row)
        time.sleep(1)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        if redis_process:
            redis_process.terminate()

    integrity = check_integrity(acknowledged)
    report = {"database": connection.vendor, "web_workers": args.web_workers, "threads": args.threads,
              "celery_worker": not args.no_worker, "cpu_count": os.cpu_count(), "levels": results, **integrity,
              "target": ">= 150 cycles/s at 32 labelers, p99 < 250 ms"}
    columns = ["concurrency", "cycles_per_second", "next_p50_ms", "next_p95_ms", "next_p99_ms", "submit_p50_ms",
               "submit_p95_ms", "submit_p99_ms", "errors"]
    print(f"database: {connection.vendor}")
    print(" ".join(f"{c:>17s}" for c in columns))
    for row in results:
        print(" ".join(f"{str(row[c]):>17s}" for c in columns))
    parts = [c for c in results[0] if c.startswith("cpu_ms_per_cycle_")]
    print("CPU ms per cycle: " + " ".join(f"{c.removeprefix('cpu_ms_per_cycle_'):>15s}" for c in parts))
    for row in results:
        print(f"{row['concurrency']:>16d}: " + " ".join(f"{row[c]:>15.1f}" for c in parts))
    for key, value in integrity.items():
        print(f"{key}: {value}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    bad = integrity["submissions_lost"] or integrity["tasks_leased_beyond_need"] or integrity["labeler_got_task_twice"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
