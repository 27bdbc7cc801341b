"""Launching a job, as plain functions: validate, resolve inputs, save, send, cancel.

    queued -> running -> succeeded | failed | cancelled   (running and after: training.execution)

- `create_job` validates a launch before anything is saved: the config is split and checked
  (training.job_config), the input snapshots and models are checked and named (`resolve_inputs`:
  which model plays which part), their files must exist, and the prompts it works on must exist.
- `submit` puts `training.tasks.run_job` on the `gpu` queue once the job row is committed; when the
  broker is down the job stays queued without a task id and recovery sends it later.
- `cancel` cancels a queued job at once (it never runs) and asks a running one to stop; the engine
  saves a checkpoint and returns within a step. A running job whose worker is gone (nobody holds its
  lock) is cancelled at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from training.errors import JobError
from training.job_config import PromptFields, split_config
from training.job_lock import JobLock
from training.launch_checks import check_snapshots
from training.models import DatasetSnapshot, Job, JobKind, JobState, ModelKind, ModelVersion, SnapshotKind
from training.uncertainty import has_ensemble

log = logging.getLogger(__name__)

LANGUAGE_MODEL_KINDS = (ModelKind.BASE, ModelKind.SFT, ModelKind.POLICY)


@dataclass
class Inputs:
    """Which model plays which part in a job, resolved from input_models and the config."""

    model: ModelVersion | None = None
    reward_model: ModelVersion | None = None
    reference: ModelVersion | None = None
    candidate: ModelVersion | None = None
    baseline: ModelVersion | None = None
    data: DatasetSnapshot | None = None
    demonstrations: DatasetSnapshot | None = None


def resolve_inputs(kind, job_fields, snapshots, models):
    """Check the inputs a kind needs and name their parts; raises JobError(input_models|input_snapshots)."""
    snapshots, models = list(snapshots), list(models)
    lms = [m for m in models if m.kind in LANGUAGE_MODEL_KINDS]
    rms = [m for m in models if m.kind == ModelKind.RM]
    by_kind = {k: [s for s in snapshots if s.kind == k] for k in SnapshotKind.values}
    preference = by_kind[SnapshotKind.PAIRS] + by_kind[SnapshotKind.RANKINGS]
    inputs = Inputs()

    def one(items, field, what):
        if len(items) != 1:
            raise JobError(field, f"give exactly one {what} (got {len(items)})")
        return items[0]

    if kind == JobKind.BOOTSTRAP:
        if models:
            raise JobError("input_models", "a bootstrap job starts from no model")
    elif kind == JobKind.SFT:
        inputs.model = one(lms, "input_models", "language model (base, sft or policy)")
        if len(models) != 1:
            raise JobError("input_models", "an SFT job takes one language model")
        inputs.data = one(by_kind[SnapshotKind.SFT], "input_snapshots", "sft snapshot")
    elif kind == JobKind.RM:
        inputs.model = one(models, "input_models", "model to start the reward model from")
        inputs.data = one(preference, "input_snapshots", "pairs or rankings snapshot")
        if len(by_kind[SnapshotKind.SFT]) > 1:
            raise JobError("input_snapshots", "give at most one sft snapshot (for reward normalisation)")
        inputs.demonstrations = (by_kind[SnapshotKind.SFT] or [None])[0]
    elif kind == JobKind.PPO:
        inputs.model = one(lms, "input_models", "language model (the SFT policy)")
        inputs.reward_model = one(rms, "input_models", "reward model")
        if len(by_kind[SnapshotKind.SFT]) > 1 or preference:
            raise JobError("input_snapshots", "a PPO job takes at most one sft snapshot (PPO-ptx data)")
        inputs.demonstrations = (by_kind[SnapshotKind.SFT] or [None])[0]
    elif kind == JobKind.SAMPLE:
        inputs.model = one(lms, "input_models", "language model to sample from")
        if job_fields.order_by_uncertainty:
            inputs.reward_model = one(rms, "input_models", "reward-model ensemble (config.order_by_uncertainty)")
            if not has_ensemble(inputs.reward_model.artifact_path):
                raise JobError("input_models", f"reward model {inputs.reward_model.pk} has no ensemble heads: "
                                               "train one with config.ensemble_heads")
        elif rms:
            raise JobError("input_models", "a reward model cannot sample answers (it can order them: "
                                           "config.order_by_uncertainty)")
    elif kind == JobKind.EVALUATE:
        _resolve_evaluation(job_fields, inputs, lms, rms, preference, one)
    elif kind == JobKind.DPO:
        inputs.reference = _model_by_id(job_fields.reference, "reference", LANGUAGE_MODEL_KINDS)
        policies = [m for m in lms if inputs.reference is None or m.pk != inputs.reference.pk] or lms
        inputs.model = one(policies, "input_models", "language model (the SFT policy)")
        if rms:
            raise JobError("input_models", "a DPO job takes no reward model: it learns from the rankings themselves")
        inputs.data = one(preference, "input_snapshots", "pairs or rankings snapshot")
        inputs.reference = inputs.reference or inputs.model
    elif kind == JobKind.BON:
        inputs.model = one(lms, "input_models", "language model to sample from")
        inputs.reward_model = one(rms, "input_models", "reward model (it picks the best of N)")
    return inputs


def _model_by_id(model_id, field, expected_kinds):
    """A model version named in the config (None when not given), of one of ``expected_kinds``."""
    if model_id is None:
        return None
    model = ModelVersion.objects.filter(pk=model_id).first()
    if model is None:
        raise JobError(f"config.{field}", f"model version {model_id} does not exist")
    if model.kind not in expected_kinds:
        raise JobError(f"config.{field}", f"model version {model_id} is a {model.kind} model")
    return model


def _resolve_evaluation(fields, inputs, lms, rms, preference, one):
    def pick(model_id, field, expected_kinds, default):
        return _model_by_id(model_id, field, expected_kinds) or default

    if fields.mode == "rm_accuracy":
        inputs.reward_model = pick(fields.judge, "judge", (ModelKind.RM,), None) or one(rms, "input_models", "reward model")
        inputs.data = one(preference, "input_snapshots", "pairs or rankings snapshot")
        return
    ordered = sorted(lms, key=lambda m: m.pk)
    inputs.candidate = pick(fields.candidate, "candidate", LANGUAGE_MODEL_KINDS, ordered[-1] if len(ordered) == 2 else None)
    inputs.baseline = pick(fields.baseline, "baseline", LANGUAGE_MODEL_KINDS, ordered[0] if len(ordered) == 2 else None)
    if inputs.candidate is None or inputs.baseline is None:
        raise JobError("input_models", "give two language models (the newer is the candidate) or config.candidate and config.baseline")
    if inputs.candidate.pk == inputs.baseline.pk:
        raise JobError("config.baseline", "the baseline must be another model than the candidate")
    if fields.mode == "reward_win_rate":
        inputs.reward_model = pick(fields.judge, "judge", (ModelKind.RM,), None) or one(rms, "input_models", "reward model (the judge)")


def check_model_artifacts(inputs):
    for part in ("model", "reward_model", "reference", "candidate", "baseline"):
        model = getattr(inputs, part)
        if model is not None and not Path(model.artifact_path).is_dir():
            raise JobError("input_models", f"model version {model.pk} has no artifact directory at {model.artifact_path}")
    for part in ("data", "demonstrations"):
        snapshot = getattr(inputs, part)
        if snapshot is not None and not snapshot_path(snapshot).is_file():
            raise JobError("input_snapshots", f"snapshot {snapshot.pk} has no file at {snapshot.file_path}")


def snapshot_path(snapshot):
    path = Path(snapshot.file_path)
    return path if path.is_absolute() else Path(settings.ARTIFACT_ROOT) / path


def output_dir_for(job):
    """Training jobs write their model straight into the registry's folder; others get a work folder."""
    root = Path(settings.ARTIFACT_ROOT)
    if job.kind in (JobKind.BOOTSTRAP, JobKind.SFT, JobKind.RM, JobKind.PPO, JobKind.DPO, JobKind.BON):
        return root / "models" / f"job-{job.pk}-{job.kind}"
    return root / "jobs" / f"job-{job.pk}-{job.kind}"


