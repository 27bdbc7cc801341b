"""The model registry: every training job's output becomes a ModelVersion (kind, parents, the job that
made it, its artifact folder under ARTIFACT_ROOT/models/, its metrics), so lineage reads
base -> SFT -> RM -> policy. Existing Hugging Face folders (a downloaded or converted model) can be
registered too, as a base model or any other kind.
"""

from pathlib import Path

from django.conf import settings
from django.db import transaction

from training.models import ModelKind, ModelVersion

JOB_OUTPUT_KIND = {"bootstrap": ModelKind.BASE, "sft": ModelKind.SFT, "rm": ModelKind.RM, "ppo": ModelKind.POLICY,
                   "dpo": ModelKind.POLICY, "bon": ModelKind.POLICY}


def models_root():
    return Path(settings.ARTIFACT_ROOT) / "models"


def default_name(job, kind):
    return job.name or f"{kind}-job-{job.pk}"


@transaction.atomic
def register_job_output(job, artifact_path, parents=(), metrics=None, name=""):
    """The model version a job produced; a re-delivered job gets the same row back, not a second one."""
    kind = JOB_OUTPUT_KIND[job.kind]
    model, created = ModelVersion.objects.get_or_create(
        job=job, artifact_path=str(artifact_path),
        defaults={"kind": kind, "name": name or default_name(job, kind), "metrics": _clean(metrics or {})})
    if created:
        model.parents.set(parents)
    return model


def register_existing(name, kind, artifact_path, parents=(), metrics=None):
    """Register a model folder that no job made (e.g. a converted SmolLM2). It must look like a
    save_pretrained folder: a directory with config.json."""
    path = Path(artifact_path)
    if kind not in ModelKind.values:
        raise ValueError(f"kind must be one of {', '.join(ModelKind.values)}")
    if not (path.is_dir() and (path / "config.json").is_file()):
        raise FileNotFoundError(f"{path} is not a save_pretrained folder (no config.json)")
    with transaction.atomic():
        model = ModelVersion.objects.create(name=name, kind=kind, artifact_path=str(path.resolve()), metrics=_clean(metrics or {}))
        model.parents.set(parents)
    return model


def lineage_chain(model):
    """The model and its ancestors, nearest first, as plain dicts (for the API and the CLI)."""
    return [describe(m) for m in [model, *model.lineage()]]


def describe(model):
    return {"id": model.pk, "name": model.name, "kind": model.kind, "job": model.job_id,
            "parents": sorted(p.pk for p in model.parents.all()), "artifact_path": model.artifact_path,
            "metrics": model.metrics}


def _clean(metrics):
    """Metrics as JSON numbers/strings only (NaN would break the JSON field on PostgreSQL)."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        if isinstance(value, float) and value != value:
            continue
        out[key] = value
    return out
