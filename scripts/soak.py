#!/usr/bin/env python
"""Soak test: simulated labelers rank answers over HTTP for N minutes while faults are injected at
random (the broker stopped and started again, the pair-expansion worker SIGKILLed and restarted).
At the end the broker and worker are healthy again, the sweep runs (as celery beat would), and the
ledger of what the API acknowledged is checked against the database.

    scripts/soak.py --minutes 10 [--labelers 4] [--seed 1] [--json report.json]

Everything runs on private services it starts itself: a redis-server (platform/broker.py), a
PostgreSQL cluster in a temp dir (SQLite with --sqlite, or when PostgreSQL isn't installed),
gunicorn, and a Celery worker. The machine's own PostgreSQL and Redis are never touched.

Prints the report (submitted, acknowledged, saved, lost, pairs expected, pairs written, duplicate
pairs, faults injected, answers by status) and exits 1 unless nothing was lost: lost = 0, every
pair written exactly once, no 500.
"""

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from tests.reliability.labelers import Ledger, check_against_database, run_labelers, seed_ranking_tasks, token_for  # noqa: E402
from tests.reliability.services import (LiveServer, PrivatePostgres, PrivateRedis, Worker, manage,  # noqa: E402
                                        platform_env, send_task)

USERS = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from accounts.roles import ensure_roles
ensure_roles()
for name, role in {users!r}:
    user = get_user_model().objects.create_user(name, password="a-Long-passw0rd")
    user.groups.add(Group.objects.get(name=role))
