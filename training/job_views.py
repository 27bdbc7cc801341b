"""Jobs, model registry and evaluation API (ML engineers launch and cancel; admins read).

    GET/POST /api/jobs/                   list (filters: kind, state; ordering) / launch
    GET      /api/jobs/config-schema/     the config fields of every kind, for a launch form
    GET      /api/jobs/{id}/              one job with its log tail and metrics series
    POST     /api/jobs/{id}/cancel/       cancel (409 when already finished)
    GET      /api/jobs/{id}/metrics/      the metrics series (?after_step=N for what is new)
    GET/POST /api/models/                 model versions (filters: kind, job) / register a folder
    GET      /api/models/{id}/            one model version
    GET      /api/models/{id}/lineage/    the model and its ancestors, nearest first
    GET      /api/evaluations/win-rates/  win-rate table (people's comparisons and RM-judged runs)
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from accounts.permissions import IsMLEngineerOrAdminReadOnly
from training import evaluation, jobs, registry
from training.models import Job, JobMetric, ModelVersion
from training.serializers import (JobDetailSerializer, JobLaunchSerializer, JobMetricSerializer, JobSerializer,
                                  ModelRegisterSerializer, ModelVersionSerializer)
from web.params import MAX_ID, query


class JobList(generics.ListCreateAPIView):
    """Jobs, newest first. POST launches one: it is validated against the engine's config and queued."""

    permission_classes = [IsMLEngineerOrAdminReadOnly]
    queryset = Job.objects.prefetch_related("input_snapshots", "input_models", "model_versions")
    filterset_fields = ["kind", "state"]
    ordering_fields = ["id", "created_at", "started_at", "finished_at", "state"]
    search_fields = ["name"]

    def get_serializer_class(self):
        return JobLaunchSerializer if self.request.method == "POST" else JobSerializer

    @extend_schema(request=JobLaunchSerializer, responses={201: JobDetailSerializer})
    def post(self, request, *args, **kwargs):
        launch = JobLaunchSerializer(data=request.data)
        launch.is_valid(raise_exception=True)
        with transaction.atomic():  # a JobError (web/errors.py: 400 naming `config.<field>`, 409) rolls back
            job = jobs.create_job(created_by=request.user, **launch.validated_data)
            jobs.submit(job)
        return Response(JobDetailSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetail(generics.RetrieveAPIView):
    permission_classes = [IsMLEngineerOrAdminReadOnly]
    queryset = Job.objects.prefetch_related("input_snapshots", "input_models", "model_versions", "metric_points")
    serializer_class = JobDetailSerializer


@extend_schema(request=None, responses={200: JobDetailSerializer})
@api_view(["POST"])
@permission_classes([IsMLEngineerOrAdminReadOnly])
def cancel_job(request, pk):
    """Cancel a job: a queued one never runs; a running one stops within seconds and ends `cancelled`."""
    job = jobs.cancel(get_object_or_404(Job, pk=pk))  # 409 (a JobError) when it already finished
    return Response(JobDetailSerializer(job).data)


@extend_schema(parameters=[OpenApiParameter("after_step", int, description="only points after this step")],
               responses={200: JobMetricSerializer(many=True)})
@api_view(["GET"])
@permission_classes([IsMLEngineerOrAdminReadOnly])
def job_metrics(request, pk):
    """The job's metrics time series, in step order."""
    params = query(request, after_step=serializers.IntegerField(required=False, min_value=-1, max_value=MAX_ID))
    points = JobMetric.objects.filter(job=get_object_or_404(Job, pk=pk))
    if "after_step" in params:
        points = points.filter(step__gt=params["after_step"])
    return Response(JobMetricSerializer(points, many=True).data)


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsMLEngineerOrAdminReadOnly])
def config_schema(request):
    """Per job kind: each config field's name, type, default, choices and whether it is the job's own
    field or the engine's; and which inputs the kind takes."""
    return Response(jobs.config_schema())


class ModelList(generics.ListCreateAPIView):
    """Registered model versions. POST registers an existing save_pretrained folder."""

    permission_classes = [IsMLEngineerOrAdminReadOnly]
    queryset = ModelVersion.objects.prefetch_related("parents")
    filterset_fields = ["kind", "job"]
    ordering_fields = ["id", "created_at", "name"]
    search_fields = ["name"]

    def get_serializer_class(self):
        return ModelRegisterSerializer if self.request.method == "POST" else ModelVersionSerializer

    @extend_schema(request=ModelRegisterSerializer, responses={201: ModelVersionSerializer})
    def post(self, request, *args, **kwargs):
        data = ModelRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            model = registry.register_existing(**data.validated_data)
        except FileNotFoundError as exc:
            return Response({"artifact_path": [str(exc)]}, status=400)
        return Response(ModelVersionSerializer(model).data, status=status.HTTP_201_CREATED)


class ModelDetail(generics.RetrieveAPIView):
    permission_classes = [IsMLEngineerOrAdminReadOnly]
    queryset = ModelVersion.objects.prefetch_related("parents")
    serializer_class = ModelVersionSerializer


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsMLEngineerOrAdminReadOnly])
def model_lineage(request, pk):
    """The model and its ancestors, nearest first (policy -> RM, SFT -> base)."""
    model = get_object_or_404(ModelVersion, pk=pk)
    return Response({"model": model.pk, "lineage": registry.lineage_chain(model)})


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsMLEngineerOrAdminReadOnly])
def win_rates(request):
    """Win rate of each model against its baseline: people's side-by-side comparisons (judge "human")
    and reward-model-judged evaluation jobs. Ties count half; 95% intervals by a bootstrap over prompts."""
    return Response({"rows": evaluation.win_rate_table(),
                     "method": "ties count half; 95% interval: bootstrap resampling prompts (all comparisons of a "
                               "prompt together), 2.5th-97.5th percentile of (wins + ties/2) / n"})


urlpatterns = [
    path("jobs/", JobList.as_view(), name="job-list"),
    path("jobs/config-schema/", config_schema, name="job-config-schema"),
    path("jobs/<int:pk>/", JobDetail.as_view(), name="job-detail"),
    path("jobs/<int:pk>/cancel/", cancel_job, name="job-cancel"),
    path("jobs/<int:pk>/metrics/", job_metrics, name="job-metrics"),
    path("models/", ModelList.as_view(), name="model-list"),
    path("models/<int:pk>/", ModelDetail.as_view(), name="model-detail"),
    path("models/<int:pk>/lineage/", model_lineage, name="model-lineage"),
    path("evaluations/win-rates/", win_rates, name="win-rates"),
]
