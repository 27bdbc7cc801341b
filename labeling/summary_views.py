"""GET /api/work/summary/: for the signed-in labeler, ranking and demonstration tasks waiting for them
and tasks they finished today (labeling/work_summary.py), shown on their start page."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from accounts.permissions import IsLabeler
from labeling.work_summary import work_summary


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsLabeler])
def summary(request):
    return Response(work_summary(request.user))


urlpatterns = [path("work/summary/", summary, name="work-summary")]
