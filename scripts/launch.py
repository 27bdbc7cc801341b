"""Start the platform as one process tree: broker (embedded if none), migrations, demo seed, the
web server (gunicorn), Celery workers for queues `default` and `gpu`, and celery beat.

Ctrl-C stops everything. Environment: HOST/PORT (default 127.0.0.1:8000), DATABASE_URL,
REDIS_URL, ARTIFACT_ROOT, SKIP_DEMO_MODEL=1 to skip registering and sampling from SmolLM2.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[1:1] = [str(ROOT), str(ROOT / "platform")]

from broker import ensure_redis  # noqa: E402  (platform/broker.py)


def main():
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    redis_url, redis_process = ensure_redis(ROOT / "var" / "redis")
    env = dict(os.environ, REDIS_URL=redis_url, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
               PYTHONUNBUFFERED="1")
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True)

    logs = ROOT / "var" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    celery = [python, "-m", "celery", "-A", "celery_app"]
    commands = {
        "web": [python, "-m", "gunicorn", "wsgi:application", "--pythonpath", str(ROOT / "platform"),
                "--bind", f"{host}:{port}", "--workers", os.environ.get("WEB_WORKERS", "2"), "--threads", "4",
                "--access-logfile", str(logs / "web-access.log")],
        "worker-default": [*celery, "worker", "-Q", "default", "--concurrency", "1", "-n", "default@%h", "-l", "info"],
        "worker-gpu": [*celery, "worker", "-Q", "gpu", "--concurrency", "1", "--prefetch-multiplier", "1",
                       "-n", "gpu@%h", "-l", "info"],
        "beat": [*celery, "beat", "-s", str(ROOT / "var" / "celerybeat-schedule"), "-l", "info"],
    }
    processes = {}
    for name, command in commands.items():
        log = open(logs / f"{name}.log", "ab")
        processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    # One-off helpers: waited for as they finish (never left as zombies), stopped with the rest.
    helpers = {}
    if os.environ.get("SKIP_DEMO_MODEL") != "1":
        helpers["demo-model"] = subprocess.Popen([*manage, "demo_model"], cwd=ROOT, env=env,
                                                 stdout=open(logs / "demo-model.log", "ab"), stderr=subprocess.STDOUT)
        print("demo model: converting SmolLM2, then a sampling job makes the first ranking tasks "
              "(watch it under Jobs, as ml, or on the admin's Progress page)", flush=True)

    print(f"\nRLHF platform running at http://{host}:{port}/  (API docs: /api/docs/, admin: /admin/)")
    print(f"broker: {redis_url}{' (embedded)' if redis_process else ''}; logs in {logs}")
    from labeling.demo_data import DEMO_USERS

    for username, role, password in DEMO_USERS:
        print(f"  {role:12s} {username} / {password}")
    print("Ctrl-C stops everything.\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with code {process.returncode}; see {logs / (name + '.log')}", flush=True)
                stopping = True
        for name, code in reap(helpers):
            print(f"{name} finished ({'ok' if code == 0 else f'exit code {code}'}); see {logs / (name + '.log')}", flush=True)
        time.sleep(1)
    for process in [*processes.values(), *helpers.values()]:
        if process.poll() is None:
            process.terminate()
    for process in [*processes.values(), *helpers.values()]:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    if redis_process:
        redis_process.terminate()


def reap(helpers):
    """Collect the exit status of helpers that have finished (so none stays a zombie) and forget them;
    yields (name, exit code)."""
    for name, process in list(helpers.items()):
        if process.poll() is not None:
            del helpers[name]
            yield name, process.returncode


if __name__ == "__main__":
    main()
