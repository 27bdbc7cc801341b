import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_rm_benchmark_tiny_runs_and_losses_agree():
    out = subprocess.run([sys.executable, "benchmarks/rm_kwise_vs_pairwise.py", "--tiny", "--ks", "4", "--threads", "1",
                          "--name", "test_rm_kwise_vs_pairwise"], cwd=ROOT, capture_output=True, text=True, check=True)
    print(out.stdout)
    result = json.loads((ROOT / "benchmarks/results/test_rm_kwise_vs_pairwise.json").read_text())
    (summary,) = result["summary"]
    assert summary["same_loss"] and summary["sequence_ratio"] == 3.0  # 2·C(4,2) / 4


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    import os

    proc = subprocess.run([sys.executable, "benchmarks/gpu.py"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no CUDA GPU" in proc.stdout