"""
SWEEP = "labeling.tasks.sweep_unexpanded_rankings"


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Soak:
    def __init__(self, args):
        self.args, self.rng = args, random.Random(args.seed)
        self.redis = PrivateRedis().start()
        self.postgres, self.sqlite_path = None, None
        if args.sqlite:
            self.sqlite_path = Path(tempfile.mkdtemp(prefix="rlhf-soak-")) / "soak.sqlite3"
            database_url = f"sqlite:///{self.sqlite_path}"
        else:
            self.postgres = PrivatePostgres().init()
            database_url = self.postgres.url
        self.env = platform_env(DATABASE_URL=database_url, REDIS_URL=self.redis.url, CELERY_BROKER_URL=self.redis.url,
                                CELERY_RESULT_BACKEND=self.redis.url, DEBUG="1", LOGIN_THROTTLE_RATE="100000/min",
                                LOG_LEVEL="ERROR",
                                # a killed worker's unacknowledged task comes back after this (the sweep covers the rest)
                                CELERY_VISIBILITY_TIMEOUT="15")
        manage("migrate", "--noinput", env=self.env)
        labelers = [(f"soak-labeler-{i}", "labeler") for i in range(args.labelers)]
        manage("shell", "-c", USERS.format(users=labelers + [("soak-admin", "admin")]), env=self.env)
        self.server = LiveServer(self.env, workers=2, threads=4).wait_ready()
        self.worker = Worker(self.env).wait_ready()
        self.admin_token = token_for(self.server.url, "soak-admin")
        self.tokens = [token_for(self.server.url, name) for name, _ in labelers]
        self.seeded, self.faults = 0, Counter()

    def connect(self):
        if self.sqlite_path:
            connection = sqlite3.connect(self.sqlite_path)
            return _ClosingSqlite(connection)
        import psycopg

        return psycopg.connect(self.postgres.url.replace("postgres://", "postgresql://"))

    def top_up(self, ledger):
        """Keep a few hundred tasks waiting (through the import API, so only while it answers)."""
        if self.seeded - ledger.submitted < 150:
            try:
                seed_ranking_tasks(self.server.url, self.admin_token, 300, k=self.rng.choice([4, 5, 6]),
                                   batch=f"soak-{self.seeded}")
                self.seeded += 300
            except Exception as exc:  # noqa: BLE001  (a fault may be under way; try again next round)
                log(f"seeding failed for now: {exc}")

    def inject_fault(self):
        fault = self.rng.choice(["broker", "worker", "broker", "worker", "both"])
        self.faults[fault] += 1
        if fault in ("broker", "both"):
            log("fault: broker stopped")
            self.redis.stop()
        if fault in ("worker", "both"):
            log("fault: worker SIGKILLed")
            self.worker.kill()
        time.sleep(self.rng.uniform(1, 5))
        if fault in ("broker", "both"):
            self.redis.start()
            log("broker back")
        if fault in ("worker", "both"):
            self.worker = Worker(self.env).wait_ready()
            log("worker back")

    def run(self):
        ledger, stop = Ledger(), threading.Event()
        self.top_up(ledger)
        labelers = run_labelers(self.server.url, self.tokens, ledger, stop, retry_for=120, pause=self.args.pause,
                                wait_when_idle=True)
        started = time.monotonic()
        end = started + self.args.minutes * 60
        next_fault = started + self.rng.uniform(3, self.args.fault_every)
        next_sweep = started + 30
        while time.monotonic() < end:
            self.top_up(ledger)
            if time.monotonic() >= next_fault:
                self.inject_fault()
                next_fault = time.monotonic() + self.rng.uniform(self.args.fault_every / 2, self.args.fault_every)
            if time.monotonic() >= next_sweep:  # celery beat's job, every 30 s here
                try:
                    send_task(self.redis.url, SWEEP)
                except Exception:  # noqa: BLE001  (broker down right now; next round)
                    pass
                next_sweep = time.monotonic() + 30
            time.sleep(0.5)
        stop.set()
        for labeler in labelers:
            labeler.join(timeout=150)
        elapsed = time.monotonic() - started
        return ledger, elapsed

    def settle(self, timeout=90):
        """Healthy services, one sweep, and wait until every ranking has its pairs."""
        if not self.redis.running:
            self.redis.start()
        if self.worker.process.poll() is not None:
            self.worker = Worker(self.env).wait_ready()
        send_task(self.redis.url, SWEEP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM labeling_ranking WHERE pairs_expanded_at IS NULL")
                if cur.fetchone()[0] == 0:
                    return True
            time.sleep(1)
        return False

    def close(self):
        for stop in (self.server.stop, self.worker.stop, self.redis.stop):
            try:
                stop()
            except Exception:  # noqa: BLE001
                pass
        if self.postgres:
            self.postgres.destroy()


class _ClosingSqlite:
    """sqlite3 with the `with conn, conn.cursor()` shape psycopg has."""

    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.connection.close()

    def cursor(self):
        return _Cursor(self.connection.cursor())


class _Cursor:
    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        return self.cursor

    def __exit__(self, *exc):
        self.cursor.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--labelers", type=int, default=4)
    parser.add_argument("--fault-every", type=float, default=20.0, help="seconds between faults, at most (random)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds a labeler waits between tasks")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of a private PostgreSQL")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)

    soak = Soak(args)
    try:
        log(f"running {args.minutes} min with {args.labelers} labelers on {soak.server.url}")
        ledger, elapsed = soak.run()
        settled = soak.settle()
        report = check_against_database(ledger, soak.connect)
        statuses = Counter(str(s) for _, _, s in ledger.statuses)
        report.update({"minutes": round(elapsed / 60, 2), "faults": dict(soak.faults), "answers": dict(statuses),
                       "server_errors": sum(n for s, n in statuses.items() if s.startswith("5") and s != "503"),
                       "settled": settled, "refused_examples": ledger.refused[:3],
                       "submissions_per_second": round(report["acknowledged"] / max(elapsed, 1e-9), 1)})
    finally:
        soak.close()
    ok = (report["lost"] == 0 and report["pairs_written"] == report["pairs_expected"] and report["duplicate_pairs"] == 0
          and report["server_errors"] == 0 and report["refused"] == 0 and settled)
    report["ok"] = ok
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
