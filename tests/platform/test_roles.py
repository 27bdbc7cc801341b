"""Roles exist as groups with permissions; create_user puts a user in one."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_roles_are_groups_with_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {"admin", "labeler", "ml_engineer"} <= names
    admin = Group.objects.get(name="admin")
    assert admin.permissions.filter(codename="change_prompt").exists()
    assert not Group.objects.get(name="labeler").permissions.filter(codename="change_prompt").exists()
    assert Group.objects.get(name="ml_engineer").permissions.filter(codename="add_job").exists()


def test_create_user_command_assigns_the_role():
    call_command("create_user", "ada", "--role", "ml_engineer", "--password", "correct-horse-battery-9")
    user = User.objects.get(username="ada")
    assert list(user.groups.values_list("name", flat=True)) == ["ml_engineer"]
    assert user.check_password("correct-horse-battery-9")


def test_create_user_rejects_a_weak_password():
    with pytest.raises(CommandError, match="Password rejected"):
        call_command("create_user", "bob", "--role", "labeler", "--password", "123")
    assert not User.objects.filter(username="bob").exists()
