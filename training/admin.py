from django.contrib import admin

from training import models


@admin.register(models.DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "name", "content_hash", "counts", "created_at")
    list_filter = ("kind",)
    readonly_fields = ("content_hash", "counts", "file_path", "filters")


@admin.register(models.ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "kind", "job", "artifact_path", "created_at")
    list_filter = ("kind",)


class JobMetricInline(admin.TabularInline):
    model = models.JobMetric
    extra = 0
    readonly_fields = ("step", "values", "created_at")


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "name", "state", "progress", "worker_host", "created_at", "finished_at")
    list_filter = ("kind", "state")
    inlines = [JobMetricInline]
