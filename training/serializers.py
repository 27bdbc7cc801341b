"""Serializers of the jobs and model registry API. Launch validation lives in training.jobs; these
only shape requests and responses."""

from rest_framework import serializers

from training.models import DatasetSnapshot, Job, JobKind, JobMetric, ModelKind, ModelVersion


class JobMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobMetric
        fields = ["step", "values", "created_at"]


class JobSerializer(serializers.ModelSerializer):
    input_snapshots = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    input_models = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    model_versions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Job
        fields = ["id", "kind", "name", "config", "state", "progress", "input_snapshots", "input_models",
                  "model_versions", "output_dir", "result", "error", "worker_host", "attempts", "cancel_requested",
                  "celery_task_id", "created_by", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    """One job with its log tail and its whole metrics series."""

    metrics = JobMetricSerializer(source="metric_points", many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = JobSerializer.Meta.fields + ["log_tail", "metrics"]
        read_only_fields = fields


class JobLaunchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=JobKind.choices)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    config = serializers.JSONField(required=False, default=dict)
    input_snapshots = serializers.PrimaryKeyRelatedField(many=True, queryset=DatasetSnapshot.objects.all(), required=False, default=list)
    input_models = serializers.PrimaryKeyRelatedField(many=True, queryset=ModelVersion.objects.all(), required=False, default=list)

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        return value


class ModelVersionSerializer(serializers.ModelSerializer):
    parents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["id", "name", "kind", "parents", "job", "artifact_path", "metrics", "created_at"]
        read_only_fields = fields


class ModelRegisterSerializer(serializers.Serializer):
    """Register an existing save_pretrained folder (e.g. a converted SmolLM2) as a model version."""

    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ModelKind.choices)
    artifact_path = serializers.CharField(max_length=500)
    parents = serializers.PrimaryKeyRelatedField(many=True, queryset=ModelVersion.objects.all(), required=False, default=list)
