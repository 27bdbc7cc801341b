"""scripts/launch.py waits for its one-off helpers (the demo model's conversion and sampling), so none
is left a zombie under the launcher (issue 13, defect 10)."""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_launch():
    spec = importlib.util.spec_from_file_location("launch_script", ROOT / "scripts" / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def state(pid):
    status = Path(f"/proc/{pid}/status")
    return next((line.split()[1] for line in status.read_text().splitlines() if line.startswith("State:")), None) \
        if status.exists() else None


def test_a_finished_helper_is_reaped_and_reported():
    launch = load_launch()
    helper = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    helpers = {"demo-model": helper, "other": running}
    deadline = time.monotonic() + 20
    while state(helper.pid) != "Z" and time.monotonic() < deadline:  # exited, not yet waited for: a zombie
        time.sleep(0.05)
    assert state(helper.pid) == "Z"
    try:
        assert list(launch.reap(helpers)) == [("demo-model", 3)]
        assert state(helper.pid) is None and list(helpers) == ["other"]
        assert list(launch.reap(helpers)) == []
    finally:
        running.kill()
        running.wait()
