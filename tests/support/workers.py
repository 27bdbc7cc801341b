"""Real processes for tests: a Celery worker subprocess on the test database, the broker taken away."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_subprocess():
    """The URL of the database the test is using (the test database, not the configured one)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class WorkerProcess:
    """A `celery worker` subprocess on the test database and the session's broker."""

    def __init__(self, queues="default,gpu", concurrency=1, extra_env=None):
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": database_url_for_subprocess(),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra_env or {})
        self.log_path = ROOT / "var" / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-Q", queues, "--concurrency", str(concurrency),
             "--pool", "prefork", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "info", "-n", f"test-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.log())
            time.sleep(0.2)
        raise TimeoutError("worker not ready:\n" + self.log())

    def kill(self):
        """SIGKILL the whole worker process group (main process and its pool children)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@contextmanager
def broker_down():
    """Point the Celery app at a port where no broker listens, then back. Celery reads
    CELERY_BROKER_URL from the environment before its own setting, so both change. The app's live
    connection pools are set aside and put back untouched: closing them would also close the pool
    kombu's global producer registry hands out for that broker, and later publishes would fail."""
    from celery_app import app

    saved = app.conf.broker_url, os.environ.get("CELERY_BROKER_URL"), app._pool, app.amqp._producer_pool
    app._pool = app.amqp._producer_pool = None
    app.conf.broker_url = os.environ["CELERY_BROKER_URL"] = "redis://127.0.0.1:9/0"
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()  # the dead broker's pool only
        app.conf.broker_url, saved_env, app._pool, app.amqp._producer_pool = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
