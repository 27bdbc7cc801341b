"""POST /api/demonstration-reviews/  {"ids": [...], "decision": "accept"|"reject", "comment": "..."}:
an admin reviews many demonstrations at once (labeling/review.py). One at a time stays
POST /api/demonstrations/{id}/review/."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from labeling import serializers
from labeling.review import review_many


@extend_schema(request=dict, responses={200: serializers.DemonstrationSerializer(many=True)})
@api_view(["POST"])
@permission_classes([IsAdmin])
def bulk_review(request):
    data = request.data if isinstance(request.data, dict) else {}
    reviewed = review_many(data.get("ids"), request.user, data.get("decision"), data.get("comment", ""))
    return Response(serializers.DemonstrationSerializer(reviewed, many=True).data)


urlpatterns = [path("demonstration-reviews/", bulk_review, name="demonstration-reviews")]
