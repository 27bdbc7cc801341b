"""Benchmarks are not timed tests: the suite only checks that each script runs on a tiny setting and
that its integrity checks pass (pair counts, nothing lost, nothing leased twice)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_script(args, tmp_path, timeout=240):
    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([sys.executable, *args, "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text()), result.stdout


@pytest.mark.slow
def test_pair_expansion_benchmark_runs_tiny(tmp_path):
    report, stdout = run_script(["benchmarks/pair_expansion.py", "--rankings", "60", "--batch", "25",
                                 "--database-url", f"sqlite:///{tmp_path / 'bench.sqlite3'}"], tmp_path)
    assert report["pairs_written"] == report["pairs_expected"] == report["pairs_after_redelivery"] > 0
    assert "pairs_per_second" in stdout


@pytest.mark.slow
def test_labeling_load_benchmark_runs_tiny(tmp_path):
    report, stdout = run_script(["benchmarks/labeling_load.py", "--concurrency", "1,2", "--seconds", "1.5", "--tasks", "60",
                                 "--web-workers", "1", "--database-url", f"sqlite:///{tmp_path / 'load.sqlite3'}"], tmp_path)
    assert [level["concurrency"] for level in report["levels"]] == [1, 2]
    assert sum(level["cycles"] for level in report["levels"]) > 0
    assert report["submissions_lost"] == report["tasks_leased_beyond_need"] == report["labeler_got_task_twice"] == 0
    assert "cycles_per_second" in stdout
    # The web server did the serving, so its CPU time shows up per cycle.
    assert all(level["cpu_ms_per_cycle_web"] > 0 for level in report["levels"] if level["cycles"])
