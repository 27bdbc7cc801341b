"""What a labeler's start page shows: how many tasks of each kind wait for them, and how many they
finished today. "Waiting" follows the hand-out rules of labeling/assignment.py: a task with a free
slot (submitted assignments plus unexpired leases below `labelers_required`) that this labeler has not
submitted or skipped; their own unexpired lease counts as waiting for them."""

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from labeling.assignment import kinds_for
from labeling.models import Assignment, AssignmentState, Task


def work_summary(user, now=None):
    now = now or timezone.now()
    active = Q(assignments__state=AssignmentState.LEASED, assignments__lease_expires_at__gt=now)
    mine = Assignment.objects.filter(task=OuterRef("pk"), labeler=user)
    open_tasks = (Task.objects.annotate(leases=Count("assignments", filter=active))
                  .annotate(done_by_me=Exists(mine.filter(state__in=[AssignmentState.SUBMITTED, AssignmentState.SKIPPED])),
                            leased_to_me=Exists(mine.filter(state=AssignmentState.LEASED, lease_expires_at__gt=now))))
    waiting = {}
    for kind in ("ranking", "demonstration"):
        free = Q(leased_to_me=True) | Q(completed_count__lt=F("labelers_required") - F("leases"))
        waiting[kind] = open_tasks.filter(free, kind__in=kinds_for(kind), done_by_me=False).count()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    done_today = Assignment.objects.filter(labeler=user, state=AssignmentState.SUBMITTED, completed_at__gte=start_of_day).count()
    return {"rankings_waiting": waiting["ranking"], "demonstrations_waiting": waiting["demonstration"],
            "done_today": done_today}
