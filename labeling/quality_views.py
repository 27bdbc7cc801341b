"""Data-quality API: agreement, bias analytics, ranking imports, re-queue rules and their re-queues,
labelers' gold accuracy. Thin views; the rules live in labeling.agreement, labeling.analytics,
labeling.importers, labeling.requeue and labeling.gold."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import IsAdmin
from labeling.agreement import agreement_report
from labeling.analytics import bias_report
from labeling.importers import FORMATS, import_rankings
from labeling.gold import ESTIMATES, WeightRule, gold_report
from labeling.models import Ranking, Requeue, RequeueRule, Split
from labeling.ranking import RuleError
from labeling.requeue import check_rule
from labeling.text import check_text
from web.params import id_field, query
from web.parsers import CheckedFormParser, CheckedMultiPartParser

_SCOPE = [OpenApiParameter("guideline_version", int, description="Only rankings made under this guideline version."),
          OpenApiParameter("split", str, enum=Split.values, description="Only rankings of prompts in this split.")]


def _scoped_rankings(request):
    """Rankings narrowed by ?guideline_version= and ?split=; a bad value is a 400 naming it."""
    params = query(request, guideline_version=id_field(required=False, error_messages={"invalid": "give a guideline version id"}),
                   split=serializers.ChoiceField(choices=Split.values, required=False))
    rankings = Ranking.objects.all()
    if "guideline_version" in params:
        rankings = rankings.filter(guideline_version_id=params["guideline_version"])
    if "split" in params:
        rankings = rankings.filter(task__prompt__split=params["split"])
    return rankings


@extend_schema(parameters=_SCOPE, responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([IsAdmin])
def agreement(request):
    """Agreement between labelers on tasks two or more of them ranked (overall and per labeler), and
    with gold tasks. A pair of answers is agreed when both rankings give the same outcome: better,
    worse or tied."""
    return Response(agreement_report(_scoped_rankings(request)).as_dict())


@extend_schema(responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def my_agreement(request):
    """The signed-in labeler's own agreement with other labelers and with gold tasks."""
    report = agreement_report(Ranking.objects.filter(task__rankings__labeler=request.user))  # the tasks they ranked
    row = next((r for r in report.as_dict()["labelers"] if r["labeler"] == request.user.id), None)
    row = row or {"labeler": request.user.id, "username": request.user.username, "rankings": 0,
                  "peer_agreement": None, "peer_pairs": 0, "gold_agreement": None, "gold_pairs": 0}
    return Response({**row, "pairs": row["peer_pairs"]})


