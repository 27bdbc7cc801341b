"""Threads that start together, each on its own database connection (closed when it is done)."""

import threading
import traceback

from django.db import connection


def run_together(workers, timeout=120):
    """Run each callable in its own thread, all released at the same moment; fails with every
    thread's traceback if any raised."""
    barrier = threading.Barrier(len(workers))
    errors = []

    def wrap(work):
        try:
            barrier.wait()
            work()
        except BaseException:  # noqa: BLE001 (reported below, with where it happened)
            errors.append(traceback.format_exc())  # list.append is atomic
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout}s"
    assert not errors, "\n".join(errors)
