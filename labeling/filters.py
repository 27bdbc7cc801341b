"""Filters of the labeling list endpoints (django-filter; query parameters named after the fields)."""

import django_filters as filters

from labeling.models import (Assignment, AssignmentState, Category, Demonstration, GuidelineVersion, Prompt, Ranking,
                             ReviewState, Split, Task, TaskKind)


class PromptFilter(filters.FilterSet):
    split = filters.ChoiceFilter(choices=Split.choices)
    category = filters.ChoiceFilter(choices=Category.choices)
    source = filters.CharFilter()
    tag = filters.CharFilter(method="filter_tag", label="Has this tag")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Prompt
        fields = ["split", "category", "source"]

    def filter_tag(self, queryset, name, value):
        # JSON containment is not on every backend (SQLite): match the quoted tag in the stored list.
        return queryset.filter(tags__icontains=f'"{value}"')


class GuidelineVersionFilter(filters.FilterSet):
    published = filters.BooleanFilter(field_name="published_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = GuidelineVersion
        fields = ["guideline", "number"]


class TaskFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=TaskKind.choices)
    batch = filters.CharFilter()
    is_gold = filters.BooleanFilter(field_name="gold_ranks", lookup_expr="isnull", exclude=True)
    complete = filters.BooleanFilter(method="filter_complete")

    class Meta:
        model = Task
        fields = ["kind", "batch", "prompt"]

    def filter_complete(self, queryset, name, value):
        from django.db.models import F

        if value:
            return queryset.filter(completed_count__gte=F("labelers_required"))
        return queryset.filter(completed_count__lt=F("labelers_required"))


class AssignmentFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=AssignmentState.choices)
    kind = filters.ChoiceFilter(field_name="task__kind", choices=TaskKind.choices)

    class Meta:
        model = Assignment
        fields = ["state", "task"]


class RankingFilter(filters.FilterSet):
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    kind = filters.ChoiceFilter(field_name="task__kind", choices=TaskKind.choices)

    class Meta:
        model = Ranking
        fields = ["task", "labeler", "guideline_version", "all_bad", "unrankable"]


class DemonstrationFilter(filters.FilterSet):
    review_state = filters.ChoiceFilter(choices=ReviewState.choices)

    class Meta:
        model = Demonstration
        fields = ["review_state", "labeler", "prompt", "task", "guideline_version"]
