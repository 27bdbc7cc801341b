"""The labeling API beside Label Studio, in one run: the same closed loop of C labelers (`next` -> submit a
K = 4 ranking) against each system in turn, level by level, on the same machine and database server.

    python benchmarks/labeling_vs_label_studio.py [--levels 1,8,32] [--seconds 30]
    (the first run installs Label Studio 1.23 in var/label-studio-venv: benchmarks/label_studio/setup.sh)
    python benchmarks/labeling_vs_label_studio.py --systems platform --levels 1 --seconds 2 --tasks 60   # no LS

Both systems get the same prompts and answers (labeling_load.make_items) and one labeler per task
(Label Studio: overlap 1; the platform: labelers_required 1), and both run in their production shape:
- the platform: gunicorn (production settings) and its Celery worker expanding pairs (labeling_load.py);
- Label Studio 1.23, its own virtualenv, gunicorn with 4 workers on `core.wsgi` with persistent database
  connections (benchmarks/label_studio/ls_wsgi.py), legacy API tokens, users made through its ORM, a
  ranking project from its LLM Ranker template (benchmarks/label_studio/bench_setup.py), tasks through its
  import API; calls `GET /api/projects/{id}/next` and `POST /api/tasks/{id}/annotations/`.

Both use one private PostgreSQL cluster that this script creates (initdb under var/, its own port) and
removes, with pg_stat_statements loaded. Private, so that what it measures is this benchmark's alone on a
machine others share:
- CPU ms per cycle by process: each server's process tree (gunicorn, the Celery worker, the postmaster
  with its backends), read with psutil before and after each level, counting children that have exited
  too (a backend that served one short-lived connection is reaped by the postmaster into its own
  children times), and after the loop ends the worker is given time to finish its queue.
- SQL statements: pg_stat_statements, reset before each level, per database and role (the platform's
  worker connects as its own role). "SQL per call" is the statements the web server sent over its `next`
  and submit calls; transaction control (BEGIN, COMMIT, SAVEPOINT, ...) and PostgreSQL's own foreign-key
  checks are counted apart; the worker's are per cycle. No instrumentation runs inside either system.
- New PostgreSQL connections per cycle, web and worker: `connection authorized` lines in the cluster's
  log (log_connections), counted per database and role over each level.
- Tasks handed to two labelers at once: task ids that `next` gave to more than one labeler in a level
  (one labeler per task, so any is a double hand-out), as the labelers saw them; and at the end, from each
  database, tasks with more than one annotation / ranking, and acknowledged submissions not saved.

Writes benchmarks/results/labeling_vs_label_studio.json and .md (the table). The load generator runs on
the same cores as the servers; its CPU is reported but not counted as the server's.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks")]

import labeling_load  # noqa: E402  (benchmarks/ is on sys.path: a sibling script)

LS_DIR = ROOT / "benchmarks" / "label_studio"
DEFAULT_LS_VENV = ROOT / "var" / "label-studio-venv"
PLATFORM_DB, LS_DB, WORKER_ROLE = "rlhf_platform_bench", "label_studio_bench", "platform_worker"
# PostgreSQL's own foreign-key checks (RI triggers) show up in pg_stat_statements too: counted apart.
FOREIGN_KEY_CHECK = re.compile(r'SELECT \$\d+ FROM ONLY "[^"]+"\."[^"]+" x WHERE .* FOR KEY SHARE OF x$', re.S)
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START|SET|SHOW|DISCARD|DEALLOCATE)\b", re.I)
SYSTEMS = ("platform", "label_studio")
NAMES = {"platform": "platform", "label_studio": "Label Studio 1.23"}


# ---------------------------------------------------------------- the private PostgreSQL cluster

class PrivateCluster:
    """A throw-away PostgreSQL cluster under var/, with pg_stat_statements, on its own port.

    initdb refuses to run as root, so as root the server runs as the `postgres` user."""

    def __init__(self, pg_bin, port):
        self.pg_bin, self.port = Path(pg_bin), port
        self.dir = ROOT / "var" / f"bench-pg-{os.getpid()}"
        self.as_root = os.geteuid() == 0

    def _run(self, *cmd, check=True):
        cmd = [str(self.pg_bin / cmd[0]), *cmd[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if check and done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")

    def start(self):
        if not (self.pg_bin / "initdb").exists():
            raise SystemExit(f"no initdb in {self.pg_bin}: pass --pg-bin (PostgreSQL's bin folder)")
        self.dir.mkdir(parents=True)
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                   "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=10000 "
                   "-c pg_stat_statements.track=top -c max_connections=200 -c log_connections=on")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-o", options, "-w", "start")
        self.postmaster_pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        self.sql("CREATE EXTENSION pg_stat_statements")
        self.sql(f"CREATE ROLE {WORKER_ROLE} SUPERUSER LOGIN")
        for name in (PLATFORM_DB, LS_DB):
            self.sql(f"CREATE DATABASE {name}")
        return self

    def url(self, database, user="postgres"):
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement, params=None, database="postgres"):
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def statements(self, database):
        """(role, query, calls) for every statement run in this database since the last reset."""
        return self.sql("SELECT r.rolname, s.query, s.calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                        "JOIN pg_roles r ON r.oid = s.userid WHERE d.datname = %s", (database,))

    def log_size(self):
        return (self.dir / "server.log").stat().st_size

    def connections_since(self, offset, database):
        """Connections opened to this database since `offset` in the server log, by role (log_connections)."""
        with open(self.dir / "server.log", "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
        counts = {}
        for role in re.findall(rf"connection authorized: user=(\S+) database={database}\b", text):
            counts[role] = counts.get(role, 0) + 1
        return counts

    def stop(self):
        """Stops the server if it runs, and removes the cluster, whatever state start() left it in."""
        if (self.dir / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def count_statements(rows, worker_role=WORKER_ROLE):
    """pg_stat_statements rows -> statements by who ran them (web / worker) and kind: sql (what the
    application sent), transaction_control (BEGIN, COMMIT, ...), foreign_key_check (run by PostgreSQL)."""
    counts = {f"{who}_{kind}": 0 for who in ("web", "worker") for kind in ("sql", "transaction_control", "foreign_key_check")}
    for role, query, calls in rows:
        who = "worker" if role == worker_role else "web"
        kind = ("transaction_control" if TRANSACTION_CONTROL.match(query)
                else "foreign_key_check" if FOREIGN_KEY_CHECK.match(query) else "sql")
        counts[f"{who}_{kind}"] += calls
    return counts


# ---------------------------------------------------------------- Label Studio

class LabelStudioLabeler(labeling_load.Labeler):
    """The same labeler, speaking Label Studio's API: next task, then an annotation ranking its K answers."""

    project = None  # set by LabelStudio.start
    no_task_status = 404

    def fetch(self):
        status, body = self.call("GET", f"/api/projects/{self.project}/next/")
        if status != 200:
            return status, None, None
        task = json.loads(body)
        return status, task, task["id"]

    def submit(self, task):
        order = [item["id"] for item in task["data"]["items"]]
        self.rng.shuffle(order)
        result = [{"from_name": "rank", "to_name": "answers", "type": "ranker", "value": {"ranker": {"answers": order}}}]
        status, body = self.call("POST", f"/api/tasks/{task['id']}/annotations/",
                                 {"result": result, "lead_time": 1.0, "was_cancelled": False, "ground_truth": False})
        return status, json.loads(body)["id"] if status == 201 else None


