"""Schemathesis against /api/schema/, every endpoint, every role (a bounded number of generated
requests; scripts/fuzz_api.py runs many more): no 5xx, and every documented response matches the
schema. The database holds a little of everything, so detail routes find real objects too."""

import pytest
from django.core.wsgi import get_wsgi_application
from rest_framework.authtoken.models import Token

from tests.support.builders import client_as, demonstration_task, next_work, published_guideline, ranking_task, submit
from tests.security.fuzzing import fuzz

MAX_EXAMPLES = 1


def seed_everything():
    """A guideline, prompts, tasks, a submitted ranking and demonstration: ids 1.. exist."""
    published_guideline()
    for _ in range(2):
        ranking_task(k=3, gold_ranks=[1, 2, 3])
    demonstration_task()
    labeler = client_as("labeler")
    submit(labeler, next_work(labeler, kind="ranking").json())
    item = next_work(labeler, kind="demonstration").json()
    labeler.post(f"/api/assignments/{item['id']}/demonstration/", {"text": "An answer."}, format="json")
    headers = {"anonymous": {}}
    for role, client in (("labeler", labeler), ("admin", client_as("admin")), ("ml_engineer", client_as("ml_engineer"))):
        headers[role] = {"Authorization": f"Token {Token.objects.create(user=client.user).key}"}
    return headers


@pytest.mark.slow
@pytest.mark.django_db
def test_no_request_gets_a_server_error_or_a_response_off_schema():
    report = fuzz(get_wsgi_application(), seed_everything(), max_examples=MAX_EXAMPLES)
    print(report.as_dict())
    assert len(report.operations) >= 40
    assert report.calls >= len(report.operations) * 5
    assert not any(status >= 500 for status in report.by_status), report.as_dict()
    assert not report.failures, "\n".join(sorted(set(f.split("\n")[0] for f in report.failures))[:40])
