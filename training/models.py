"""Training-side records: frozen dataset snapshots, training jobs and the model registry.

Job state is the source of truth for a job (not the Celery result backend): the worker writes state,
progress and metrics here as it goes, so a re-delivered job knows where it stands.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class SnapshotKind(models.TextChoices):
    SFT = "sft", "SFT demonstrations"
    PAIRS = "pairs", "Comparison pairs"
    RANKINGS = "rankings", "K-wise rankings"


class DatasetSnapshot(models.Model):
    """An immutable, content-hashed export of labels: the filter that made it, its counts and a JSON
    Lines file under ARTIFACT_ROOT in the SPEC's format."""

    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=SnapshotKind.choices)
    filters = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, db_index=True)
    file_path = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.kind} snapshot {self.pk} ({self.content_hash[:12]})"


class ModelKind(models.TextChoices):
    BASE = "base"
    SFT = "sft", "SFT"
    RM = "rm", "Reward model"
    POLICY = "policy"


class ModelVersion(models.Model):
    """A registered model: a save_pretrained directory plus its lineage (base -> SFT -> RM -> policy)."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=ModelKind.choices)
    parents = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="children")
    job = models.ForeignKey("Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions")
    artifact_path = models.CharField(max_length=500)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    def lineage(self):
        """Ancestors, nearest first (each model's parents before theirs)."""
        seen, order, frontier = set(), [], list(self.parents.all())
        while frontier:
            model = frontier.pop(0)
            if model.pk in seen:
                continue
            seen.add(model.pk)
            order.append(model)
            frontier.extend(model.parents.all())
        return order


class JobKind(models.TextChoices):
    BOOTSTRAP = "bootstrap"
    SFT = "sft", "SFT"
    RM = "rm", "Reward model"
    PPO = "ppo", "PPO"
    SAMPLE = "sample"
    EVALUATE = "evaluate"
    DPO = "dpo", "DPO / listwise"
    BON = "bon", "Best-of-N"


class JobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATES = {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


class Job(models.Model):
    """A training, sampling or evaluation job on the `gpu` queue.

    queued -> running -> succeeded | failed | cancelled. A cancel request is a flag the worker polls;
    a worker killed mid-job leaves the job `running` and the re-delivered task resumes it."""

    kind = models.CharField(max_length=16, choices=JobKind.choices)
    name = models.CharField(max_length=200, blank=True)
    config = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    input_snapshots = models.ManyToManyField(DatasetSnapshot, blank=True, related_name="jobs")
    input_models = models.ManyToManyField(ModelVersion, blank=True, related_name="consumer_jobs")
    output_dir = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    log_tail = models.TextField(blank=True)
    error = models.TextField(blank=True)
    worker_host = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    celery_task_id = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_0_1"),
        ]

    def __str__(self):
        return f"{self.kind} job {self.pk} ({self.state})"

    @property
    def is_terminal(self):
        return self.state in TERMINAL_STATES


class JobMetric(models.Model):
    """One point of a job's metrics time series (loss, reward, KL ... at a step)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="metric_points")
    step = models.PositiveIntegerField()
    values = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "step", "id"]
        indexes = [models.Index(fields=["job", "step"])]
