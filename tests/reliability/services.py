"""Private, disposable services for fault tests and the soak script.

Fault tests stop and start their services, so they never touch the machine's shared PostgreSQL
(127.0.0.1:5432) or Redis (6379) that the rest of the suite and CI use:

- PrivateRedis: an embedded redis-server (platform/broker.py) that can be stopped and started again
  on the same port.
- PrivatePostgres: a throw-away cluster (initdb + pg_ctl, run as the `postgres` OS user when we are
  root, since initdb refuses root) on a free port in a temporary directory.
- LiveServer: gunicorn serving the platform on a free port, on the given database and broker.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "platform")) if p not in sys.path]

from broker import free_port, redis_reachable, start_embedded_redis  # noqa: E402  (platform/broker.py)


def platform_env(**overrides):
    """Environment for a subprocess running the platform code (server, worker, manage.py)."""
    env = dict(os.environ)
    env.update({"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]), "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": "settings"})
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class PrivateRedis:
    def __init__(self, workdir=None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rlhf-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        _, self.process = start_embedded_redis(self.workdir, port=self.port)
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @property
    def running(self):
        return redis_reachable(self.url)


def _pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return path


class PrivatePostgres:
    """A private PostgreSQL cluster with one database `rlhf`; trust auth on 127.0.0.1."""

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="rlhf-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/rlhf"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        os.chmod(self.base, 0o755)

    def _run(self, *args, check=True):
        return subprocess.run([*self._as_postgres, *args], capture_output=True, text=True, check=check, timeout=120)

    def init(self):
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.base}'\n"
                       "fsync = off\nfull_page_writes = off\nmax_connections = 100\n")
        self.start()
        self._run(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "rlhf")
        return self

    def start(self):
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def manage(*args, env):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class LiveServer:
    """gunicorn on a free port (threads, so one request blocked on the database doesn't hold all)."""

    def __init__(self, env, workers=2, threads=4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="rlhf-gunicorn-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log())
            try:
                requests.get(self.url + "/api/auth/me/", timeout=10)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise TimeoutError("gunicorn not ready:\n" + self.log())

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


class Worker:
    """A `celery worker` subprocess with the given environment (database and broker in it)."""

    def __init__(self, env, queues="default", concurrency=1):
        self.log_path = Path(tempfile.mkstemp(prefix="rlhf-worker-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-Q", queues, "--concurrency", str(concurrency),
             "--pool", "prefork", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "info", "-n", f"soak-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return self
            if self.process.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.log())
            time.sleep(0.2)
        raise TimeoutError("worker not ready:\n" + self.log())

    def kill(self):
        """SIGKILL the worker and its pool children."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def send_task(broker_url, task_name, *args, queue="default"):
    """Queue a task on this broker with a bare Celery client. (An explicit connection: Celery prefers
    $CELERY_BROKER_URL over a broker given to the app.)"""
    from celery import Celery
    from kombu import Connection

    with Connection(broker_url, connect_timeout=2) as connection:
        Celery("rlhf-client", set_as_current=False).send_task(task_name, args=args, queue=queue, connection=connection)