def create_job(kind, config=None, input_snapshots=(), input_models=(), created_by=None, name=""):
    """Validate a launch and save the job (queued). Call `submit` to send it to a worker."""
    if kind not in JobKind.values:
        raise JobError("kind", f"must be one of {', '.join(JobKind.values)}")
    config = {} if config is None else config
    job_fields, _engine = split_config(kind, config)
    snapshots, models = list(input_snapshots), list(input_models)
    check_snapshots(kind, snapshots)
    inputs = resolve_inputs(kind, job_fields, snapshots, models)
    check_model_artifacts(inputs)
    if isinstance(job_fields, PromptFields) and getattr(job_fields, "mode", "") != "rm_accuracy":
        select_prompts(job_fields)
    extra_models = [m for m in (inputs.candidate, inputs.baseline, inputs.reward_model, inputs.reference)
                    if m is not None]
    with transaction.atomic():
        job = Job.objects.create(kind=kind, name=name, config=config, created_by=created_by)
        job.output_dir = str(output_dir_for(job))
        job.save(update_fields=["output_dir"])
        job.input_snapshots.set(snapshots)
        job.input_models.set({m.pk: m for m in models + extra_models}.values())
    return job


def submit(job):
    """Send the job to the gpu queue once the surrounding transaction commits."""
    transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id):
    """Put run_job on the broker. When the broker is down the job stays queued without a task id and
    `recover_jobs` sends it later; the caller is not failed for it."""
    from celery_app import send_now  # platform/celery_app.py

    try:
        result = send_now("training.tasks.run_job", (job_id,))
    except Exception as exc:  # kombu's OperationalError and friends
        log.warning("job %s not queued (%s); recovery will send it", job_id, exc)
        return False
    Job.objects.filter(pk=job_id).update(celery_task_id=result.id)
    return True


