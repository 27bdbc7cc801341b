"""Shared pieces of the job commands (train, sample, evaluate, jobs): building a config from
--config/--set, launching (queued for a gpu worker, or --inline in this process), and following a
job with a progress bar (plain lines in a log) until it finishes."""

import json
import time
from pathlib import Path

from django.core.management.base import CommandError

from training import jobs
from training.models import DatasetSnapshot, Job, JobMetric, ModelVersion


def add_launch_arguments(parser):
    parser.add_argument("--config", help="config as a JSON object, or a path to a JSON file")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="one config field (VALUE is read as JSON when it parses, else as text); repeatable")
    parser.add_argument("--snapshot", action="append", type=int, default=[], metavar="ID", help="input dataset snapshot id")
    parser.add_argument("--model", action="append", type=int, default=[], metavar="ID", help="input model version id")
    parser.add_argument("--name", default="", help="job name (also names the model it makes)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--follow", action="store_true", help="queue it, then follow it with a progress bar")
    mode.add_argument("--inline", action="store_true", help="run it here, in this process, instead of on a gpu worker")


def build_config(options, extra=None):
    config = {}
    raw = options.get("config")
    if raw:
        text = Path(raw).read_text() if not raw.lstrip().startswith("{") and Path(raw).is_file() else raw
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not JSON: {exc}")
        if not isinstance(config, dict):
            raise CommandError("--config must be a JSON object")
    for item in options.get("set") or []:
        field, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f"--set {item!r}: write FIELD=VALUE")
        try:
            config[field] = json.loads(value)
        except json.JSONDecodeError:
            config[field] = value
    config.update({k: v for k, v in (extra or {}).items() if v is not None})
    return config


def launch(command, kind, options, extra_config=None):
    """Create the job; queue it (and maybe follow it) or run it inline. Returns the job."""
    snapshots = list(DatasetSnapshot.objects.filter(pk__in=options["snapshot"]))
    models = list(ModelVersion.objects.filter(pk__in=options["model"]))
    missing = (set(options["snapshot"]) - {s.pk for s in snapshots}) | (set(options["model"]) - {m.pk for m in models})
    if missing:
        raise CommandError(f"no such snapshot or model: {sorted(missing)}")
    try:
        job = jobs.create_job(kind, build_config(options, extra_config), snapshots, models, name=options.get("name", ""))
    except jobs.JobError as exc:
        raise CommandError(f"{exc.field}: {exc.message}")
    if options.get("inline"):
        command.stdout.write(f"job {job.pk} ({kind}) running here")
        jobs.execute(job.pk)
        return report(command, Job.objects.get(pk=job.pk))
    jobs.enqueue(job.pk)
    command.stdout.write(f"job {job.pk} ({kind}) queued on the gpu queue")
    if options.get("follow"):
        return follow(command, job.pk)
    return job


def follow(command, job_id, interval=1.0, timeout=None):
    """A progress bar (plain lines when stdout is not a terminal) of the job's progress with its newest
    metrics, until the job finishes."""
    from training.engine.progress import progress

    started = time.monotonic()
    job = Job.objects.get(pk=job_id)
    with progress(total=1000, desc=f"job {job.pk} {job.kind}", unit="‰", file=command.stdout, leave=True) as bar:
        while True:
            job.refresh_from_db()
            last = JobMetric.objects.filter(job=job).order_by("-step", "-id").first()
            postfix = {"state": job.state}
            if last:
                postfix["step"] = last.step
                postfix.update({k: f"{v:.4g}" for k, v in list(last.values.items())[:3]})
            bar.set_postfix(postfix)
            bar.update(int(job.progress * 1000) - bar.n)  # after the postfix, so a log line carries it
            bar.refresh()
            if job.is_terminal or (timeout is not None and time.monotonic() - started > timeout):
                break
            time.sleep(interval)
    return report(command, job)


def report(command, job):
    line = f"job {job.pk} {job.kind}: {job.state}"
    if job.model_versions.exists():
        line += " -> model " + ", ".join(f"#{m.pk} {m.name} ({m.kind})" for m in job.model_versions.all())
    command.stdout.write(line)
    if job.result:
        command.stdout.write(json.dumps(job.result, indent=2, default=str))
    if job.state == "failed":
        raise CommandError(f"job {job.pk} failed: {job.error}")
    return job
