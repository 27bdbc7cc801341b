"""The three roles, as Django groups with model permissions.

- admin: manages guidelines, prompts, tasks, labelers and reviews; sees agreement and quality.
- labeler: does tasks through the labeling API; sees only their own work.
- ml_engineer: freezes datasets, runs jobs, manages models; reads labels in aggregate.

API permissions check group membership (see accounts.permissions); the model permissions make the
same roles meaningful in Django admin. Superusers count as admins.
"""

from django.contrib.auth.models import Group, Permission

ADMIN = "admin"
LABELER = "labeler"
ML_ENGINEER = "ml_engineer"
ROLES = (ADMIN, LABELER, ML_ENGINEER)

_ALL = ("add", "change", "delete", "view")
ROLE_PERMISSIONS = {
    ADMIN: {
        "labeling": {m: _ALL for m in ("guideline", "guidelineversion", "prompt", "task", "taskresponse", "response",
                                        "demonstration", "assignment", "ranking", "rankedresponse", "comparisonpair")},
        "auth": {"user": _ALL},
        "training": {m: ("view",) for m in ("datasetsnapshot", "job", "modelversion", "jobmetric")},
    },
    LABELER: {
        "labeling": {"guideline": ("view",), "guidelineversion": ("view",)},
    },
    ML_ENGINEER: {
        "labeling": {m: ("view",) for m in ("prompt", "response", "task", "ranking", "comparisonpair", "demonstration")},
        "training": {m: _ALL for m in ("datasetsnapshot", "job", "modelversion", "jobmetric")},
    },
}


def ensure_roles():
    """Create the groups and (re)attach their permissions. Idempotent."""
    for role, apps in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for app_label, models in apps.items():
            for model, actions in models.items():
                codenames = [f"{action}_{model}" for action in actions]
                wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        group.permissions.set(wanted)


def roles_of(user, group_names):
    roles = {name for name in group_names if name in ROLES}
    if user.is_superuser:
        roles.add(ADMIN)
    return roles


def user_roles(user):
    """The user's roles; read with the user when an API token signed them in (accounts.authentication)."""
    if not user or not user.is_authenticated:
        return set()
    known = getattr(user, "_roles", None)
    if known is not None:
        return set(known)
    return roles_of(user, [g.name for g in user.groups.all()])


def has_role(user, *roles):
    return bool(user_roles(user) & set(roles))
