"""API token authentication in one query: the token, its user and the user's role groups together.

DRF's TokenAuthentication reads the token with its user, and the role check (accounts.permissions)
then reads the user's groups: two queries, and on the labeler's hot path (`work/next`, submit) Django
building them cost more CPU than the rest of the authentication. Here one statement, written once
(db.sql), returns a row per group of the token's user; the roles go with the user, so
accounts.roles.user_roles does not ask again within the request. Same answers as DRF's class
for an unknown token or an inactive user.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from accounts.roles import roles_of
from db import sql


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        User = get_user_model()
        memberships = User.groups.through
        rows = sql.fetch(
            f"SELECT {sql.columns(Token, 't')}, {sql.columns(User, 'u')}, g.name FROM {sql.table(Token)} t"
            f" JOIN {sql.table(User)} u ON u.id = t.user_id"
            f" LEFT JOIN {sql.table(memberships)} m ON m.user_id = u.id LEFT JOIN {sql.table(Group)} g ON g.id = m.group_id"
            " WHERE t.key = %s", [key])
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        ((token, user),) = sql.instances(rows[:1], Token, User)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user._roles = roles_of(user, [row[-1] for row in rows if row[-1] is not None])
        token.user = user
        return user, token
