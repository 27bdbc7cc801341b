"""The web UI's logic tests (Vitest: ranking and ties, draft storage, diff, error mapping, the launch
form built from the config schema, import preview, metric charts) run as part of the Python suite."""

import subprocess

import pytest

from tests.frontend.conftest import ROOT


@pytest.mark.slow
def test_vitest_suite_passes(frontend_dist):
    result = subprocess.run(["npm", "test", "--silent"], cwd=ROOT / "frontend", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "failed" not in result.stdout.lower()
