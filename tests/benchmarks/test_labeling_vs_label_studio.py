"""The Label Studio comparison without Label Studio: its platform half runs end to end on the private
PostgreSQL cluster it creates (pg_stat_statements, CPU by process tree), and the report functions are
checked on what PostgreSQL and the labelers really produce. Label Studio itself is never installed here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import labeling_load  # noqa: E402
import labeling_vs_label_studio as bench  # noqa: E402


def run(args, tmp_path, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "benchmarks/labeling_vs_label_studio.py", *args, "--out", str(tmp_path / "r.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_platform_half_runs_tiny_and_writes_its_table(tmp_path):
    result = run(["--systems", "platform", "--levels", "1,2", "--seconds", "1.5", "--tasks", "600", "--web-workers", "1"],
                 tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(r["system"], r["concurrency"]) for r in report["levels"]] == [("platform", 1), ("platform", 2)]
    assert report["integrity"]["platform"]["submissions_lost"] == 0
    assert report["integrity"]["platform"]["tasks_leased_beyond_need"] == 0
    for row in report["levels"]:
        assert row["cycles"] > 0 and row["errors"] == 0 and row["tasks_handed_to_two"] == 0
        # Every process did its share and PostgreSQL saw the statements: web per call, the worker's pair
        # expansion per cycle (it connects as its own role, so the two are told apart).
        assert row["cpu_ms_per_cycle_web"] > 0 and row["cpu_ms_per_cycle_postgres"] > 0
        assert row["cpu_ms_per_cycle_worker"] > 0
        assert row["sql_per_call_web"] >= 3 and row["sql_per_cycle_worker"] >= 1
        assert row["transaction_control_per_call_web"] > 0
    # The servers' first connections at least, read from the cluster's log.
    assert sum(r["new_connections_per_cycle_web"] + r["new_connections_per_cycle_worker"] for r in report["levels"]) > 0
    table = (tmp_path / "r.md").read_text()
    assert "| 1 | platform |" in table and "| 2 | platform |" in table
    assert not list((ROOT / "var").glob(f"bench-pg-{os.getpid()}*"))  # the private cluster is gone


def test_a_missing_label_studio_is_a_clear_error(tmp_path):
    result = run(["--levels", "1", "--seconds", "1", "--ls-venv", str(tmp_path / "nowhere")], tmp_path, timeout=60)
    assert result.returncode != 0
    assert "Label Studio is not installed" in result.stderr and "setup.sh" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_levels_are_a_clear_error(tmp_path):
    result = run(["--levels", "1,x"], tmp_path, timeout=60)
    assert result.returncode == 2 and "--levels takes comma-separated integers" in result.stderr


def test_statements_are_told_apart_by_who_sent_them_and_what_they_are():
    # Rows as pg_stat_statements gave them in a platform run (queries shortened where they are long).
    rows = [
        ("postgres", 'SELECT $2 FROM ONLY "public"."labeling_ranking" x WHERE "id" OPERATOR(pg_catalog.=) $1 '
                     "FOR KEY SHARE OF x", 80),
        ("postgres", "BEGIN", 16), ("postgres", "COMMIT", 16), ("postgres", "SELECT $1", 13),
        ("postgres", 'SELECT "authtoken_token"."key", "authtoken_token"."user_id" FROM "authtoken_token" WHERE '
                     '"authtoken_token"."key" = $1 LIMIT $2', 16),
        ("platform_worker", 'INSERT INTO "labeling_comparisonpair" ("ranking_id") SELECT $1 ON CONFLICT DO NOTHING', 8),
        ("platform_worker", "SAVEPOINT \"s1_x1\"", 8),
    ]
    assert bench.count_statements(rows) == {
        "web_sql": 29, "web_transaction_control": 32, "web_foreign_key_check": 80,
        "worker_sql": 8, "worker_transaction_control": 8, "worker_foreign_key_check": 0}


def test_a_task_given_to_two_labelers_is_counted_once():
    handed = [(1, "a"), (2, "b"), (1, "c"), (3, "a"), (3, "a"), (1, "d")]  # task 3: the same labeler twice
    assert labeling_load.handed_to_two(handed) == 1


def test_ratios_and_table_cover_both_systems():
    def row(system, c, cps, cpu):
        return {"system": system, "concurrency": c, "cycles_per_second": cps, "cpu_ms_per_cycle_server": cpu,
                "cpu_ms_per_cycle_web": cpu / 2, "cpu_ms_per_cycle_worker": 1.0, "cpu_ms_per_cycle_postgres": cpu / 2 - 1,
                **{f"{call}_p{q}_ms": 10.0 * q for call in ("next", "submit") for q in (50, 95, 99)},
                "sql_per_call_web": 9.5, "transaction_control_per_call_web": 2.0, "sql_per_cycle_worker": 3.0,
                "tasks_handed_to_two": 0, "errors": 0, "ran_out_of_tasks": system == "label_studio" and c == 8}
    levels = [row("platform", 1, 30.0, 40.0), row("label_studio", 1, 7.5, 300.0), row("platform", 8, 50.0, 35.0),
              row("label_studio", 8, 6.0, 280.0)]
    assert bench.ratios(levels) == [{"concurrency": 1, "cycles_per_second": 4.0, "server_cpu_per_cycle": 7.5},
                                    {"concurrency": 8, "cycles_per_second": 8.33, "server_cpu_per_cycle": 8.0}]
    table = bench.markdown({"machine": "test", "seconds_per_level": 30, "k": 4, "postgres": "15", "started": "now",
                            "levels": levels, "ratios": bench.ratios(levels), "integrity": {}})
    assert "| 8 | Label Studio 1.23 | 6.0 | 500 / 950 / 990 |" in table
    assert "| 8 | 8.33× | 8.00× |" in table
    assert "Ran out of tasks" in table and "Label Studio 1.23 at 8" in table
