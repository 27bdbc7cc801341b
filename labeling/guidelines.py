"""Guideline versions: write a draft, publish it, and find the version labels are made under.

Every ranking and demonstration records the guideline version in use when it was submitted: the most
recently published version of a guideline for that kind of task, else of a guideline for every kind
(publishing a version puts it in use).
"""

from django.db import transaction
from django.db.models import Case, Max, When
from django.utils import timezone

from labeling.assignment import Conflict
from labeling.models import Guideline, GuidelineVersion


def current_version(task_kind=None):
    """The guideline version in use for a kind of task (None before any is published): the one
    published last among the guidelines written for that kind, else among those for every kind.
    One query: a kind's own guideline sorts before the general ones."""
    versions = GuidelineVersion.objects.filter(published_at__isnull=False).select_related("guideline")
    if task_kind:
        versions = (versions.filter(guideline__task_kind__in=(task_kind, ""))
                    .annotate(own=Case(When(guideline__task_kind=task_kind, then=1), default=0))
                    .order_by("-own", "-published_at", "-id"))
    else:
        versions = versions.order_by("-published_at", "-id")
    return versions.first()


@transaction.atomic
def add_version(guideline, body, changelog="", user=None, publish=False):
    """A new version numbered after the guideline's last one; published at once when asked."""
    Guideline.objects.select_for_update().filter(pk=guideline.pk).first()  # number versions one at a time
    number = (guideline.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return GuidelineVersion.objects.create(
        guideline=guideline, number=number, body=body, changelog=changelog, created_by=user,
        published_at=timezone.now() if publish else None,
    )


def edit_draft(version, **fields):
    if version.is_published:
        raise Conflict(f"version {version.number} is published and can no longer change; add a new version")
    for name, value in fields.items():
        setattr(version, name, value)
    version.save()
    return version


def publish(version):
    if version.is_published:
        raise Conflict(f"version {version.number} is already published")
    version.published_at = timezone.now()
    version.save(update_fields=["published_at"])
    return version


def delete_draft(version):
    if version.is_published:
        raise Conflict(f"version {version.number} is published and cannot be deleted")
    version.delete()
