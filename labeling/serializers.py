"""Request and response shapes of the labeling API.

Input serializers check types and sizes (text lengths against settings.MAX_TEXT_LENGTH, list
lengths before their items); the labeling rules themselves live in assignment.py, submission.py,
guidelines.py and prompt_import.py. A work item (what a labeler sees) is built as a plain dict on
the hot path and described by WorkItemSerializer for the schema; it never carries gold ranks or other
labelers' work.
"""

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from labeling.models import (MAX_K, Assignment, Demonstration, Flag, Guideline, GuidelineVersion, Prompt, Ranking,
                             Task, TaskKind)
from labeling.prompt_import import prompt_fields, task_fields
from labeling.ranking import RuleError
from labeling.text import text_problem

MAX_SECONDS = 7 * 24 * 3600
MAX_ID = 2**63 - 1  # ids are 64-bit: a bigger one is a 400, not a database overflow
MAX_PRIORITY = 2**15 - 1  # Task.priority is a 16-bit integer column
IDEMPOTENCY_KEY_LENGTH = 100


def _check_length(value):
    limit = settings.MAX_TEXT_LENGTH
    if value is not None and len(value) > limit:
        raise serializers.ValidationError(f"at most {limit} characters (got {len(value)})")


class LimitedText(serializers.CharField):
    """Text bounded by settings.MAX_TEXT_LENGTH, read when validating (so it follows the settings)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(_check_length)

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > settings.MAX_TEXT_LENGTH:
            _check_length(data)  # before trimming and the other validators: no work on huge input
        return super().to_internal_value(data)


class BoundedList(serializers.ListField):
    """A list whose length is checked before any item is looked at, so a huge list fails fast."""

    def to_internal_value(self, data):
        if isinstance(data, (list, tuple)) and self.max_length is not None and len(data) > self.max_length:
            raise serializers.ValidationError(f"at most {self.max_length} items (got {len(data)})")
        return super().to_internal_value(data)


def rule_error_to_validation(exc):
    return serializers.ValidationError({exc.field: [exc.message]})


# Guidelines


class GuidelineVersionSerializer(serializers.ModelSerializer):
    guideline_name = serializers.CharField(source="guideline.name", read_only=True)
    body = LimitedText(allow_blank=False, trim_whitespace=False)
    publish = serializers.BooleanField(write_only=True, required=False, default=False,
                                       help_text="Publish at once (a published version never changes).")

    class Meta:
        model = GuidelineVersion
        fields = ["id", "guideline", "guideline_name", "number", "body", "changelog", "published_at", "created_by",
                  "created_at", "publish"]
        read_only_fields = ["guideline", "number", "published_at", "created_by", "created_at"]


class GuidelineSerializer(serializers.ModelSerializer):
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = Guideline
        fields = ["id", "name", "task_kind", "created_at", "current_version"]
        read_only_fields = ["created_at"]

    def get_current_version(self, guideline) -> int | None:
        numbers = [v.number for v in guideline.versions.all() if v.published_at is not None]
        return max(numbers) if numbers else None


# Prompts


class PromptSerializer(serializers.ModelSerializer):
    """A prompt: give `text` (one user message) or `messages` (a conversation)."""

    text = serializers.CharField(required=False, trim_whitespace=False, help_text="The prompt as one user message.")
    messages = serializers.JSONField(required=False, help_text='[{"role": "system|user|assistant", "content": "..."}]')
    tags = serializers.JSONField(required=False)
    used = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = ["id", "messages", "text", "category", "split", "source", "tags", "created_by", "created_at", "used"]
        read_only_fields = ["created_by", "created_at"]

    def get_used(self, prompt) -> bool:
        return bool(getattr(prompt, "used", False))

    def validate(self, attrs):
        record = dict(attrs)
        if self.instance is not None:  # partial edits: the unchanged fields come from the prompt
            for name in ("category", "split", "source", "tags"):
                record.setdefault(name, getattr(self.instance, name))
            if "text" not in record and "messages" not in record:
                record["messages"] = self.instance.messages
            elif "text" in record and "messages" not in record:
                record.pop("messages", None)
        if "messages" in record and "text" in record:
            record.pop("text")  # the conversation wins; text is derived from it
        try:
            return prompt_fields(record)
        except RuleError as exc:
            raise rule_error_to_validation(exc) from None


class FileContent(serializers.CharField):
    """A whole file as one string: a NUL in it is left to the importer, which names its line."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class ImportRequestSerializer(serializers.Serializer):
    """An import: a `file` upload (multipart) or the file's `content` as a string."""

    file = serializers.FileField(required=False)
    content = FileContent(required=False, trim_whitespace=False, allow_blank=True)
    format = serializers.ChoiceField(choices=["jsonl", "csv"], required=False,
                                     help_text="Default: from the file name (.csv) or jsonl.")
    source = serializers.CharField(required=False, max_length=200, allow_blank=True)
    split = serializers.CharField(required=False, allow_blank=True, help_text="For lines that don't give one.")
    category = serializers.CharField(required=False, allow_blank=True, help_text="For lines that don't give one.")
    labelers_required = serializers.IntegerField(required=False, min_value=1, max_value=100,
                                                 help_text="Tasks only: for lines that don't give one.")
    batch = serializers.CharField(required=False, max_length=200, allow_blank=True, help_text="Tasks only.")
    allow_duplicates = serializers.BooleanField(required=False, default=False,
                                                help_text="Prompts only: import prompts identical to stored ones too.")

    def validate(self, attrs):
        if not attrs.get("file") and attrs.get("content") is None:
            raise serializers.ValidationError({"file": ["upload a file or give its content"]})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        upload = attrs.get("file")
        if upload is not None and upload.size > limit:
            raise serializers.ValidationError({"file": [f"the file is {upload.size} bytes; at most {limit}"]})
        return attrs


class ImportLineError(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    errors = ImportLineError(many=True)
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    skipped = serializers.ListField(child=serializers.DictField(), required=False,
                                    help_text="Prompts left out as identical to stored ones: {line, prompt}.")


# Tasks


class TaskResponseOut(serializers.Serializer):
    id = serializers.IntegerField(source="response.id")
    text = serializers.CharField(source="response.text")
    position = serializers.IntegerField()


class PromptBrief(serializers.ModelSerializer):
    class Meta:
        model = Prompt
        fields = ["id", "messages", "text", "category", "split"]


class TaskSerializer(serializers.ModelSerializer):
    """A task as admins and ML engineers see it (with its gold ranking)."""

    prompt = PromptBrief(read_only=True)
    responses = TaskResponseOut(source="task_responses", many=True, read_only=True)
    is_gold = serializers.BooleanField(read_only=True)
    priority = serializers.IntegerField(required=False, min_value=-MAX_PRIORITY, max_value=MAX_PRIORITY)

    class Meta:
        model = Task
        fields = ["id", "kind", "prompt", "responses", "labelers_required", "completed_count", "gold_ranks", "is_gold",
                  "priority", "batch", "created_at"]
        read_only_fields = ["kind", "completed_count", "gold_ranks", "batch", "created_at"]

    def validate_labelers_required(self, value):
        if self.instance is not None and value < self.instance.completed_count:
            raise serializers.ValidationError(f"{self.instance.completed_count} labelers already completed this task")
        if not 1 <= value <= 100:
            raise serializers.ValidationError("from 1 to 100")
        return value


class TaskCreateSerializer(serializers.Serializer):
    """One task: an existing `prompt_id`, or the prompt itself (`prompt`: a string or a conversation),
    and the answers to rank (`responses`: 2..9 strings; none for a demonstration task)."""

    kind = serializers.ChoiceField(choices=TaskKind.choices, default=TaskKind.RANKING)
    prompt_id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    prompt = serializers.JSONField(required=False)
    category = serializers.CharField(required=False)
    split = serializers.CharField(required=False)
    responses = BoundedList(child=serializers.JSONField(), max_length=MAX_K, required=False, default=list)
    gold_ranks = BoundedList(child=serializers.JSONField(), max_length=MAX_K, required=False, allow_null=True)
    labelers_required = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100)
    priority = serializers.IntegerField(required=False, default=0, min_value=-MAX_PRIORITY, max_value=MAX_PRIORITY)
    batch = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")

    def validate(self, attrs):
        record = {k: v for k, v in attrs.items() if k not in ("prompt_id", "batch")}
        self.existing_prompt = None
        if attrs.get("prompt_id") is not None:
            self.existing_prompt = Prompt.objects.filter(pk=attrs["prompt_id"]).first()
            if self.existing_prompt is None:
                raise serializers.ValidationError({"prompt_id": ["no such prompt"]})
            record["messages"] = self.existing_prompt.messages
        try:
            fields = task_fields(record)
        except RuleError as exc:
            raise rule_error_to_validation(exc) from None
        fields["batch"] = attrs.get("batch", "")
        return fields


# Work: what a labeler sees, and what they send back


class MessageOut(serializers.Serializer):
    role = serializers.CharField()
    content = serializers.CharField()


class WorkPromptOut(serializers.Serializer):
    id = serializers.IntegerField()
    messages = MessageOut(many=True)
    text = serializers.CharField()
    category = serializers.CharField()


class WorkTaskOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TaskKind.choices)
    prompt = WorkPromptOut()


class WorkResponseOut(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class WorkGuidelineOut(serializers.Serializer):
    id = serializers.IntegerField()
    guideline_name = serializers.CharField()
    number = serializers.IntegerField()
    body = serializers.CharField()


class WorkItemSerializer(serializers.Serializer):
    """A leased task as its labeler sees it: the answers in this labeler's own order."""

    id = serializers.IntegerField(help_text="The assignment id (submit and skip use it).")
    state = serializers.CharField()
    kind = serializers.ChoiceField(choices=TaskKind.choices)
    lease_expires_at = serializers.DateTimeField()
    task = WorkTaskOut()
    responses = WorkResponseOut(many=True)
    guideline_version = WorkGuidelineOut(allow_null=True)


class NextWorkSerializer(WorkItemSerializer):
    next = WorkItemSerializer(allow_null=True, required=False, help_text="The following task, leased too (prefetch=1).")


class NextRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["ranking", "comparison", "demonstration", "any"], required=False,
                                   help_text="ranking covers side-by-side comparisons too. Default: any.")
    prefetch = serializers.BooleanField(required=False, default=False,
                                        help_text="Lease the following task as well and return it under `next`.")


def guideline_payload(version):
    if version is None:
        return None
    return {"id": version.pk, "guideline_name": version.guideline.name, "number": version.number, "body": version.body}


def work_item(assignment, texts, guideline):
    """The dict a labeler receives for one assignment (texts: {response id: text})."""
    task, prompt = assignment.task, assignment.task.prompt
    return {
        "id": assignment.pk,
        "state": assignment.state,
        "kind": task.kind,
        "lease_expires_at": assignment.lease_expires_at,
        "task": {"id": task.pk, "kind": task.kind,
                 "prompt": {"id": prompt.pk, "messages": prompt.messages, "text": prompt.text, "category": prompt.category}},
        "responses": [{"id": rid, "text": texts.get(rid, "")} for rid in assignment.display_order],
        "guideline_version": guideline,
    }


class RankedItemIn(serializers.Serializer):
    response = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A response id of the task.")
    rank = serializers.IntegerField(help_text="1 = best; equal ranks are ties (stored as 1, 2, 2, 4).")
    score = serializers.IntegerField(min_value=1, max_value=7, required=False, allow_null=True)
    flags = BoundedList(child=serializers.ChoiceField(choices=Flag.choices), max_length=len(Flag.values),
                        required=False, default=list)

    def validate_flags(self, flags):
        if len(set(flags)) != len(flags):
            raise serializers.ValidationError("a flag is given twice")
        return flags


class RankingSubmitSerializer(serializers.Serializer):
    ranks = BoundedList(child=RankedItemIn(), max_length=MAX_K, required=False, default=list,
                        help_text="One entry per response of the task; may be empty when all_bad or unrankable.")
    all_bad = serializers.BooleanField(required=False, default=False, help_text="Every answer is unacceptable.")
    unrankable = serializers.BooleanField(required=False, default=False, help_text="The task can't be ranked.")
    comment = LimitedText(required=False, allow_blank=True, default="")
    seconds_spent = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=MAX_SECONDS)
    idempotency_key = serializers.CharField(required=False, max_length=IDEMPOTENCY_KEY_LENGTH, allow_blank=False,
                                            help_text="Or the Idempotency-Key header.")


def ranking_submission(data):
    """RankingSubmitSerializer's validated data for this body, or its ValidationError (a 400 naming
    the field). Every submission goes through here: a body already in canonical form, as the web UI
    and API clients send it (right types, in range, no whitespace to trim), is checked by hand,
    which is what DRF would return for it at a fraction of the CPU; anything else, and every error,
    goes through the serializer itself. tests/labeling/test_ranking_submission.py holds them equal."""
    checked = _canonical_ranking(data)
    if checked is not None:
        return checked
    form = RankingSubmitSerializer(data=data)
    form.is_valid(raise_exception=True)
    return form.validated_data


def _int_in(value, low, high):
    return type(value) is int and low <= value <= high


def _plain_text(value, limit):
    return type(value) is str and len(value) <= limit and value == value.strip() and text_problem(value) is None


def _canonical_ranking(data):
    """The validated data when `data` needs no conversion, else None (then the serializer decides)."""
    if type(data) is not dict:
        return None
    ranks = data.get("ranks", [])
    if type(ranks) is not list or len(ranks) > MAX_K:
        return None
    items = []
    for item in ranks:
        if type(item) is not dict or not _int_in(item.get("response"), 1, MAX_ID) or type(item.get("rank")) is not int:
            return None
        checked = {"response": item["response"], "rank": item["rank"], "flags": item.get("flags", [])}
        if "score" in item:
            if item["score"] is not None and not _int_in(item["score"], 1, 7):
                return None
            checked["score"] = item["score"]
        flags = checked["flags"]
        if type(flags) is not list or len(set(flags)) != len(flags) or not all(
                type(flag) is str and flag in Flag.values for flag in flags):
            return None
        items.append(checked)
    result = {"ranks": items, "all_bad": data.get("all_bad", False), "unrankable": data.get("unrankable", False),
              "comment": data.get("comment", "")}
    if type(result["all_bad"]) is not bool or type(result["unrankable"]) is not bool \
            or not _plain_text(result["comment"], settings.MAX_TEXT_LENGTH):
        return None
    if "seconds_spent" in data:
        seconds = data["seconds_spent"]
        if seconds is not None and not (type(seconds) in (int, float) and 0 <= seconds <= MAX_SECONDS):
            return None  # (NaN fails the comparison)
        result["seconds_spent"] = None if seconds is None else float(seconds)
    if "idempotency_key" in data:
        if not _plain_text(data["idempotency_key"], IDEMPOTENCY_KEY_LENGTH) or not data["idempotency_key"]:
            return None
        result["idempotency_key"] = data["idempotency_key"]
    return result


class RankedItemOut(serializers.Serializer):
    response = serializers.IntegerField(source="response_id")
    rank = serializers.IntegerField()
    score = serializers.IntegerField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())


class RankingSerializer(serializers.ModelSerializer):
    ranks = serializers.SerializerMethodField()

    class Meta:
        model = Ranking
        fields = ["id", "task", "assignment", "labeler", "guideline_version", "display_order", "ranks", "all_bad",
                  "unrankable", "comment", "seconds_spent", "idempotency_key", "pairs_expanded_at", "created_at"]

    @staticmethod
    def _items(ranking):
        items = getattr(ranking, "_items", None)
        return items if items is not None else list(ranking.items.all())

    def get_ranks(self, ranking) -> list[dict]:
        items = sorted(self._items(ranking), key=lambda i: (i.rank, i.response_id))
        return RankedItemOut(items, many=True).data


def ranking_payload(ranking):
    """RankingSerializer's output as a plain dict (the submit response: built per request on the hot
    path, where constructing a ModelSerializer's fields costs more than the rest of the reply)."""
    items = sorted(RankingSerializer._items(ranking), key=lambda i: (i.rank, i.response_id))
    return {
        "id": ranking.pk, "task": ranking.task_id, "assignment": ranking.assignment_id, "labeler": ranking.labeler_id,
        "guideline_version": ranking.guideline_version_id, "display_order": ranking.display_order,
        "ranks": [{"response": i.response_id, "rank": i.rank, "score": i.score, "flags": i.flags} for i in items],
        "all_bad": ranking.all_bad, "unrankable": ranking.unrankable, "comment": ranking.comment,
        "seconds_spent": ranking.seconds_spent, "idempotency_key": ranking.idempotency_key,
        "pairs_expanded_at": serializers.DateTimeField().to_representation(ranking.pairs_expanded_at)
        if ranking.pairs_expanded_at else None,
        "created_at": serializers.DateTimeField().to_representation(ranking.created_at),
    }


class DemonstrationSubmitSerializer(serializers.Serializer):
    text = LimitedText(trim_whitespace=False)
    seconds_spent = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=MAX_SECONDS)
    idempotency_key = serializers.CharField(required=False, max_length=IDEMPOTENCY_KEY_LENGTH, allow_blank=False,
                                            help_text="Or the Idempotency-Key header.")

    def validate_text(self, text):
        if not text.strip():
            raise serializers.ValidationError("write the answer")
        return text


class DemonstrationSerializer(serializers.ModelSerializer):
    prompt_text = serializers.CharField(source="prompt.text", read_only=True)
    text = LimitedText(trim_whitespace=False)
    # as the submit form and the table's CHECK constraint (seconds_spent >= 0) have it
    seconds_spent = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=MAX_SECONDS)

    class Meta:
        model = Demonstration
        fields = ["id", "prompt", "prompt_text", "task", "labeler", "text", "guideline_version", "seconds_spent",
                  "review_state", "reviewer", "review_comment", "reviewed_at", "created_at", "updated_at"]
        read_only_fields = [f for f in fields if f not in ("text", "seconds_spent")]

    def validate_text(self, text):
        if not text.strip():
            raise serializers.ValidationError("write the answer")
        return text


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["accept", "reject", "edit"],
                                       help_text="edit = accept with the reviewer's own text.")
    comment = LimitedText(required=False, allow_blank=True, default="")
    text = LimitedText(required=False, trim_whitespace=False)

    def validate(self, attrs):
        if attrs["decision"] == "edit" and not (attrs.get("text") or "").strip():
            raise serializers.ValidationError({"text": ["give the edited text"]})
        return attrs


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="Why the task is skipped.")


class HistoryItemSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="task.kind")
    prompt_text = serializers.CharField(source="task.prompt.text")
    seconds_spent = serializers.FloatField(allow_null=True, read_only=True)
    ranking = serializers.IntegerField(source="ranking_id", allow_null=True, read_only=True)
    demonstration = serializers.IntegerField(source="demonstration_id", allow_null=True, read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "task", "kind", "prompt_text", "state", "skip_reason", "seconds_spent", "ranking",
                  "demonstration", "created_at", "completed_at"]