def cancel(job):
    """Cancel: a queued job is cancelled at once; a running one is asked to stop (it checkpoints and
    ends `cancelled` within seconds); a running job whose worker is gone is cancelled at once."""
    now = timezone.now()
    if Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
            state=JobState.CANCELLED, cancel_requested=True, finished_at=now):
        return _reload(job)
    if Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(cancel_requested=True):
        if not JobLock(job.pk).holder():
            Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(state=JobState.CANCELLED, finished_at=now)
        return _reload(job)
    job.refresh_from_db()
    raise JobError("state", f"the job is already {job.state}", status=409)


def _reload(job):
    job.refresh_from_db()
    return job


def select_prompts(fields):
    """The prompts a job works on: config.prompt_ids, else every prompt of config.split (in id order)."""
    from labeling.models import Prompt

    if fields.prompt_ids:
        prompts = list(Prompt.objects.filter(pk__in=fields.prompt_ids).order_by("pk"))
        missing = set(fields.prompt_ids) - {p.pk for p in prompts}
        if missing:
            raise JobError("config.prompt_ids", f"prompts {sorted(missing)} do not exist")
    else:
        queryset = Prompt.objects.order_by("pk")
        if fields.split:
            queryset = queryset.filter(split=fields.split)
        prompts = list(queryset[:fields.limit] if fields.limit else queryset)
    if fields.limit:
        prompts = prompts[:fields.limit]
    if not prompts:
        raise JobError("config.split", f"no prompts to work on (split {fields.split or 'any'})")
    return prompts