class LabelStudio:
    def __init__(self, venv, workers):
        self.venv, self.workers, self.process = Path(venv), workers, None
        if not (self.venv / "bin" / "gunicorn").exists() and self.venv == DEFAULT_LS_VENV:
            # one command end to end: the default venv is ours to create (a venv named by --ls-venv is not)
            progress(f"Label Studio is not installed in {self.venv}: installing it (benchmarks/label_studio/setup.sh)")
            subprocess.run([str(ROOT / "benchmarks" / "label_studio" / "setup.sh"), str(self.venv)])
        if not (self.venv / "bin" / "gunicorn").exists():
            raise SystemExit(f"Label Studio is not installed in {self.venv}: run benchmarks/label_studio/setup.sh "
                             f"{self.venv} (or pass --systems platform)")
        found = subprocess.run([str(self.venv / "bin" / "python"), "-c",
                                "import label_studio, os; print(os.path.dirname(label_studio.__file__), "
                                "label_studio.__version__)"], capture_output=True, text=True, check=True)
        self.package, self.version = found.stdout.split()

    def start(self, cluster, n_labelers, items, port):
        progress("Label Studio: migrating its database, making users and the project")
        self.cluster = cluster
        data = ROOT / "var" / "label-studio-data"
        shutil.rmtree(data, ignore_errors=True)
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV")}
        self.env.update(DJANGO_DB="default", POSTGRE_NAME=LS_DB, POSTGRE_USER="postgres", POSTGRE_PASSWORD="",
                        POSTGRE_HOST="127.0.0.1", POSTGRE_PORT=str(cluster.port), LABEL_STUDIO_BASE_DATA_DIR=str(data),
                        DJANGO_SETTINGS_MODULE="core.settings.label_studio", DEBUG="false", LOG_LEVEL="ERROR",
                        SENTRY_DSN="", FRONTEND_SENTRY_DSN="", COLLECT_ANALYTICS="false", LATEST_VERSION_CHECK="false",
                        PYTHONPATH=f"{self.package}:{LS_DIR}")
        setup = subprocess.run([str(self.venv / "bin" / "python"), str(LS_DIR / "bench_setup.py"), "--labelers",
                                str(n_labelers)], env=self.env, capture_output=True, text=True, cwd=self.package)
        if setup.returncode:
            raise RuntimeError("Label Studio set-up failed:\n" + setup.stderr[-4000:])
        made = json.loads(setup.stdout.strip().splitlines()[-1])
        self.port, self.project, self.tokens = port, made["project"], made["tokens"]
        logs = ROOT / "var" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(self.venv / "bin" / "gunicorn"), "ls_wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(self.workers), "--log-level", "warning", "--timeout", "120"],
            cwd=self.package, env=self.env, stdout=open(logs / "label-studio-web.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for_http(port, "/api/version", "var/logs/label-studio-web.log")
        started = time.monotonic()
        self.import_tasks(made["owner_token"], items)
        progress(f"Label Studio: {len(items)} tasks imported through its API in {time.monotonic() - started:.0f} s")
        LabelStudioLabeler.project = self.project
        return self.tokens

    def import_tasks(self, owner_token, items, chunk=2000):
        """Through Label Studio's import API, as a user would; the same prompts and answers as the platform's."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        for start in range(0, len(items), chunk):
            tasks = [{"prompt": prompt, "items": [{"id": f"a{j}", "title": f"Answer {j + 1}", "body": answer}
                                                  for j, answer in enumerate(answers)]}
                     for prompt, answers in items[start:start + chunk]]
            conn.request("POST", f"/api/projects/{self.project}/import", body=json.dumps(tasks),
                         headers={"Authorization": f"Token {owner_token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 201:
                raise RuntimeError(f"Label Studio import failed ({response.status}): {body[:500]!r}")
        conn.close()

    def integrity(self, acknowledged):
        annotated_twice = self.cluster.sql(
            "SELECT count(*) FROM (SELECT task_id FROM task_completion GROUP BY task_id HAVING count(*) > 1) t",
            database=LS_DB)[0][0]
        saved = self.cluster.sql("SELECT count(*) FROM task_completion WHERE id = ANY(%s)", (list(acknowledged),),
                                 database=LS_DB)[0][0]
        return {"submissions_lost": len(set(acknowledged)) - saved, "tasks_annotated_twice": annotated_twice}

    def stop(self):
        stop_process(self.process)


def progress(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_for_http(port, path, log, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server on port {port} did not come up; see {log}")


def stop_process(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


# ---------------------------------------------------------------- one level, one system

def settle(cpu, quiet_ms=5.0, step=0.5, limit=30.0):
    """Wait until no component uses CPU any more (the worker has finished its queue), at most `limit` s."""
    deadline, before = time.monotonic() + limit, cpu()
    while time.monotonic() < deadline:
        time.sleep(step)
        now = cpu()
        if sum(now[k] - before[k] for k in now if k != "load_generator") * 1000 < quiet_ms:
            return
        before = now


def measure(system, level, seconds, cluster, database, port, tokens, processes, labeler):
    """One closed-loop level against one system: timings, CPU by process, statements, double hand-outs."""
    def cpu():
        usage = {name: labeling_load.tree_cpu_seconds(p.pid) for name, p in processes.items()}
        usage["postgres"] = labeling_load.tree_cpu_seconds(cluster.postmaster_pid)
        usage["load_generator"] = labeling_load.own_cpu_seconds()
        return usage

    # Fresh planner statistics, as auto-analyze keeps a live database's (see labeling_load.main).
    cluster.sql("ANALYZE", database=database)
    cluster.sql("SELECT pg_stat_statements_reset()")
    log_offset = cluster.log_size()
    row = labeling_load.run_level(port, tokens, level, seconds, None, False, labeler=labeler, cpu=cpu,
                                  settle=lambda: settle(cpu))
    connections = cluster.connections_since(log_offset, database)
    statements = cluster.statements(database)
    counts = count_statements(statements)
    cycles, calls = max(row["cycles"], 1), max(row["calls"], 1)
    row.update({
        "system": system, "statements": counts,
        "most_run_statements": [{"role": role, "calls": n, "query": query[:160]}
                                for role, query, n in sorted(statements, key=lambda r: -r[2])[:12]],
        "sql_per_call_web": round(counts["web_sql"] / calls, 1),
        "transaction_control_per_call_web": round(counts["web_transaction_control"] / calls, 1),
        "foreign_key_checks_per_call_web": round(counts["web_foreign_key_check"] / calls, 1),
        "sql_per_cycle_worker": round(counts["worker_sql"] / cycles, 1),
        "transaction_control_per_cycle_worker": round(counts["worker_transaction_control"] / cycles, 1),
        # New PostgreSQL connections: with persistent ones, none once the servers are warm.
        "new_connections_per_cycle_web": round(sum(n for r, n in connections.items() if r != WORKER_ROLE) / cycles, 2),
        "new_connections_per_cycle_worker": round(connections.get(WORKER_ROLE, 0) / cycles, 2),
    })
    row["cpu_ms_per_cycle_server"] = round(sum(row.get(f"cpu_ms_per_cycle_{p}", 0.0) for p in ("web", "worker", "postgres")), 1)
    return row


# ---------------------------------------------------------------- the report

def ratios(levels):
    """Platform over Label Studio at each labeler count, where both ran."""
    out = []
    for c in sorted({r["concurrency"] for r in levels}):
        by = {r["system"]: r for r in levels if r["concurrency"] == c}
        if set(SYSTEMS) <= by.keys() and by["label_studio"]["cycles_per_second"] and by["platform"]["cpu_ms_per_cycle_server"]:
            p, ls = by["platform"], by["label_studio"]
            out.append({"concurrency": c, "cycles_per_second": round(p["cycles_per_second"] / ls["cycles_per_second"], 2),
                        "server_cpu_per_cycle": round(ls["cpu_ms_per_cycle_server"] / p["cpu_ms_per_cycle_server"], 2)})
    return out


def markdown(report):
    """The comparison as Markdown tables: one row per labeler count and system, then the ratios."""
    def ms(row, call):
        return " / ".join(f"{row[f'{call}_p{q}_ms']:,.0f}" if row[f"{call}_p{q}_ms"] is not None else "–"
                          for q in (50, 95, 99))

    def cpu(row, part):
        value = row.get(f"cpu_ms_per_cycle_{part}")
        return "–" if value is None or (part == "worker" and row["system"] == "label_studio") else f"{value:.1f}"

    def worker_sql(row):
        return "–" if row["system"] == "label_studio" else f"{row['sql_per_cycle_worker']:.1f}"

    def connections(row):
        worker = "–" if row["system"] == "label_studio" else f"{row.get('new_connections_per_cycle_worker', 0):.2f}"
        return f"{row.get('new_connections_per_cycle_web', 0):.2f} / {worker}"

    lines = [f"Machine: {report['machine']}. {report['seconds_per_level']:g} s per level, K = {report['k']}, one labeler per "
             f"task, PostgreSQL {report['postgres']} (private cluster, shared by both), {report['started']}.", "",
             "| labelers | system | cycles/s | next p50 / p95 / p99 ms | submit p50 / p95 / p99 ms | CPU ms per cycle: "
             "web / worker / PostgreSQL = server | SQL per call (web) | SQL per cycle (worker) | new DB connections per cycle "
             "(web / worker) | tasks handed to two | errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["levels"]:
        lines.append(
            f"| {row['concurrency']} | {NAMES[row['system']]} | {row['cycles_per_second']:.1f} | {ms(row, 'next')} | "
            f"{ms(row, 'submit')} | {cpu(row, 'web')} / {cpu(row, 'worker')} / {cpu(row, 'postgres')} = "
            f"**{row['cpu_ms_per_cycle_server']:.1f}** | {row['sql_per_call_web']:.1f} "
            f"(+{row['transaction_control_per_call_web']:.1f} tx) | "
            f"{worker_sql(row)} | {connections(row)} | {row['tasks_handed_to_two']} | {row['errors']} |")
    if report["ratios"]:
        lines += ["", "| labelers | platform / Label Studio cycles/s | Label Studio / platform server CPU per cycle |",
                  "|---|---|---|"]
        lines += [f"| {r['concurrency']} | {r['cycles_per_second']:.2f}× | {r['server_cpu_per_cycle']:.2f}× |"
                  for r in report["ratios"]]
    short = [f"{NAMES[r['system']]} at {r['concurrency']}" for r in report["levels"] if r["ran_out_of_tasks"]]
    if short:
        lines += ["", f"**Ran out of tasks** ({', '.join(short)}): those levels stopped early; rerun with more --tasks."]
    lines += ["", "Integrity at the end: " + "; ".join(f"{NAMES[s]}: {', '.join(f'{k} {v}' for k, v in i.items())}"
                                                      for s, i in report["integrity"].items()), ""]
    return "\n".join(lines)


def machine():
    import platform as stdlib_platform

    import psutil

    return f"{stdlib_platform.node()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB"


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,8,32", help="comma-separated labeler counts")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each level, per system")
    parser.add_argument("--tasks", type=int, default=20000, help="ranking tasks seeded in each system")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="platform,label_studio or one of them")
    parser.add_argument("--web-workers", type=int, default=3, help="the platform's gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per platform gunicorn worker")
    parser.add_argument("--ls-workers", type=int, default=4, help="Label Studio's gunicorn workers")
    parser.add_argument("--ls-venv", default=str(DEFAULT_LS_VENV))
    parser.add_argument("--pg-bin", default=None, help="PostgreSQL's bin folder (initdb, pg_ctl); found if not given")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "labeling_vs_label_studio.json"))
    args = parser.parse_args(argv)
    try:
        levels = [int(c) for c in args.levels.split(",")]
    except ValueError:
        parser.error("--levels takes comma-separated integers, e.g. 1,8,32")
    systems = [s for s in args.systems.split(",") if s]
    if not systems or set(systems) - set(SYSTEMS):
        parser.error(f"--systems: one or both of {','.join(SYSTEMS)}")
    if min(levels) < 1 or args.tasks < 1 or not 2 <= args.k <= 9 or args.seconds <= 0:
        parser.error("levels, tasks and seconds must be positive and k in 2..9")
    pg_bin = args.pg_bin or next((str(p.parent) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)
    if pg_bin is None and shutil.which("initdb"):
        pg_bin = str(Path(shutil.which("initdb")).parent)
    if pg_bin is None:
        parser.error("PostgreSQL's initdb was not found: pass --pg-bin")
    label_studio = LabelStudio(args.ls_venv, args.ls_workers) if "label_studio" in systems else None

    from broker import ensure_redis, free_port

    # A plain SIGTERM (`timeout`, a CI runner) would skip the clean-up below and leave the servers running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = PrivateCluster(pg_bin, free_port())
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    redis_process, platform_procs = None, []
    results, acknowledged = [], {s: [] for s in systems}
    try:
        cluster.start()
        items = labeling_load.make_items(args.tasks, args.k)
        runs = {}
        if "platform" in systems:
            progress("platform: seeding its database, starting gunicorn and the Celery worker")
            redis_url, redis_process = ensure_redis(ROOT / "var" / "load-redis")
            tokens = labeling_load.setup_database(cluster.url(PLATFORM_DB), max(levels), args.tasks, args.k, 1)
            port = free_port()
            platform_procs = labeling_load.start_processes(cluster.url(PLATFORM_DB), redis_url, port, args.web_workers,
                                                           args.threads, True, cluster.url(PLATFORM_DB, WORKER_ROLE))
            runs["platform"] = (PLATFORM_DB, port, tokens, {"web": platform_procs[0], "worker": platform_procs[1]},
                                labeling_load.Labeler)
        if label_studio:
            port = free_port()
            tokens = label_studio.start(cluster, max(levels), items, port)
            runs["label_studio"] = (LS_DB, port, tokens, {"web": label_studio.process}, LabelStudioLabeler)
        for level in levels:
            for system in systems:
                database, port, tokens, processes, labeler = runs[system]
                row = measure(system, level, args.seconds, cluster, database, port, tokens, processes, labeler)
                acknowledged[system] += row.pop("acknowledged")
                results.append(row)
                print(f"{NAMES[system]:>18s} C={level:<3d} {row['cycles_per_second']:7.1f} cycles/s  server CPU "
                      f"{row['cpu_ms_per_cycle_server']:6.1f} ms/cycle  SQL/call {row['sql_per_call_web']:5.1f}  "
                      f"handed to two {row['tasks_handed_to_two']}  errors {row['errors']}", flush=True)
        integrity = {}
        if "platform" in systems:
            integrity["platform"] = labeling_load.check_integrity(acknowledged["platform"])
        if label_studio:
            integrity["label_studio"] = label_studio.integrity(acknowledged["label_studio"])
        postgres = cluster.sql("SHOW server_version")[0][0]
    finally:
        for p in platform_procs:
            stop_process(p)
        if label_studio and label_studio.process:
            label_studio.stop()
        if redis_process:
            redis_process.terminate()
        cluster.stop()

    report = {"machine": machine(), "started": started, "seconds_per_level": args.seconds, "k": args.k, "tasks": args.tasks,
              "postgres": postgres, "label_studio_version": label_studio.version if label_studio else None,
              "platform_web": f"gunicorn {args.web_workers} workers x {args.threads} threads + Celery worker",
              "label_studio_web": f"gunicorn {args.ls_workers} workers, CONN_MAX_AGE 600",
              "statements_method": "pg_stat_statements (track=top) on a private cluster, reset before each level",
              "levels": results, "ratios": ratios(results), "integrity": integrity}
    table = markdown(report)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(table)
    bad = any(row["tasks_handed_to_two"] for row in results if row["system"] == "platform") or any(
        i.get("submissions_lost") or i.get("tasks_leased_beyond_need") or i.get("labeler_got_task_twice")
        for s, i in integrity.items() if s == "platform")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
