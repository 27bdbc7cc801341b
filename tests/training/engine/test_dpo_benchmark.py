import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_dpo_benchmark_tiny_runs_and_losses_agree():
    subprocess.run([sys.executable, "benchmarks/dpo_kwise_vs_pairwise.py", "--tiny", "--ks", "4", "--threads", "1",
                    "--modes", "kwise,pairwise", "--name", "test_dpo_kwise_vs_pairwise"], cwd=ROOT,
                   capture_output=True, text=True, check=True)
    result = json.loads((ROOT / "benchmarks/results/test_dpo_kwise_vs_pairwise.json").read_text())
    (summary,) = result["summary"]
    # 2·C(4,2) rows through policy and reference vs 4 answers through each once: 24 / 8
    assert summary["same_loss"] and summary["encoding_ratio"] == 3.0
    assert abs(summary["loss_kwise"] - 0.6931) > 1e-3  # the reference differs from the policy: not log 2
