"""The life cycle of a training job, as plain functions.

    queued -> running -> succeeded | failed | cancelled

- `create_job` validates a launch (kind, config, inputs) before anything is saved: the config is split
  into the job's own fields (which prompts, which models play which part) and the engine's config
  dataclass, and both go through the engine's `from_dict`, so a bad value is a `JobError` naming the
  field (`config.learning_rate`), which the API answers with a 400.
- `submit` puts `training.tasks.run_job` on the `gpu` queue once the job row is committed.
- `execute` is what the worker runs. It takes the job's lock (below), claims the job in the database
  (a finished or cancelled job is never run again, so a re-delivered task does nothing), runs the
  kind's runner with `on_progress` (writes progress, a JobMetric row and a log line) and `should_stop`
  (polls `cancel_requested`), and records the outcome.
- `cancel` cancels a queued job at once (it never runs) and asks a running one to stop; the engine
  saves a checkpoint and returns within a step.

Crash recovery. The Celery task acks late and is rejected when its worker dies, but Redis only hands an
unacked message out again after the visibility timeout, which must exceed the longest job. So the
platform does not wait for it: while a job runs, its worker holds a lock in Redis
(`rlhf:job-lock:<id>` = "host:pid") with a short TTL that a heartbeat thread renews. A job that is
`running` while nobody holds its lock was left by a dead worker; `recover_jobs` sends it again. It runs
when a gpu worker starts (`worker_ready`, where a lock owned by a dead process of this same host is
broken at once) and from celery beat every minute (where an owner on another host is dead once its lock
expired). The re-sent task resumes from the newest checkpoint in the job's output directory. The same
lock makes duplicate deliveries harmless: a second copy of a running job finds the lock taken and
returns. And if a live worker ever loses its lock (it stalled past the TTL and the job was sent again),
its heartbeat notices the new owner and `should_stop` ends that attempt without finishing the job. Jobs whose message never reached the broker (broker down at submit) are sent again too.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from training.config_help import field_help
from training.uncertainty import has_ensemble
from training.launch_checks import check_snapshots
from training.engine.config import ConfigError, from_dict
from training.models import DatasetSnapshot, Job, JobKind, JobMetric, JobState, ModelKind, ModelVersion, SnapshotKind

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 60
CANCEL_POLL_SECONDS = 1.0
LANGUAGE_MODEL_KINDS = (ModelKind.BASE, ModelKind.SFT, ModelKind.POLICY)


class JobError(ValueError):
    """A launch or state change that breaks a rule, tied to a request field (`config.k`, `input_models`)."""

    def __init__(self, field, message, status=400):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


# ---- the job's own config fields, per kind (the engine's fields are in training.engine) --------------


@dataclass
class BootstrapFields:
    texts: list[str] = field(default_factory=list)  # pretraining text; also the input snapshots' text, else the prompts in the database


@dataclass
class NoFields:
    pass


@dataclass
class PromptFields:
    prompt_ids: list[int] = field(default_factory=list)  # these prompts, or else all prompts of `split`
    split: str = ""
    limit: int = 0                                     # at most this many prompts (0: all)


@dataclass
class PPOFields(PromptFields):
    split: str = "ppo"
    preset: str = ""                                   # "instructgpt": β 0.02, γ_ptx 27.8 (then the fields given)


@dataclass
class RMFields:
    ensemble_heads: int = 0       # 2..64: also train that many bootstrap heads on the RM (uncertainty; 0: none)


@dataclass
class SampleFields(PromptFields):
    labelers_required: int = 1                         # labelers per ranking task
    priority: int = 0
    order_by_uncertainty: bool = False                 # most uncertain first, by the input RM ensemble (training.uncertainty)
    uncertainty_budget: int = 0                        # with order_by_uncertainty: keep the N most uncertain (0: all)


@dataclass
class DPOFields:
    reference: int | None = None  # model version id of the reference π_ref (default: the input model)


@dataclass
class BoNFields(PromptFields):
    split: str = "ppo"            # the prompts to sample N answers for


EVALUATION_MODES = ("rm_accuracy", "reward_win_rate", "human_comparison")


@dataclass
class EvaluateFields(PromptFields):
    mode: str = "rm_accuracy"     # rm_accuracy | reward_win_rate | human_comparison
    split: str = "eval"
    candidate: int | None = None  # model version ids; by default taken from input_models
    baseline: int | None = None
    judge: int | None = None      # the reward model judging reward_win_rate
    labelers_required: int = 1


def _engine_config(kind):
    """The engine's config dataclass and the function that builds it from a dict, per job kind."""
    if kind == JobKind.BOOTSTRAP:
        from training.engine.bootstrap import BootstrapConfig as cls
    elif kind == JobKind.SFT:
        from training.engine.sft import SFTConfig as cls
    elif kind == JobKind.RM:
        from training.engine.reward import RMConfig as cls
    elif kind == JobKind.PPO:
        from training.engine.ppo import PPOConfig as cls
    elif kind == JobKind.DPO:
        from training.engine.dpo import DPOConfig as cls
    elif kind == JobKind.BON:
        from training.engine.best_of_n import BoNConfig as cls
    else:
        from training.engine.sampling import SamplingConfig as cls
    return cls


