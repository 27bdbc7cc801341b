"""The lock that says a worker is alive on a job: `rlhf:job-lock:<id>` = "host:pid" in Redis, with a
short TTL (JOB_LOCK_TTL, 60 s) that a heartbeat thread renews while the job runs.

Why it exists: the Celery task acks late, but Redis only hands an unacked message out again after the
visibility timeout, which would have to exceed the longest job. With the lock, a job that is `running`
while nobody holds its lock was left by a dead worker and can be sent again at once (execution.recover_jobs);
a second delivery of a running job finds the lock taken and returns; and a worker that stalled past the
TTL while its job was sent again sees the new owner (`lost`) and stops without finishing the job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings

log = logging.getLogger(__name__)


def _redis():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def lock_ttl():
    return int(os.environ.get("JOB_LOCK_TTL", 60))


def this_owner():
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobLock:
    """`rlhf:job-lock:<id>` = "host:pid" of the process running the job, renewed by a heartbeat thread."""

    def __init__(self, job_id, client=None):
        self.key = f"rlhf:job-lock:{job_id}"
        self.client = client or _redis()
        self.owner = this_owner()
        self._stop = threading.Event()
        self._thread = None
        self.lost = threading.Event()

    def holder(self):
        value = self.client.get(self.key)
        return value.decode() if value else None

    def acquire(self):
        return bool(self.client.set(self.key, self.owner, nx=True, ex=lock_ttl()))

    def break_if_dead_here(self):
        """Delete the lock when its owner is a dead process of this host; True if the lock is free now."""
        holder = self.holder()
        if holder is None:
            return True
        host, _, pid = holder.rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
            self._delete_if(holder)
            return True
        return False

    def start_heartbeat(self):
        ttl = lock_ttl()

        def beat():
            while not self._stop.wait(max(ttl / 3, 0.5)):
                try:
                    holder = self.holder()
                    if holder == self.owner:
                        self.client.expire(self.key, ttl)
                    elif holder is None and self.acquire():
                        log.warning("%s had expired; taken back", self.key)
                    else:  # another worker took the job over (ours looked dead): stop, don't finish it
                        self.lost.set()
                except Exception as exc:  # a broker blip must not kill the job
                    log.warning("job lock heartbeat failed: %s", exc)

        self._thread = threading.Thread(target=beat, name=f"heartbeat {self.key}", daemon=True)
        self._thread.start()

    def release(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self._delete_if(self.owner)
        except Exception as exc:
            log.warning("job lock release failed: %s", exc)

    def _delete_if(self, value):
        script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
        self.client.eval(script, 1, self.key, value)
