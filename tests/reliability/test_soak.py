"""The soak script, briefly: simulated labelers under random broker stops and worker kills lose
nothing (`scripts/soak.py --minutes 10` is the full run)."""

import json
import subprocess
import sys

import pytest

from tests.reliability.services import ROOT, platform_env


@pytest.mark.slow
def test_a_short_soak_with_faults_loses_no_label(tmp_path):
    out = tmp_path / "soak.json"
    result = subprocess.run([sys.executable, "scripts/soak.py", "--minutes", "0.5", "--fault-every", "8", "--labelers", "3",
                             "--json", str(out)], cwd=ROOT, env=platform_env(), capture_output=True, text=True, timeout=400)
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert result.returncode == 0 and report["ok"], report
    assert report["acknowledged"] >= 30 and report["lost"] == 0 and report["saved"] == report["acknowledged"]
    assert report["pairs_written"] == report["pairs_expected"] > 0 and report["duplicate_pairs"] == 0
    assert sum(report["faults"].values()) >= 2
