"""Fixtures for fault tests: private services that the tests may stop and start (see services.py)."""

import pytest

from tests.reliability.services import LiveServer, PrivatePostgres, PrivateRedis, manage, platform_env

USERS = (("lab1", "labeler"), ("lab2", "labeler"), ("lab3", "labeler"), ("boss", "admin"), ("mle", "ml_engineer"))
CREATE_USERS = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from accounts.roles import ensure_roles
ensure_roles()
for name, role in {users!r}:
    user = get_user_model().objects.create_user(name, password="a-Long-passw0rd")
    user.groups.add(Group.objects.get(name=role))
"""


def create_users(env, users=USERS):
    manage("shell", "-c", CREATE_USERS.format(users=users), env=env)


@pytest.fixture
def private_redis():
    redis = PrivateRedis().start()
    yield redis
    redis.stop()


@pytest.fixture
def platform_on_private_postgres(private_redis):
    """A private PostgreSQL with the schema migrated, users in every role (USERS), and gunicorn
    serving it. Yields (server, postgres, env)."""
    postgres = PrivatePostgres().init()
    env = platform_env(DATABASE_URL=postgres.url, REDIS_URL=private_redis.url, CELERY_BROKER_URL=private_redis.url,
                       CELERY_RESULT_BACKEND=private_redis.url, DEBUG="1", LOGIN_THROTTLE_RATE="100000/min")
    server = None
    try:
        manage("migrate", "--noinput", env=env)
        create_users(env)
        server = LiveServer(env).wait_ready()
        yield server, postgres, env
    finally:
        if server is not None:
            server.stop()
        postgres.destroy()
