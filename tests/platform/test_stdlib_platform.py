"""The project's platform/ folder must never shadow the standard library's `platform` module."""

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_folder_is_not_a_package():
    assert (ROOT / "platform" / "settings.py").exists()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_wins_inside_a_configured_django_process():
    code = (
        "import os, sys; sys.path[:0] = ['.', 'platform'];"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'settings';"
        "import django; django.setup(); import celery_app, torch, platform;"
        "print(platform.__file__); print(platform.python_version())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert Path(out[0]).resolve().parent == Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert out[1] == ".".join(map(str, sys.version_info[:3]))


def test_manage_py_runs_from_the_repository_root():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