JOB_FIELDS = {
    JobKind.BOOTSTRAP: BootstrapFields,
    JobKind.SFT: NoFields,
    JobKind.RM: RMFields,
    JobKind.PPO: PPOFields,
    JobKind.SAMPLE: SampleFields,
    JobKind.EVALUATE: EvaluateFields,
    JobKind.DPO: DPOFields,
    JobKind.BON: BoNFields,
}

CHOICES = {
    "mixed_precision": ("no", "fp16", "bf16"),
    "arch": ("gpt2", "llama"),
    "mode": EVALUATION_MODES,
    "preset": ("", "instructgpt"),
    "loss": ("pairwise", "listwise"),
}


def split_config(kind, config):
    """(job fields, engine config) from one launch config; each raises JobError naming the field."""
    if not isinstance(config, dict):
        raise JobError("config", "must be a JSON object")
    fields_cls = JOB_FIELDS[kind]
    own_names = {f.name for f in dataclasses.fields(fields_cls)}
    own = {k: v for k, v in config.items() if k in own_names}
    rest = {k: v for k, v in config.items() if k not in own_names}
    try:
        job_fields = from_dict(fields_cls, own)
        engine_cls = _engine_config(kind)
        if kind == JobKind.PPO and job_fields.preset:
            if job_fields.preset not in CHOICES["preset"]:
                raise ConfigError("preset", "must be one of instructgpt")
            engine = engine_cls.from_preset(job_fields.preset, **rest)
        else:
            engine = from_dict(engine_cls, rest)
    except ConfigError as exc:
        raise JobError(f"config.{exc.field}", exc.message) from exc
    _check_fields(job_fields)
    if kind == JobKind.SAMPLE:
        from labeling.models import MAX_K, MIN_K

        if not MIN_K <= engine.k <= MAX_K:
            raise JobError("config.k", f"a ranking task shows {MIN_K} to {MAX_K} answers")
    return job_fields, engine


def _check_fields(fields):
    from labeling.models import Split

    if isinstance(fields, PromptFields):
        if fields.split and fields.split not in Split.values:
            raise JobError("config.split", f"must be one of {', '.join(Split.values)}")
        if fields.limit < 0:
            raise JobError("config.limit", "must be >= 0")
    if isinstance(fields, RMFields) and fields.ensemble_heads and not 2 <= fields.ensemble_heads <= 64:
        raise JobError("config.ensemble_heads", "must be 0 (no ensemble) or from 2 to 64")
    if isinstance(fields, SampleFields) and fields.uncertainty_budget < 0:
        raise JobError("config.uncertainty_budget", "must be >= 0")
    if isinstance(fields, SampleFields) and fields.uncertainty_budget and not fields.order_by_uncertainty:
        raise JobError("config.uncertainty_budget", "a budget picks the most uncertain prompts: set order_by_uncertainty")
    if isinstance(fields, (SampleFields, EvaluateFields)) and not 1 <= fields.labelers_required <= 20:
        raise JobError("config.labelers_required", "must be from 1 to 20")
    if isinstance(fields, EvaluateFields) and fields.mode not in EVALUATION_MODES:
        raise JobError("config.mode", f"must be one of {', '.join(EVALUATION_MODES)}")


