"""A training job on several local processes: the worker starts the engine's command under torchrun and
supervises it, as it supervises an in-process run.

The Celery `gpu` worker is one process per job (`--concurrency 1`). A job with `num_processes` N > 1
(SFT, RM, PPO, DPO) is run as

    torchrun --standalone --nproc_per_node N -m training.engine <kind> ... --config engine_config.json
             --progress-file <out>/progress.jsonl --stop-file <out>/STOP

with ACCELERATE_USE_CPU=true when the worker has no GPU (gloo; docs/distributed.md). The worker then

- reports progress: process 0 appends one line per logged step to the progress file; the worker reads new
  lines and calls `ctx.on_progress`, so the job's progress, metrics and log are those of an in-process run;
- cancels: when `ctx.should_stop()` (a cancel request, or the job's lock lost) it creates the stop file;
  every process polls it, they agree by an all-reduce (engine/checkpoint.py), save a checkpoint and exit;
- resumes: a re-delivered job starts the same command on the same output folder with the same N, and the
  engine resumes from its newest checkpoint (each process's RNG state included);
- never leaves orphans: the launcher gets SIGTERM when the worker dies (Linux PR_SET_PDEATHSIG), and
  torchrun passes it on to its processes.

The engine's final JSON line (stdout) is the run's result; its stderr goes to `<out>/engine.log`, whose
tail is the job's error when the command fails.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from training.engine.config import TrainResult
from training.errors import JobError

POLL_SECONDS = 0.5
STOP_FILE = "STOP"
PROGRESS_FILE = "progress.jsonl"
ENGINE_LOG = "engine.log"


def local_devices() -> int:
    """GPUs this worker can give a job; 0 on a CPU-only worker."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_processes(n: int, gpus: int | None = None):
    """A worker with GPUs runs one process per GPU; a CPU-only worker runs any N (gloo, for tests)."""
    gpus = local_devices() if gpus is None else gpus
    if gpus and n > gpus:
        raise JobError("config.num_processes", f"{n} processes asked, but this worker has {gpus} GPU(s)")


# train functions' argument names that the CLI spells otherwise (training/engine/__main__.py)
FLAGS = {"policy": "model", "prompts": "data"}


def command(kind: str, n: int, paths: dict, out_dir: Path, config_file: Path) -> list[str]:
    """The torchrun command line: `paths` maps the train function's file arguments to files."""
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n),
            "-m", "training.engine", kind]
    for name, value in paths.items():
        if value is not None:
            argv += ["--" + FLAGS.get(name, name).replace("_", "-"), str(value)]
    return argv + ["--out", str(out_dir), "--config", str(config_file),
                   "--progress-file", str(out_dir / PROGRESS_FILE), "--stop-file", str(out_dir / STOP_FILE)]


def run_engine(kind: str, n: int, paths: dict, config, ctx) -> TrainResult:
    """Run the engine command on `n` processes and supervise it (module docstring)."""
    check_processes(n)
    out_dir = Path(ctx.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / STOP_FILE, out_dir / PROGRESS_FILE):
        stale.unlink(missing_ok=True)  # a cancelled attempt's stop file would stop the resumed one at once
    config_file = out_dir / "engine_config.json"
    config_file.write_text(json.dumps(dataclasses.asdict(config)))
    argv = command(kind, n, paths, out_dir, config_file)
    ctx.log(f"starting {n} processes: torchrun --nproc_per_node {n} -m training.engine {kind}")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if not local_devices():
        env["ACCELERATE_USE_CPU"] = "true"
    with open(out_dir / ENGINE_LOG, "ab") as log_file:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log_file, env=env,
                                cwd=Path(__file__).resolve().parent.parent, preexec_fn=_die_with_parent)
        stdout = _supervise(proc, out_dir, ctx)
    if proc.returncode != 0:
        raise JobError("engine", f"the {n}-process run exited with code {proc.returncode}: " + _failure(out_dir))
    return _result(stdout)


def _supervise(proc, out_dir: Path, ctx) -> bytes:
    """Relay progress lines and the stop request until the processes exit; returns their stdout."""
    import threading

    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    offset, stopping = 0, False
    while True:
        done = proc.poll() is not None
        offset = _relay_progress(out_dir / PROGRESS_FILE, offset, ctx)
        if done:
            break
        if not stopping and ctx.should_stop():
            (out_dir / STOP_FILE).touch()
            stopping = True
        time.sleep(POLL_SECONDS)
    reader.join()
    return b"".join(chunks)


def _relay_progress(path: Path, offset: int, ctx) -> int:
    """Pass each complete new line of the progress file to ctx.on_progress; returns the new offset."""
    if not path.exists():
        return offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1  # a line still being written waits for the next look
    for line in data[:end].splitlines():
        record = json.loads(line)
        ctx.on_progress(record["step"], record["total"], record["metrics"])
    return offset + end


def _result(stdout: bytes) -> TrainResult:
    lines = [line for line in stdout.decode(errors="replace").splitlines() if line.startswith("{")]
    if not lines:
        raise JobError("engine", "the multi-process run printed no result")
    fields = {f.name for f in dataclasses.fields(TrainResult)}
    return TrainResult(**{k: v for k, v in json.loads(lines[-1]).items() if k in fields})


def _failure(out_dir: Path, lines: int = 12) -> str:
    """The engine's own error (its JSON error line) if it printed one, else the log's last lines."""
    text = (out_dir / ENGINE_LOG).read_text(errors="replace").splitlines()
    for line in reversed(text):
        if line.startswith('{"error"'):
            error = json.loads(line)
            where = error.get("field") or f"{error.get('file')} line {error.get('line')}"
            return f"{where}: {error.get('message')}"
    return "\n".join(text[-lines:])


def _die_with_parent():
    """In the child, before exec: SIGTERM when the worker process dies (Linux), so no run is orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass
