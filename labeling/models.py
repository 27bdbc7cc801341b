"""The labeling data model: guidelines, prompts, demonstrations, responses, tasks, assignments,
rankings and comparison pairs.

Rules live here as constraints wherever the database can hold them (uniqueness, ranges, one ranking
per assignment) and as model methods otherwise (a published guideline version is immutable).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

MIN_K = 2
MAX_K = 9


class Category(models.TextChoices):
    """InstructGPT's use-case categories."""

    GENERATION = "generation"
    OPEN_QA = "open_qa", "Open QA"
    BRAINSTORMING = "brainstorming"
    CHAT = "chat"
    REWRITE = "rewrite"
    SUMMARIZATION = "summarization"
    CLASSIFICATION = "classification"
    CLOSED_QA = "closed_qa", "Closed QA"
    EXTRACT = "extract"
    OTHER = "other"


class Split(models.TextChoices):
    """Disjoint prompt splits, as in InstructGPT: each prompt feeds one stage only."""

    SFT = "sft", "SFT"
    RM = "rm", "Reward model"
    PPO = "ppo", "PPO"
    EVAL = "eval", "Evaluation"


class Flag(models.TextChoices):
    """Per-answer flags a labeler can raise beside the ranking."""

    FAILS_INSTRUCTION = "fails_instruction"
    MADE_UP_FACTS = "made_up_facts"
    HARMFUL = "harmful"
    INAPPROPRIATE = "inappropriate"
    BAD_FORMATTING = "bad_formatting"


class TaskKind(models.TextChoices):
    DEMONSTRATION = "demonstration"
    RANKING = "ranking"
    COMPARISON = "comparison", "Side-by-side comparison"


class Guideline(models.Model):
    """A named labeling guideline (helpful, truthful, harmless); its text lives in versions. It serves
    one kind of task (writing demonstrations asks for other rules than ranking answers) or, blank,
    every kind."""

    name = models.CharField(max_length=200, unique=True)
    task_kind = models.CharField(max_length=20, blank=True, default="", choices=TaskKind.choices,
                                 help_text="The kind of task it guides; blank: every kind.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name

    def current_version(self):
        return self.versions.filter(published_at__isnull=False).order_by("-number").first()


class GuidelineVersion(models.Model):
    """One version of a guideline. A draft can change; once published it is frozen, because every
    label records the version it was made under."""

    guideline = models.ForeignKey(Guideline, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    changelog = models.CharField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["guideline_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["guideline", "number"], name="guideline_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="guideline_version_positive"),
        ]

    def __str__(self):
        return f"{self.guideline.name} v{self.number}"

    @property
    def is_published(self):
        return self.published_at is not None

    def save(self, *args, **kwargs):
        if self.pk:
            stored = GuidelineVersion.objects.filter(pk=self.pk).values("published_at", "body", "number").first()
            if stored and stored["published_at"] is not None:
                raise ValidationError("A published guideline version is immutable; create a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_published:
            raise ValidationError("A published guideline version cannot be deleted.")
        return super().delete(*args, **kwargs)


class Prompt(models.Model):
    """A prompt: a conversation of role-tagged messages (a single-turn prompt is a list of one)."""

    messages = models.JSONField(help_text='[{"role": "system|user|assistant", "content": "..."}]')
    text = models.TextField(help_text="The last user message, kept for search and display.")
    category = models.CharField(max_length=32, choices=Category.choices, default=Category.OTHER)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.RM)
    source = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["split", "category"])]

    def __str__(self):
        return self.text[:80]

    def is_used(self):
        """A prompt that has tasks, responses or demonstrations is part of labels: it no longer changes."""
        return self.tasks.exists() or self.responses.exists() or self.demonstrations.exists()


class ReviewState(models.TextChoices):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Demonstration(models.Model):
    """A labeler's ideal answer to a prompt: SFT data."""

    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="demonstrations")
    task = models.ForeignKey("Task", null=True, blank=True, on_delete=models.PROTECT, related_name="demonstrations")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="demonstrations")
    text = models.TextField()
    guideline_version = models.ForeignKey(GuidelineVersion, null=True, on_delete=models.PROTECT)
    seconds_spent = models.FloatField(null=True, blank=True)
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.SUBMITTED)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviewed_demonstrations"
    )
    review_comment = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["labeler", "idempotency_key"], name="demonstration_idempotency_unique",
                condition=Q(idempotency_key__isnull=False),
            ),
            models.CheckConstraint(condition=Q(seconds_spent__isnull=True) | Q(seconds_spent__gte=0), name="demo_seconds_nonneg"),
        ]

    def __str__(self):
        return f"Demonstration {self.pk} on prompt {self.prompt_id}"


