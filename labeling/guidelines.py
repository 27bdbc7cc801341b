"""Guideline versions: write a draft, publish it, and find the version labels are made under.

Every ranking and demonstration records the guideline version in use when it was submitted: the most
recently published version of a guideline for that kind of task, else of a guideline for every kind
(publishing a version puts it in use).
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from db import sql
from labeling.assignment import Conflict
from labeling.models import Guideline, GuidelineVersion


def current_version(task_kind=None):
    """The guideline version in use for a kind of task (None before any is published): the one
    published last among the guidelines written for that kind, else among those for every kind.
    One query (db.sql: it runs on every next): a kind's own guideline sorts before the
    general ones. The version comes with its guideline."""
    rows = sql.fetch(f"SELECT {sql.columns(GuidelineVersion, 'v')}, {sql.columns(Guideline, 'g')}"
                     + _in_use("%s" if task_kind else None), [task_kind] if task_kind else [])
    for version, guideline in sql.instances(rows, GuidelineVersion, Guideline):
        version.guideline = guideline
        return version
    return None


def current_version_id_sql(kind_column):
    """current_version(kind)'s id as a subquery, the kind read from `kind_column` of the outer query:
    a submission reads it in the statement that locks its assignment."""
    return f"(SELECT v.id{_in_use(kind_column)})"


def _in_use(kind):
    """FROM ... LIMIT 1 of the version in use for `kind` (an SQL expression; None: any kind)."""
    # Among the kind's own guidelines and the general ones (task_kind ''), the own ones first: the
    # ORDER BY names no outer column, which SQLite refuses in a correlated subquery.
    where, own_first = (f" AND g.task_kind IN ({kind}, '')", "CASE WHEN g.task_kind = '' THEN 1 ELSE 0 END, ") if kind else ("", "")
    return (f" FROM {sql.table(GuidelineVersion)} v JOIN {sql.table(Guideline)} g ON g.id = v.guideline_id"
            f" WHERE v.published_at IS NOT NULL{where} ORDER BY {own_first}v.published_at DESC, v.id DESC LIMIT 1")


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
