import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# The RM benchmark's tiny run is tests/benchmarks/test_rm_shapes.py (at HH's lengths: same loss, 3x sequences).


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    import os

    proc = subprocess.run([sys.executable, "benchmarks/gpu.py"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no CUDA GPU" in proc.stdout
