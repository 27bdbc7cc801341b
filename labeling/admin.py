from django import forms
from django.contrib import admin

from labeling import models
from labeling.ranking import RuleError
from labeling.requeue import check_rule


class GuidelineVersionInline(admin.TabularInline):
    model = models.GuidelineVersion
    extra = 0
    fields = ("number", "published_at", "changelog", "created_by")
    readonly_fields = ("published_at",)


@admin.register(models.Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    inlines = [GuidelineVersionInline]


@admin.register(models.GuidelineVersion)
class GuidelineVersionAdmin(admin.ModelAdmin):
    list_display = ("guideline", "number", "published_at", "created_at")
    list_filter = ("guideline",)

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.is_published:
            return [f.name for f in self.model._meta.fields]
        return ("published_at",)


@admin.register(models.Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("id", "text", "category", "split", "source", "created_at")
    list_filter = ("split", "category", "source")
    search_fields = ("text",)


@admin.register(models.Demonstration)
class DemonstrationAdmin(admin.ModelAdmin):
    list_display = ("id", "prompt", "labeler", "review_state", "guideline_version", "created_at")
    list_filter = ("review_state",)
    raw_id_fields = ("prompt", "task")


@admin.register(models.Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("id", "prompt", "origin", "model_version", "text")
    list_filter = ("origin",)
    raw_id_fields = ("prompt",)


class TaskResponseInline(admin.TabularInline):
    model = models.TaskResponse
    extra = 0
    raw_id_fields = ("response",)


@admin.register(models.Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "prompt", "labelers_required", "completed_count", "batch", "created_at")
    list_filter = ("kind", "batch")
    raw_id_fields = ("prompt",)
    inlines = [TaskResponseInline]


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "labeler", "state", "lease_expires_at", "completed_at")
    list_filter = ("state",)
    raw_id_fields = ("task",)


class RankedResponseInline(admin.TabularInline):
    model = models.RankedResponse
    extra = 0
    raw_id_fields = ("response",)


@admin.register(models.Ranking)
class RankingAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "labeler", "guideline_version", "all_bad", "unrankable", "pairs_expanded_at", "created_at")
    list_filter = ("all_bad", "unrankable")
    raw_id_fields = ("task", "assignment")
    inlines = [RankedResponseInline]


@admin.register(models.ComparisonPair)
class ComparisonPairAdmin(admin.ModelAdmin):
    list_display = ("id", "ranking", "chosen", "rejected")
    raw_id_fields = ("ranking", "chosen", "rejected")


class RequeueRuleForm(forms.ModelForm):
    class Meta:
        model = models.RequeueRule
        fields = ("batch", "enabled", "min_agreement", "max_labelers")

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                check_rule(data.get("batch") or "", data.get("min_agreement"), data.get("max_labelers"))
            except RuleError as exc:
                self.add_error(exc.field, exc.message)
        return data


@admin.register(models.RequeueRule)
class RequeueRuleAdmin(admin.ModelAdmin):
    form = RequeueRuleForm
    list_display = ("batch", "enabled", "min_agreement", "max_labelers", "updated_by", "updated_at")
    list_filter = ("enabled",)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(models.Requeue)
class RequeueAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "agreement", "compared_pairs", "labelers_before", "min_agreement", "max_labelers",
                    "created_at")
    list_filter = ("rule",)
    raw_id_fields = ("task",)

    def has_add_permission(self, request):
        return False  # written only by labeling.requeue

    def has_change_permission(self, request, obj=None):
        return False