def config_schema():
    """Per kind, the config fields a launch form needs: name, type, default, choices, and where each
    belongs (`job` or `engine`); plus which inputs the kind takes."""
    import typing

    out = {}
    for kind in JobKind.values:
        fields = []
        for source, cls in (("job", JOB_FIELDS[kind]), ("engine", _engine_config(kind))):
            hints, helps = typing.get_type_hints(cls), field_help(cls)
            for f in dataclasses.fields(cls):
                if kind in (JobKind.EVALUATE,) and source == "engine" and f.name == "k":
                    continue
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                entry = {"name": f.name, "type": _type_label(hints[f.name]), "default": default, "source": source,
                         "help": helps[f.name]}
                if f.name in CHOICES:
                    entry["choices"] = list(CHOICES[f.name])
                fields.append(entry)
        out[kind] = {"fields": fields, "inputs": INPUTS_HELP[kind]}
        if kind == JobKind.PPO:  # the form shows a preset's values, so what is sent is what was shown
            from training.engine.ppo import PRESETS

            out[kind]["presets"] = {name: values for name, values in PRESETS.items() if name in CHOICES["preset"]}
    return {"kinds": out}


def _type_label(tp):
    import typing

    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is list:
        return "list"
    if args and typing.get_origin(tp) is not list:
        tp = args[0]
    return {int: "int", float: "float", bool: "bool", str: "str", dict: "json"}.get(tp, "str")


INPUTS_HELP = {
    JobKind.BOOTSTRAP: "no model; optional snapshots whose text is added to the pretraining text",
    JobKind.SFT: "one language model (base, sft or policy) and one sft snapshot",
    JobKind.RM: "one model (base, sft or rm) and one pairs or rankings snapshot; optional sft snapshot "
                "(demonstrations that normalise the reward to mean 0)",
    JobKind.PPO: "one language model (the SFT policy) and one reward model; optional sft snapshot (PPO-ptx data)",
    JobKind.SAMPLE: "one language model",
    JobKind.EVALUATE: "rm_accuracy: one reward model and one pairs or rankings snapshot; reward_win_rate: "
                      "candidate and baseline language models and a reward model; human_comparison: two language models",
    JobKind.DPO: "one language model (the SFT policy, also the reference unless config.reference) and one pairs or "
                 "rankings snapshot",
    JobKind.BON: "one language model to sample from and one reward model that picks the best of N",
}


# ---- launching -----------------------------------------------------------------------------------


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
        if model_id is None:
            return default
        model = ModelVersion.objects.filter(pk=model_id).first()
        if model is None:
            raise JobError(f"config.{field}", f"model version {model_id} does not exist")
        if model.kind not in expected_kinds:
            raise JobError(f"config.{field}", f"model version {model_id} is a {model.kind} model")
        return model

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
        from training.runners import select_prompts

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


# ---- the lock that says a worker is alive on a job ----------------------------------------------


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


# ---- running (in the worker) --------------------------------------------------------------------


def claim(job_id, host):
    """Move the job to running for this attempt; None when it must not run (finished, cancelled)."""
    now = timezone.now()
    Job.objects.filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING], cancel_requested=True).update(
        state=JobState.CANCELLED, finished_at=now)
    claimed = Job.objects.filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING]).update(
        state=JobState.RUNNING, attempts=F("attempts") + 1, worker_host=host,
        started_at=Coalesce(F("started_at"), now), error="")
    return Job.objects.get(pk=job_id) if claimed else None


class RunContext:
    """What a runner gets: the job, its output folder, progress/metric writes, the cancel poll, a log."""

    def __init__(self, job, lock=None):
        self.job = job
        self.lock = lock
        self.output_dir = Path(job.output_dir)
        self.lines = deque(job.log_tail.splitlines(), maxlen=LOG_TAIL_LINES)
        self._last_poll = 0.0
        self._stop = False

    def log(self, message):
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}"
        self.lines.append(line)
        log.info("job %s: %s", self.job.pk, message)
        Job.objects.filter(pk=self.job.pk).update(log_tail="\n".join(self.lines))

    def on_progress(self, step, total, metrics):
        values = {k: float(v) for k, v in (metrics or {}).items() if isinstance(v, (int, float))}
        progress = min(max(step / total, 0.0), 1.0) if total else 0.0
        JobMetric.objects.create(job_id=self.job.pk, step=step, values=values)
        self.lines.append(f"step {step}/{total} " + " ".join(f"{k}={v:.4g}" for k, v in values.items()))
        Job.objects.filter(pk=self.job.pk, state=JobState.RUNNING).update(
            progress=progress, log_tail="\n".join(self.lines))

    def should_stop(self):
        if self.lock is not None and self.lock.lost.is_set():
            return True
        now = time.monotonic()
        if not self._stop and now - self._last_poll >= CANCEL_POLL_SECONDS:
            self._last_poll = now
            self._stop = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._stop