class Origin(models.TextChoices):
    MODEL = "model"
    IMPORT = "import"
    HUMAN = "human"


class Response(models.Model):
    """One answer to a prompt, from a model version, an import, or a person."""

    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="responses")
    text = models.TextField()
    origin = models.CharField(max_length=8, choices=Origin.choices)
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    source = models.CharField(max_length=200, blank=True, help_text="Import file or author, when not a model.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.text[:80]


class Task(models.Model):
    """A unit of labeling work: write a demonstration for a prompt, rank its K responses, or pick the
    better of two models' answers (side-by-side evaluation). `labelers_required` labelers must each
    complete it; a gold task carries a known ranking used to measure labelers."""

    kind = models.CharField(max_length=16, choices=TaskKind.choices)
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="tasks")
    responses = models.ManyToManyField(Response, through="TaskResponse", related_name="tasks")
    labelers_required = models.PositiveSmallIntegerField(default=1)
    completed_count = models.PositiveSmallIntegerField(default=0)
    gold_ranks = models.JSONField(null=True, blank=True, help_text='{"<response id>": rank} with 1 = best.')
    priority = models.SmallIntegerField(default=0)
    batch = models.CharField(max_length=200, blank=True, help_text="Where the task came from (import, sampling job).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(labelers_required__gte=1) & Q(labelers_required__lte=100), name="task_labelers_range"),
            models.CheckConstraint(condition=Q(completed_count__lte=F("labelers_required")), name="task_not_overcompleted"),
        ]
        indexes = [
            models.Index(fields=["kind", "completed_count", "labelers_required"]),
            # The work queue (labeling.assignment): open tasks in hand-out order, so `next` reads the
            # head of the queue and stops instead of sorting every open task.
            models.Index(fields=["-priority", "id"], condition=Q(completed_count__lt=F("labelers_required")),
                         name="task_open_queue"),
        ]

    def __str__(self):
        return f"{self.kind} task {self.pk}"

    @property
    def is_gold(self):
        return self.gold_ranks is not None

    @property
    def is_complete(self):
        return self.completed_count >= self.labelers_required


class TaskResponse(models.Model):
    """Membership of a response in a ranking task; a task has K = 2..9 of them."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="task_responses")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="task_memberships")
    position = models.PositiveSmallIntegerField(help_text="Canonical order (0-based); each labeler sees their own shuffle.")

    class Meta:
        ordering = ["task_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "response"], name="task_response_unique"),
            models.UniqueConstraint(fields=["task", "position"], name="task_position_unique"),
            models.CheckConstraint(condition=Q(position__lt=MAX_K), name="task_position_lt_max_k"),
        ]


class AssignmentState(models.TextChoices):
    LEASED = "leased"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class Assignment(models.Model):
    """A task handed to one labeler under a lease. One row per (task, labeler): a labeler never gets
    a task twice; an expired lease frees the slot and the same row is re-leased if they come back."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="assignments")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    state = models.CharField(max_length=16, choices=AssignmentState.choices, default=AssignmentState.LEASED)
    lease_expires_at = models.DateTimeField()
    display_order = models.JSONField(default=list, help_text="Response ids in the order this labeler saw them.")
    skip_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["task", "labeler"], name="assignment_once_per_labeler")]
        indexes = [
            models.Index(fields=["labeler", "state"]),
            models.Index(fields=["task", "state", "lease_expires_at"]),
        ]

    def __str__(self):
        return f"Assignment {self.pk}: task {self.task_id} to {self.labeler_id} ({self.state})"


