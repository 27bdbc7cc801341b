"""Labeling workflow API: guidelines, prompts, tasks, next task, rankings, demonstrations.

Thin shells: each view checks the request shape (serializers.py) and calls the rule it stands for
(assignment.py, submission.py, guidelines.py, prompt_import.py). A broken rule raises one of
labeling.errors (RuleError, Conflict, TooLarge), which web/errors.py turns into HTTP for every view at
once; someone else's object is a 404 (every queryset is scoped to what the caller may see, so a
guessed id finds nothing).

Routes (all under /api/):
- guidelines/ (+ {id}/versions/), guideline-versions/{id}/ (+ publish/)
- prompts/ (+ import/), tasks/ (+ import/)
- work/next/, work/history/, assignments/{id}/ (+ ranking/, demonstration/, skip/)
- demonstrations/ (+ {id}/review/), rankings/
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import fields, mixins, parsers, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.permissions import IsAdmin, IsAdminOrReadOnlyForStaff, IsLabeler
from accounts.roles import ADMIN, ML_ENGINEER, user_roles
from labeling import filters, guidelines, models, prompt_import, submission
from labeling import serializers
from labeling.assignment import change_labelers_required, next_assignments
from labeling.errors import Conflict, TooLarge
from labeling.models import (Assignment, AssignmentState, Demonstration, Guideline, GuidelineVersion, Prompt, Ranking,
                             RankedResponse, Task, TaskResponse)
from labeling.text import check_text
from web.parsers import CheckedFormParser, CheckedMultiPartParser, JSONObjectParser


def roles(request):
    if not hasattr(request, "_roles"):
        request._roles = user_roles(request.user)
    return request._roles


def sees_everything(request):
    return bool(roles(request) & {ADMIN, ML_ENGINEER})


def check_body_size(request, limit):
    """Refuse a body over `limit` bytes before parsing it (DRF reads JSON bodies without a limit)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise TooLarge(None, f"The request body is {length} bytes; at most {limit}.")


def ranking_body_limit():
    return 4 * settings.MAX_TEXT_LENGTH + 64 * 1024


