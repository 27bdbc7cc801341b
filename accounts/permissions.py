"""DRF permission classes by role. Object scope (a labeler sees only their own work) is enforced
by each view's queryset, so a guessed id is a 404, not someone else's data."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.roles import ADMIN, LABELER, ML_ENGINEER, has_role


class IsAdmin(BasePermission):
    def has_permission(self, request, view):
        return has_role(request.user, ADMIN)


class IsLabeler(BasePermission):
    def has_permission(self, request, view):
        return has_role(request.user, LABELER, ADMIN)


class IsMLEngineer(BasePermission):
    def has_permission(self, request, view):
        return has_role(request.user, ML_ENGINEER, ADMIN)


class IsAdminOrReadOnlyForStaff(BasePermission):
    """Admins write; ML engineers read (they build datasets from these objects)."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return has_role(request.user, ADMIN, ML_ENGINEER)
        return has_role(request.user, ADMIN)


class IsMLEngineerOrAdminReadOnly(BasePermission):
    """ML engineers write; admins only read (jobs, models, snapshots): launching, cancelling and
    registering are the ML team's decisions, as the README says."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return has_role(request.user, ADMIN, ML_ENGINEER)
        return has_role(request.user, ML_ENGINEER)