class Ranking(models.Model):
    """A labeler's submitted ranking of a task's K responses (ranks, scores and flags in its items).
    `all_bad` says every answer is unacceptable; `unrankable` says the task itself can't be ranked
    (both are kept apart from ties, and an unrankable ranking gives no pairs)."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="rankings")
    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="ranking")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rankings")
    guideline_version = models.ForeignKey(GuidelineVersion, null=True, on_delete=models.PROTECT)
    display_order = models.JSONField(default=list)
    seconds_spent = models.FloatField(null=True, blank=True)
    all_bad = models.BooleanField(default=False)
    unrankable = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    pairs_expanded_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "labeler"], name="ranking_once_per_labeler"),
            models.UniqueConstraint(
                fields=["labeler", "idempotency_key"], name="ranking_idempotency_unique",
                condition=Q(idempotency_key__isnull=False),
            ),
            models.CheckConstraint(condition=Q(seconds_spent__isnull=True) | Q(seconds_spent__gte=0), name="ranking_seconds_nonneg"),
        ]

    def __str__(self):
        return f"Ranking {self.pk} of task {self.task_id} by {self.labeler_id}"

    def ranks(self):
        """{response_id: rank} in competition form (1, 2, 2, 4)."""
        return {item.response_id: item.rank for item in self.items.all()}


class RankedResponse(models.Model):
    """One answer's place in a ranking, with the optional 1-7 score and flags."""

    ranking = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="items")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="ranked_items")
    rank = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["ranking_id", "rank", "response_id"]
        constraints = [
            models.UniqueConstraint(fields=["ranking", "response"], name="ranked_response_unique"),
            models.CheckConstraint(condition=Q(rank__gte=1) & Q(rank__lte=MAX_K), name="rank_in_range"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=1) & Q(score__lte=7)), name="score_1_to_7"
            ),
        ]


class ComparisonPair(models.Model):
    """One (chosen, rejected) pair implied by a ranking: chosen ranked strictly better. Unique, so a
    re-delivered expansion task writes nothing new."""

    # Pairs are derived rows, written only by labeling.pairs.expand_rankings from RankedResponse
    # items, whose foreign keys (to the ranking and the responses) are enforced, while it holds the
    # ranking's row lock. Enforcing them a second time (and indexing them, and ranking_id apart from
    # the unique index that starts with it) more than doubled the cost of pair expansion on
    # PostgreSQL; the ranking check alone, a trigger per pair row, was ~40% of it. Deleting a ranking
    # through the ORM still deletes its pairs (CASCADE is Django's).
    ranking = models.ForeignKey(Ranking, on_delete=models.CASCADE, related_name="pairs", db_index=False,
                                db_constraint=False)
    chosen = models.ForeignKey(Response, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False)
    rejected = models.ForeignKey(Response, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ranking", "chosen", "rejected"], name="pair_unique"),
            models.CheckConstraint(condition=~Q(chosen=F("rejected")), name="pair_distinct_responses"),
        ]

    def __str__(self):
        return f"{self.chosen_id} > {self.rejected_id} (ranking {self.ranking_id})"


class RequeueRule(models.Model):
    """Re-queue on disagreement for one batch of tasks (`Task.batch`; the empty batch is a batch too).
    When a task of the batch has all the labels it asks for and they agree less than `min_agreement`
    (pooled pairwise agreement, labeling.agreement), it asks for one more labeler, up to
    `max_labelers` in all. The rules are in labeling.requeue."""

    batch = models.CharField(max_length=200, unique=True, blank=True)
    enabled = models.BooleanField(default=True)
    min_agreement = models.FloatField(help_text="Re-queue when the task's pairwise agreement is below this (0..1).")
    max_labelers = models.PositiveSmallIntegerField(help_text="The cap: never more labelers on one task than this.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["batch"]
        constraints = [
            models.CheckConstraint(condition=Q(min_agreement__gte=0) & Q(min_agreement__lte=1),
                                   name="requeue_agreement_0_1"),
            models.CheckConstraint(condition=Q(max_labelers__gte=2) & Q(max_labelers__lte=100),
                                   name="requeue_cap_range"),
        ]

    def __str__(self):
        return f"re-queue {self.batch or '(no batch)'} below {self.min_agreement:.2f} up to {self.max_labelers}"


class Requeue(models.Model):
    """One re-queue: a task whose labels disagreed asked for one more labeler. Unique per (task,
    labelers before), so the database itself refuses a second re-queue of the same round."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="requeues")
    rule = models.ForeignKey(RequeueRule, null=True, on_delete=models.SET_NULL, related_name="requeues")
    agreement = models.FloatField()
    compared_pairs = models.PositiveIntegerField()
    labelers_before = models.PositiveSmallIntegerField()
    min_agreement = models.FloatField(help_text="The rule's threshold when it fired.")
    max_labelers = models.PositiveSmallIntegerField(help_text="The rule's cap when it fired.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["task", "labelers_before"], name="requeue_once_per_round")]

    def __str__(self):
        return f"task {self.task_id}: {self.labelers_before} -> {self.labelers_before + 1} labelers"
