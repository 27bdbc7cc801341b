"""Dataset snapshot API: freeze, list, download (JSON Lines). ML engineers and admins freeze and
read; the rules of freezing live in training.datasets."""

from django.http import FileResponse
from django.urls import path
from django.utils.text import slugify
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from accounts.permissions import IsMLEngineer, IsMLEngineerOrAdminReadOnly
from training.datasets import freeze_snapshot
from training.models import DatasetSnapshot, SnapshotKind


class SnapshotSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DatasetSnapshot
        fields = ["id", "name", "kind", "filters", "counts", "content_hash", "created_by", "created_at", "download_url"]
        read_only_fields = ["counts", "content_hash", "created_by", "created_at"]

    def get_download_url(self, snapshot) -> str:
        return f"/api/snapshots/{snapshot.id}/download/"


class FreezeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SnapshotKind.values)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    filters = serializers.JSONField(required=False, default=dict, help_text=(
        '{"splits": ["rm"], "guideline_versions": [3], "min_agreement": 0.6, "exclude_labelers": [7, "bob"], '
        '"include_submitted": false}'))


class SnapshotList(generics.ListCreateAPIView):
    """Frozen dataset snapshots, newest first (filter with ?kind=). POST freezes a new one from the
    current labels: its file is written and hashed before the answer comes back."""

    queryset = DatasetSnapshot.objects.select_related("created_by")
    serializer_class = SnapshotSerializer
    permission_classes = [IsMLEngineerOrAdminReadOnly]
    filterset_fields = ["kind"]
    ordering_fields = ["id", "created_at"]
    ordering = ["-id"]

    @extend_schema(request=FreezeSerializer, responses={201: SnapshotSerializer})
    def post(self, request, *args, **kwargs):
        form = FreezeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        snapshot = freeze_snapshot(user=request.user, **form.validated_data)  # a RuleError is a 400 naming its field
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


class SnapshotDetail(generics.RetrieveAPIView):
    """One snapshot: its filter, counts and content hash. Snapshots are immutable."""

    queryset = DatasetSnapshot.objects.select_related("created_by")
    serializer_class = SnapshotSerializer
    permission_classes = [IsMLEngineerOrAdminReadOnly]


def download_name(snapshot):
    """A file name safe in a Content-Disposition header: ascii letters, digits and dashes."""
    stem = slugify(snapshot.name)[:80] or "snapshot"
    return f"{stem}-{snapshot.kind}-{snapshot.id}.jsonl"


@extend_schema(responses={(200, "application/jsonl"): bytes})
@api_view(["GET"])
@permission_classes([IsMLEngineer])
def download(request, pk):
    """The snapshot's JSON Lines file, streamed. The ETag is the content hash."""
    snapshot = get_object_or_404(DatasetSnapshot, pk=pk)
    try:
        handle = open(snapshot.file_path, "rb")
    except OSError:
        raise NotFound("The snapshot's file is missing from the artifact store.") from None
    response = FileResponse(handle, as_attachment=True, filename=download_name(snapshot), content_type="application/jsonl")
    response["ETag"] = f'"{snapshot.content_hash}"'
    return response


urlpatterns = [
    path("snapshots/", SnapshotList.as_view(), name="snapshot-list"),
    path("snapshots/<int:pk>/", SnapshotDetail.as_view(), name="snapshot-detail"),
    path("snapshots/<int:pk>/download/", download, name="snapshot-download"),
]
