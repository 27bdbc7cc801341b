"""Create (or update) a user in one of the roles: `manage.py create_user alice --role labeler`.
A user has one role: on an existing user, --role replaces the role they had."""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ADMIN, ROLES, ensure_roles


class Command(BaseCommand):
    help = "Create a user with a role (admin, labeler, ml_engineer). Password from --password or $USER_PASSWORD."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--password", default=None)
        parser.add_argument("--email", default="")
        parser.add_argument("--skip-validation", action="store_true", help="Accept a weak password (demo only).")

    def handle(self, username, role, password, email, skip_validation, **options):
        password = password or os.environ.get("USER_PASSWORD")
        if not password:
            raise CommandError("Give --password or set USER_PASSWORD.")
        User = get_user_model()
        user = User.objects.filter(username=username).first() or User(username=username, email=email)
        if not skip_validation:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("Password rejected: " + " ".join(exc.messages))
        user.set_password(password)
        user.is_staff = role == ADMIN  # admins may use Django admin too
        user.save()
        ensure_roles()
        # one role per user: giving a new role takes the old one away (an admin made a labeler loses admin)
        user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
        user.groups.add(Group.objects.get(name=role))
        self.stdout.write(f"{username}: {role}")