class AdminWritesOthersRead(permissions.BasePermission):
    """Every signed-in user reads (labelers read the guidelines); admins write."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return ADMIN in roles(request)


class TextUploadParser(parsers.BaseParser):
    """A JSON Lines or CSV file sent as the raw request body."""

    media_type = "*/*"
    text_types = ("application/jsonl", "application/x-ndjson", "application/x-jsonlines", "application/jsonlines",
                  "text/csv", "text/plain")

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        return {"content": prompt_import.decode(raw), "format": "csv" if "csv" in (media_type or "") else "jsonl"}


IMPORT_PARSERS = [JSONObjectParser, CheckedMultiPartParser, CheckedFormParser, TextUploadParser]


def read_import(request):
    """(content, format, options) of an import request: a multipart `file`, a JSON `content`, or the raw body."""
    check_body_size(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if not hasattr(request.data, "dict") and not isinstance(request.data, dict):  # e.g. a JSON string or list
        raise ValidationError({"non_field_errors": ["send a JSON object, a multipart form or the file as the body"]})
    data = request.data.dict() if hasattr(request.data, "dict") else dict(request.data)
    for name in ("format", "source", "split", "category", "labelers_required", "batch"):
        if name in request.query_params and name not in data:
            data[name] = request.query_params[name]
    if "file" in request.FILES:
        data["file"] = request.FILES["file"]
    form = serializers.ImportRequestSerializer(data=data)
    form.is_valid(raise_exception=True)
    options = form.validated_data
    upload = options.get("file")
    if upload is not None:
        content = prompt_import.decode(upload.read())
        fmt = options.get("format") or prompt_import.guess_format(upload.name, upload.content_type)
        source = options.get("source") or upload.name
    else:
        content, fmt, source = options["content"], options.get("format") or "jsonl", options.get("source", "")
    return content, fmt, {**options, "source": check_text(source, "source")}  # a file name is stored too


def import_response(result):
    if result.errors:
        return Response({"created": 0, "errors": result.errors}, status=status.HTTP_400_BAD_REQUEST)
    return Response({"created": result.created, "errors": [], "ids": [o.pk for o in result.objects],
                     "skipped": getattr(result, "skipped", [])}, status=status.HTTP_201_CREATED)


IMPORT_DOC = dict(
    request={"multipart/form-data": serializers.ImportRequestSerializer, "application/json": serializers.ImportRequestSerializer,
             "application/jsonl": OpenApiTypes.STR, "text/csv": OpenApiTypes.STR},
    # 400: the bad lines as {created: 0, errors: [{line, field, message}]}, or a field error of the
    # request itself ({"file": [...]}): two shapes, so documented as an object.
    responses={201: serializers.ImportResultSerializer, 400: OpenApiResponse(OpenApiTypes.OBJECT, description=(
        "Nothing imported. Either `created` 0 with `errors` listing every bad line as {line, field, message}, "
        "or the request's own field errors, e.g. {\"file\": [...]}."))},
)


# Guidelines


@extend_schema_view(
    versions=extend_schema(methods=["GET"], responses=serializers.GuidelineVersionSerializer(many=True)),
)
class GuidelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Labeling guidelines. Everyone signed in reads them; admins create them and add versions."""

    queryset = Guideline.objects.prefetch_related("versions").order_by("name")
    serializer_class = serializers.GuidelineSerializer
    permission_classes = [AdminWritesOthersRead]
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = ["name"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "id"]

    @extend_schema(methods=["POST"], request=serializers.GuidelineVersionSerializer, responses={201: serializers.GuidelineVersionSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=serializers.GuidelineVersionSerializer)
    def versions(self, request, pk=None):
        """GET: the version history (drafts only for admins). POST: add a version (`publish`: true to publish at once)."""
        guideline = self.get_object()
        if request.method == "POST":
            form = serializers.GuidelineVersionSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            data = form.validated_data
            version = guidelines.add_version(guideline, data["body"], data.get("changelog", ""), request.user,
                                             publish=data.get("publish", False))
            return Response(serializers.GuidelineVersionSerializer(version).data, status=status.HTTP_201_CREATED)
        versions = guideline.versions.select_related("guideline").order_by("-number")
        if ADMIN not in roles(request):
            versions = versions.filter(published_at__isnull=False)
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(serializers.GuidelineVersionSerializer(page, many=True).data)


class GuidelineVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                              mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Guideline versions. A draft can be edited or deleted; once published it is frozen."""

    queryset = GuidelineVersion.objects.none()  # for the schema; get_queryset scopes every request

    serializer_class = serializers.GuidelineVersionSerializer
    permission_classes = [AdminWritesOthersRead]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = filters.GuidelineVersionFilter
    ordering_fields = ["number", "published_at", "id"]

    def get_queryset(self):
        versions = GuidelineVersion.objects.select_related("guideline").order_by("guideline_id", "-number")
        if ADMIN not in roles(self.request):
            versions = versions.filter(published_at__isnull=False)
        return versions

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k in ("body", "changelog")}
        guidelines.edit_draft(serializer.instance, **data)
        if serializer.validated_data.get("publish"):
            guidelines.publish(serializer.instance)

    def perform_destroy(self, instance):
        guidelines.delete_draft(instance)

    @extend_schema(request=None, responses=serializers.GuidelineVersionSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish a draft: from now on new labels record this version."""
        version = guidelines.publish(self.get_object())
        return Response(serializers.GuidelineVersionSerializer(version).data)


# Prompts and tasks


class PromptViewSet(viewsets.ModelViewSet):
    """Prompts. Admins create, edit and delete them until they are used (by a task, a response or a
    demonstration); ML engineers read them."""

    queryset = Prompt.objects.none()  # for the schema; get_queryset scopes every request

    serializer_class = serializers.PromptSerializer
    permission_classes = [IsAdminOrReadOnlyForStaff]
    filterset_class = filters.PromptFilter
    search_fields = ["text", "source"]
    ordering_fields = ["id", "created_at", "category", "split"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Prompt.objects.annotate(used=Exists(Task.objects.filter(prompt=OuterRef("pk")))
                                       | Exists(models.Response.objects.filter(prompt=OuterRef("pk")))
                                       | Exists(Demonstration.objects.filter(prompt=OuterRef("pk")))).order_by("id")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    def perform_update(self, serializer):
        if serializer.instance.used:
            raise Conflict("this prompt is used by tasks or labels and can no longer change")
        serializer.save()

    def perform_destroy(self, instance):
        if instance.used:
            raise Conflict("this prompt is used by tasks or labels and cannot be deleted")
        instance.delete()

    @extend_schema(**IMPORT_DOC, parameters=[OpenApiParameter("format", enum=["jsonl", "csv"])])
    @action(detail=False, methods=["post"], url_path="import", parser_classes=IMPORT_PARSERS,
            permission_classes=[IsAdmin])
    def import_file(self, request):
        """Import prompts from JSON Lines or CSV (multipart `file`, JSON `content`, or the raw body).
        All or nothing: if any line is bad nothing is imported and `errors` lists every bad line."""
        content, fmt, options = read_import(request)
        defaults = {k: options.get(k) for k in ("split", "category", "source")}
        return import_response(prompt_import.import_prompts(content, fmt, defaults, user=request.user,
                                                            allow_duplicates=options.get("allow_duplicates", False)))


@extend_schema_view(create=extend_schema(request=serializers.TaskCreateSerializer, responses={201: serializers.TaskSerializer}))
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Labeling tasks (admins create and tune them; ML engineers read). Labelers get tasks through
    work/next/ only, never here (a task may carry a gold ranking)."""

    queryset = Task.objects.none()  # for the schema; get_queryset scopes every request

    serializer_class = serializers.TaskSerializer
    permission_classes = [IsAdminOrReadOnlyForStaff]
    filterset_class = filters.TaskFilter
    search_fields = ["prompt__text", "batch"]
    ordering_fields = ["id", "created_at", "priority", "completed_count"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Task.objects.select_related("prompt").prefetch_related(
            Prefetch("task_responses", queryset=TaskResponse.objects.select_related("response"))).order_by("id")

    def perform_update(self, serializer):
        with transaction.atomic():
            if "labelers_required" in serializer.validated_data:  # never below the labelers at work on it
                value = serializer.validated_data.pop("labelers_required")
                change_labelers_required(serializer.instance.pk, value)
                serializer.instance.labelers_required = value
            serializer.save()

    def create(self, request, *args, **kwargs):
        """One task: `prompt_id` or `prompt` (text or conversation), `responses` (2..9 texts; none for a
        demonstration task), `kind`, `labelers_required`, `gold_ranks` (one rank per response) and `priority`."""
        form = serializers.TaskCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        with transaction.atomic():
            task = prompt_import.create_task(form.validated_data, batch=form.validated_data["batch"],
                                             user=request.user, prompt=form.existing_prompt)
        return Response(serializers.TaskSerializer(self.get_queryset().get(pk=task.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(**IMPORT_DOC)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=IMPORT_PARSERS,
            permission_classes=[IsAdmin])
    def import_file(self, request):
        """Create ranking tasks from JSON Lines: {"prompt", "responses", "gold_ranks"?, "labelers_required"?, "kind"?}
        per line. All or nothing, with every bad line listed."""
        content, fmt, options = read_import(request)
        defaults = {k: options.get(k) for k in ("split", "category", "source", "labelers_required") if options.get(k)}
        return import_response(prompt_import.import_tasks(content, fmt, defaults, batch=options.get("batch") or options["source"],
                                                          user=request.user))


# Work: next task, submit, skip, history


def guideline_for_work(task_kind):
    return serializers.guideline_payload(guidelines.current_version(task_kind))


def work_items(assignments):
    """Work-item dicts for these assignments (at most one query for the answer texts not yet read)."""
    texts = {}
    for assignment in assignments:
        texts.update(getattr(assignment, "texts", {}))
    missing = {rid for a in assignments for rid in a.display_order} - texts.keys()
    if missing:
        texts.update(models.Response.objects.filter(pk__in=missing).values_list("id", "text"))
    by_kind = {}  # each kind of task shows its own guideline; one query per kind
    for assignment in assignments:
        kind = assignment.task.kind
        if kind not in by_kind:
            by_kind[kind] = guideline_for_work(kind)
    return [serializers.work_item(a, texts, by_kind[a.task.kind]) for a in assignments]


class WorkViewSet(viewsets.GenericViewSet):
    """A labeler's work queue."""

    queryset = Assignment.objects.none()  # for the schema; get_queryset scopes every request

    permission_classes = [IsLabeler]
    filterset_class = filters.AssignmentFilter
    ordering_fields = ["id", "created_at", "completed_at"]

    def get_queryset(self):
        demo = Demonstration.objects.filter(task=OuterRef("task"), labeler=OuterRef("labeler"))
        return (Assignment.objects.filter(labeler=self.request.user).select_related("task__prompt")
                .annotate(ranking_id=F("ranking__id"), demonstration_id=Subquery(demo.values("id")[:1]),
                          seconds_spent=Coalesce(F("ranking__seconds_spent"), Subquery(demo.values("seconds_spent")[:1])))
                .order_by("-id"))

    @extend_schema(request=serializers.NextRequestSerializer, parameters=[
        OpenApiParameter("prefetch", bool, description="Lease the following task too and return it under `next`."),
        OpenApiParameter("kind", str, enum=["ranking", "comparison", "demonstration", "any"])],
        responses={200: serializers.NextWorkSerializer, 204: OpenApiResponse(description="No task is waiting for you.")})
    @action(detail=False, methods=["post"], url_path="next", filter_backends=[])
    def next_task(self, request):
        """The next task for you, under a lease of settings.LEASE_MINUTES: your own unexpired lease
        first, else a task that still needs labelers and that you have not done or skipped."""
        form = serializers.NextRequestSerializer(data={**request.query_params.dict(), **request.data})  # data: an object (web.parsers)
        form.is_valid(raise_exception=True)
        prefetch = form.validated_data["prefetch"]
        assignments = next_assignments(request.user, form.validated_data.get("kind"), count=2 if prefetch else 1)
        if not assignments:
            return Response(status=status.HTTP_204_NO_CONTENT)
        items = work_items(assignments)
        body = items[0]
        if prefetch:
            body["next"] = items[1] if len(items) > 1 else None
        return Response(body)

    @extend_schema(responses=inline_serializer("History", {
        "count": fields.IntegerField(), "next": fields.URLField(allow_null=True),
        "previous": fields.URLField(allow_null=True), "results": serializers.HistoryItemSerializer(many=True),
        "counts": fields.DictField(child=fields.IntegerField())}))
    @action(detail=False, methods=["get"])
    def history(self, request):
        """Your own assignments, newest first (filter by state or kind), with your counts."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(serializers.HistoryItemSerializer(page, many=True).data)
        response.data["counts"] = self.counts(request.user)
        return response

    @staticmethod
    def counts(user):
        now = timezone.now()
        counts = {state: 0 for state in AssignmentState.values}
        rows = (Assignment.objects.filter(labeler=user)
                .annotate(live=Q(state=AssignmentState.LEASED, lease_expires_at__gt=now))
                .values("state", "live").annotate(n=Count("id")))
        for row in rows:
            state = row["state"] if row["state"] != AssignmentState.LEASED or row["live"] else AssignmentState.EXPIRED
            counts[state] += row["n"]
        counts["rankings"] = Ranking.objects.filter(labeler=user).count()
        for row in Demonstration.objects.filter(labeler=user).values("review_state").annotate(n=Count("id")):
            counts[f"demonstrations_{row['review_state']}"] = row["n"]
        counts["demonstrations"] = sum(v for k, v in counts.items() if k.startswith("demonstrations_"))
        return counts


class AssignmentViewSet(viewsets.GenericViewSet):
    """Your own assignments: see one, submit its ranking or demonstration, or skip it."""

    queryset = Assignment.objects.none()  # for the schema; get_queryset scopes every request

    permission_classes = [IsLabeler]
    serializer_class = serializers.WorkItemSerializer
    filter_backends = []

    def get_queryset(self):
        return Assignment.objects.filter(labeler=self.request.user).select_related("task__prompt")

    def idempotency_key(self, request, body_key):
        header = request.headers.get("Idempotency-Key")
        if header and body_key and header != body_key:
            raise ValidationError({"idempotency_key": ["differs from the Idempotency-Key header"]})
        if header and len(header) > serializers.IDEMPOTENCY_KEY_LENGTH:
            raise ValidationError({"idempotency_key": [f"at most {serializers.IDEMPOTENCY_KEY_LENGTH} characters"]})
        return header or body_key or None

    @extend_schema(responses=serializers.WorkItemSerializer)
    def retrieve(self, request, pk=None):
        return Response(work_items([self.get_object()])[0])

    @extend_schema(request=serializers.RankingSubmitSerializer, parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
                   responses={201: serializers.RankingSerializer, 200: serializers.RankingSerializer})
    @action(detail=True, methods=["post"])
    def ranking(self, request, pk=None):
        """Submit your ranking (also for side-by-side comparisons: a ranking of two, ties allowed).
        Retrying with the same idempotency key returns the saved ranking with 200."""
        check_body_size(request, ranking_body_limit())
        data = serializers.ranking_submission(request.data)
        key = self.idempotency_key(request, data.get("idempotency_key"))
        ranking, created = submission.submit_ranking(_int_id(pk), request.user, data, key)
        return Response(serializers.ranking_payload(ranking), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=serializers.DemonstrationSubmitSerializer, parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
                   responses={201: serializers.DemonstrationSerializer, 200: serializers.DemonstrationSerializer})
    @action(detail=True, methods=["post"])
    def demonstration(self, request, pk=None):
        """Submit your demonstration (the ideal answer). You can edit it at demonstrations/{id}/ until it is reviewed."""
        check_body_size(request, ranking_body_limit())
        form = serializers.DemonstrationSubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        key = self.idempotency_key(request, form.validated_data.get("idempotency_key"))
        demo, created = submission.submit_demonstration(_int_id(pk), request.user, form.validated_data, key)
        return Response(serializers.DemonstrationSerializer(demo).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=serializers.SkipSerializer, responses=inline_serializer(
        "Skipped", {"id": fields.IntegerField(), "state": fields.CharField(), "skip_reason": fields.CharField()}))
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        """Skip the task with a reason; you won't be given it again."""
        form = serializers.SkipSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        assignment = submission.skip(_int_id(pk), request.user, form.validated_data["reason"])
        return Response({"id": assignment.pk, "state": assignment.state, "skip_reason": assignment.skip_reason})


def _int_id(pk):
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None


# Labels: demonstrations and rankings


class DemonstrationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                           viewsets.GenericViewSet):
    """Demonstrations: labelers see and edit their own until reviewed; admins see all and review them;
    ML engineers read them."""

    queryset = Demonstration.objects.none()  # for the schema; get_queryset scopes every request

    serializer_class = serializers.DemonstrationSerializer
    filterset_class = filters.DemonstrationFilter
    search_fields = ["text", "prompt__text"]
    ordering_fields = ["id", "created_at", "updated_at", "reviewed_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        demos = Demonstration.objects.select_related("prompt").order_by("-id")
        return demos if sees_everything(self.request) else demos.filter(labeler=self.request.user)

    def perform_update(self, serializer):
        if serializer.instance.labeler_id != self.request.user.pk:
            raise PermissionDenied("only the author edits a demonstration; reviewers use review/")
        data = serializer.validated_data
        serializer.instance = submission.edit_demonstration(serializer.instance, data.get("text", serializer.instance.text),
                                                            data.get("seconds_spent"))

    @extend_schema(request=serializers.ReviewSerializer, responses=serializers.DemonstrationSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAdmin])
    def review(self, request, pk=None):
        """Accept (optionally with your edit of the text), edit (accept with your text), or reject with a comment."""
        form = serializers.ReviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        demo = submission.review_demonstration(self.get_object(), request.user, data["decision"], data.get("comment", ""),
                                               data.get("text"))
        return Response(serializers.DemonstrationSerializer(demo).data)


class RankingViewSet(viewsets.ReadOnlyModelViewSet):
    """Rankings: admins and ML engineers read all; a labeler reads only their own."""

    queryset = Ranking.objects.none()  # for the schema; get_queryset scopes every request

    serializer_class = serializers.RankingSerializer
    filterset_class = filters.RankingFilter
    ordering_fields = ["id", "created_at", "seconds_spent"]

    def get_queryset(self):
        rankings = Ranking.objects.prefetch_related(
            Prefetch("items", queryset=RankedResponse.objects.order_by("rank", "response_id"))).order_by("-id")
        return rankings if sees_everything(self.request) else rankings.filter(labeler=self.request.user)


router = SimpleRouter()
router.register("guidelines", GuidelineViewSet, basename="guideline")
router.register("guideline-versions", GuidelineVersionViewSet, basename="guideline-version")
router.register("prompts", PromptViewSet, basename="prompt")
router.register("tasks", TaskViewSet, basename="task")
router.register("work", WorkViewSet, basename="work")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("demonstrations", DemonstrationViewSet, basename="demonstration")
router.register("rankings", RankingViewSet, basename="ranking")

urlpatterns = router.urls