@extend_schema(parameters=_SCOPE, responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([IsAdmin])
def bias(request):
    """How often labelers prefer the answer shown first, or the longer answer (per labeler, overall)."""
    return Response(bias_report(_scoped_rankings(request)))


def _weight_rule(params):
    """The weighting rule to preview from ?estimate=, ?floor=, ?unmeasured_weight=; a bad value is a 400."""
    data = {}
    if params.get("estimate"):
        data["estimate"] = params["estimate"]
    for name in ("floor", "unmeasured_weight"):
        if params.get(name):
            try:
                data[name] = float(params[name])
            except ValueError:
                raise serializers.ValidationError({name: ["give a number from 0 to 1"]}) from None
    try:
        return WeightRule.from_dict(data, field="rule")
    except RuleError as exc:
        raise serializers.ValidationError({exc.field.removeprefix("rule."): [exc.message]}) from None


@extend_schema(parameters=_SCOPE + [
    OpenApiParameter("estimate", str, enum=ESTIMATES, description="Accuracy the weight is made from (default accuracy)."),
    OpenApiParameter("floor", float, description="Flag labelers whose estimate is below this (0..1)."),
    OpenApiParameter("unmeasured_weight", float, description="Weight of a labeler without gold (default 1).")],
    responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([IsAdmin])
def gold(request):
    """Each labeler's pairwise accuracy on gold tasks with its 95% Wilson interval, and the weight a
    rankings snapshot would give their rankings under the rule given (max(0, 2·estimate − 1))."""
    rule = _weight_rule(request.query_params)
    return Response(gold_report(_scoped_rankings(request), rule))


class RankingImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JSON Lines, optionally gzip'd.")
    format = serializers.ChoiceField(choices=FORMATS, required=False, help_text="Detected from the first line when left out.")
    split = serializers.ChoiceField(choices=Split.values, required=False,
                                    help_text="Split of the imported prompts (overrides the file's; default rm).")


@extend_schema(request={"multipart/form-data": RankingImportSerializer},
               responses={201: inline_serializer("RankingImportOut", {
                   "format": serializers.CharField(), "rankings": serializers.IntegerField(),
                   "pairs": serializers.IntegerField(), "errors": serializers.ListField()})})
@api_view(["POST"])
@permission_classes([IsAdmin])
@parser_classes([CheckedMultiPartParser, CheckedFormParser])
def import_ranking_file(request):
    """Import rankings (K-wise, HH-RLHF or OpenAssistant trees). All-or-nothing: a file with a bad
    line writes nothing and answers 400 listing every bad line as {line, field, message}."""
    serializer = RankingImportSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    result = import_rankings(upload.file, serializer.validated_data.get("format"),
                             serializer.validated_data.get("split"), name=check_text(upload.name, "file"))
    return Response(result.as_dict(), status=status.HTTP_201_CREATED if result.ok else status.HTTP_400_BAD_REQUEST)


class RequeueRuleSerializer(serializers.ModelSerializer):
    requeues = serializers.SerializerMethodField(help_text="Re-queues this rule has made.")

    class Meta:
        model = RequeueRule
        fields = ["id", "batch", "enabled", "min_agreement", "max_labelers", "requeues", "updated_by", "created_at",
                  "updated_at"]
        read_only_fields = ["updated_by", "created_at", "updated_at"]

    def get_requeues(self, rule) -> int:
        return rule.requeues.count()

    def validate(self, data):
        merged = {f: data.get(f, getattr(self.instance, f, None)) for f in ("batch", "min_agreement", "max_labelers")}
        try:
            check_rule(merged["batch"] or "", merged["min_agreement"], merged["max_labelers"])
        except RuleError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        return data


class RequeueRules(generics.ListCreateAPIView):
    """Re-queue on disagreement, one rule per task batch: a task of the batch whose labels agree less
    than `min_agreement` when its last label arrives asks for one more labeler, up to `max_labelers`."""

    permission_classes = [IsAdmin]
    serializer_class = RequeueRuleSerializer
    queryset = RequeueRule.objects.all()
    filterset_fields = ["batch", "enabled"]

    def perform_create(self, serializer):
        serializer.save(updated_by=self.request.user)


class RequeueRuleDetail(generics.RetrieveUpdateDestroyAPIView):
    """One re-queue rule: change its threshold or cap, turn it off, or delete it (its re-queues stay)."""

    permission_classes = [IsAdmin]
    serializer_class = RequeueRuleSerializer
    queryset = RequeueRule.objects.all()

    def perform_update(self, serializer):
        serializer.save(updated_by=self.request.user)


class RequeueSerializer(serializers.ModelSerializer):
    batch = serializers.CharField(source="task.batch", read_only=True)
    labelers_after = serializers.SerializerMethodField()

    class Meta:
        model = Requeue
        fields = ["id", "task", "batch", "rule", "agreement", "compared_pairs", "labelers_before", "labelers_after",
                  "min_agreement", "max_labelers", "created_at"]

    def get_labelers_after(self, requeue) -> int:
        return requeue.labelers_before + 1


class Requeues(generics.ListAPIView):
    """Every re-queue: which task asked for one more labeler, at what agreement, under which rule."""

    permission_classes = [IsAdmin]
    serializer_class = RequeueSerializer
    queryset = Requeue.objects.select_related("task").order_by("-id")
    filterset_fields = ["task", "rule"]

    def get_queryset(self):
        queryset = super().get_queryset()
        batch = self.request.query_params.get("batch")
        return queryset if batch is None else queryset.filter(task__batch=batch)


urlpatterns = [
    path("quality/requeue-rules/", RequeueRules.as_view(), name="requeue-rules"),
    path("quality/requeue-rules/<int:pk>/", RequeueRuleDetail.as_view(), name="requeue-rule"),
    path("quality/requeues/", Requeues.as_view(), name="requeues"),
    path("quality/agreement/", agreement, name="quality-agreement"),
    path("quality/bias/", bias, name="quality-bias"),
    path("quality/gold/", gold, name="quality-gold"),
    path("agreement/me/", my_agreement, name="agreement-me"),
    path("imports/rankings/", import_ranking_file, name="rankings-import"),
]