@dataclass
class Outcome:
    """What a runner returns: its result (saved on the job) and whether it stopped early on cancel."""

    result: dict = field(default_factory=dict)
    stopped: bool = False


def resume_step(output_dir):
    """The step of the newest checkpoint in the output folder (0 when starting fresh)."""
    from training.engine.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(output_dir)
    return int(checkpoint.name.split("-")[1]) if checkpoint else 0


def execute(job_id):
    """Run one delivery of a job (the body of training.tasks.run_job). Returns what happened."""
    from training import runners

    lock = JobLock(job_id)
    if not lock.acquire():
        lock.break_if_dead_here()
        if not lock.acquire():
            log.info("job %s is running elsewhere (%s); this delivery does nothing", job_id, lock.holder())
            return "busy"
    try:
        job = claim(job_id, f"{socket.gethostname()} pid {os.getpid()}")
        if job is None:
            return "skipped"
        lock.start_heartbeat()
        ctx = RunContext(job, lock)
        step = resume_step(job.output_dir)
        if job.attempts > 1:
            JobMetric.objects.filter(job=job, step__gt=step).delete()
            ctx.log(f"attempt {job.attempts} on {job.worker_host}: resuming from step {step}")
        else:
            ctx.log(f"started on {job.worker_host}")
        resumed = list(job.result.get("resumed_from_steps", [])) + ([step] if job.attempts > 1 else [])
        try:
            outcome = runners.run(job, ctx)
        except Exception as exc:
            detail = f"{exc.field}: {exc.message}" if isinstance(exc, (ConfigError, JobError)) else f"{type(exc).__name__}: {exc}"
            ctx.log("failed: " + detail + "\n" + traceback.format_exc(limit=8))
            finish(job_id, JobState.FAILED, error=detail, result={"resumed_from_steps": resumed} if resumed else None)
            return JobState.FAILED
        result = dict(outcome.result, **({"resumed_from_steps": resumed} if resumed else {}))
        if outcome.stopped and lock.lost.is_set():
            log.warning("job %s was taken over by %s; this attempt stops without finishing it", job_id, lock.holder())
            return "taken over"
        if outcome.stopped:
            ctx.log("cancelled; checkpoint saved")
            finish(job_id, JobState.CANCELLED, result=result)
            return JobState.CANCELLED
        ctx.log("succeeded")
        finish(job_id, JobState.SUCCEEDED, result=result)
        return JobState.SUCCEEDED
    finally:
        lock.release()


def finish(job_id, state, result=None, error=""):
    fields = {"state": state, "finished_at": timezone.now(), "error": error}
    if state == JobState.SUCCEEDED:
        fields["progress"] = 1.0
    if result is not None:
        fields["result"] = result
    Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(**fields)


# ---- recovery ------------------------------------------------------------------------------------


def recover_jobs(unsent_after_seconds=60):
    """Send again every running job that no live worker holds, and queued jobs whose message never
    reached the broker. Returns the ids sent."""
    sent = []
    for job_id in Job.objects.filter(state=JobState.RUNNING).values_list("pk", flat=True):
        lock = JobLock(job_id)
        if lock.break_if_dead_here():
            log.warning("job %s was left running by a dead worker; sending it again", job_id)
            if enqueue(job_id):
                sent.append(job_id)
    cutoff = timezone.now() - timezone.timedelta(seconds=unsent_after_seconds)
    for job_id in Job.objects.filter(state=JobState.QUEUED, celery_task_id="", created_at__lt=cutoff).values_list("pk", flat=True):
        if enqueue(job_id):
            sent.append(job_id)
    return sent
