"""Progress that a terminal shows as a bar and a log file can hold.

On a terminal, tqdm's bar. Anywhere else (a log file, a pipe, a Celery worker, CI) a carriage-return
bar is one line rewritten per step, and a long run leaves megabytes of them; there `progress` prints one
plain line each time another `every_percent` of the work is done or `every_seconds` have passed, and
one at the end. Both objects answer the calls the engine makes (update, write, set_postfix, close,
iteration, `with`), so a call site only swaps `tqdm(...)` for `progress(...)`.
"""

from __future__ import annotations

import sys
import time

EVERY_PERCENT = 10
EVERY_SECONDS = 30.0


def progress(iterable=None, total=None, desc="", initial=0, disable=False, file=None, leave=False,
             every_percent=EVERY_PERCENT, every_seconds=EVERY_SECONDS, **tqdm_options):
    """tqdm on a terminal, else a `LineProgress` that prints a line per `every_percent` or `every_seconds`."""
    stream = file if file is not None else sys.stderr
    if disable or is_terminal(stream):
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, initial=initial, disable=disable, file=stream, leave=leave,
                    **tqdm_options)
    return LineProgress(iterable, total=total, desc=desc, initial=initial, file=stream,
                        every_percent=every_percent, every_seconds=every_seconds)


def is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LineProgress:
    """Plain progress lines: `desc: n/total (p%) in Ts, k=v ...` at most once per step of
    `every_percent` of the total (or, without a total, per `every_seconds`), and at close."""

    def __init__(self, iterable=None, total=None, desc="", initial=0, file=None, every_percent=EVERY_PERCENT,
                 every_seconds=EVERY_SECONDS):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.n = iterable, total, desc, initial
        self.file = file if file is not None else sys.stderr
        self.every_percent, self.every_seconds = every_percent, every_seconds
        self.postfix = {}
        self._started = self._last_time = time.monotonic()
        self._last_n = initial
        self._closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self):
        return self.total or 0

    def update(self, n=1):
        self.n += n
        now = time.monotonic()
        due_by_time = now - self._last_time >= self.every_seconds
        due_by_share = bool(self.total) and (
            int(100 * self.n / self.total) // self.every_percent > int(100 * self._last_n / self.total) // self.every_percent)
        if due_by_time or due_by_share:
            self._line(now)

    def set_postfix(self, values=None, refresh=True, **more):
        self.postfix = {**(values or {}), **more}

    def set_description(self, desc, refresh=True):
        self.desc = desc

    def refresh(self):
        """tqdm redraws here; a log gets its lines from `update`, so nothing to do."""

    def write(self, message):
        print(message, file=self.file, flush=True)

    def close(self):
        if not self._closed:
            self._closed = True
            if self.n != self._last_n or self.n == 0:
                self._line(time.monotonic())

    def _line(self, now):
        share = f"/{self.total} ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        self.write(f"{self.desc}: {self.n}{share} in {now - self._started:.0f}s{extra}")
        self._last_time, self._last_n = now, self.n
