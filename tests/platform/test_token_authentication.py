"""API tokens (accounts.authentication): the token, its user and the user's roles in one query, with
DRF's answers for an unknown token or an inactive user (403: session authentication comes first in
the settings, so DRF sends no WWW-Authenticate challenge and no 401)."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.support.builders import user

pytestmark = pytest.mark.django_db


def token_client(person):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    return client


def test_a_token_signs_its_user_in_with_their_roles_in_one_query(django_assert_num_queries):
    person = user("labeler")
    person.groups.add(Group.objects.get_or_create(name="ml_engineer")[0], Group.objects.create(name="not-a-role"))
    client = token_client(person)
    with django_assert_num_queries(1):
        body = client.get("/api/auth/me/").json()
    assert body["username"] == person.username and body["roles"] == ["labeler", "ml_engineer"]


def test_a_superuser_without_groups_is_an_admin():
    person = user(None)
    person.is_superuser = True
    person.save()
    assert token_client(person).get("/api/auth/me/").json()["roles"] == ["admin"]


def test_an_unknown_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/auth/me/")
    assert response.status_code == 403 and response.json() == {"detail": "Invalid token."}


def test_an_inactive_users_token_is_refused():
    person = user("labeler")
    client = token_client(person)
    person.is_active = False
    person.save()
    response = client.get("/api/auth/me/")
    assert response.status_code == 403 and response.json() == {"detail": "User inactive or deleted."}
