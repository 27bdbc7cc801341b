"""Shared fixtures: users in each role, API clients, and real Celery worker processes."""

import pytest

from tests.support.workers import WorkerProcess


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import ensure_roles

    ensure_roles()
    counter = {"n": 0}

    def make(role="labeler", username=None, password="a-Long-passw0rd"):
        counter["n"] += 1
        user = get_user_model().objects.create_user(username or f"{role}{counter['n']}", password=password)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    def client_for(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def start_worker(transactional_db):
    """Start real Celery worker processes (the test must use committed data: transactional_db)."""
    workers = []

    def start(**kwargs):
        worker = WorkerProcess(**kwargs)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()
