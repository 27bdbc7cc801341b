"""GET /api/work-in-preparation/: whether ranking tasks are on their way, for the labeler's start page.

Labelers see no jobs (admins and ML engineers do), but a labeler who finds no task while a sampling
job is still generating the answers should be told that more work is coming, not just "no tasks".
Only the number of sampling jobs queued or running and their mean progress are shown."""

from django.db.models import Avg, Count
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from training.models import Job, JobKind, JobState


def work_in_preparation():
    found = Job.objects.filter(kind=JobKind.SAMPLE, state__in=[JobState.QUEUED, JobState.RUNNING]).aggregate(
        jobs=Count("id"), progress=Avg("progress"))
    return {"sampling_jobs": found["jobs"], "progress": round(found["progress"] or 0.0, 3)}


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def preparing(request):
    return Response(work_in_preparation())


urlpatterns = [path("work-in-preparation/", preparing, name="work-in-preparation")]
