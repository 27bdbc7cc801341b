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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # each request commits or rolls back on its own, as when served
def test_hostile_input_on_every_operation_and_role_gives_no_server_error_and_breaks_no_read(settings):
    """Lone surrogates, NUL, huge integers, Unicode digits, non-object JSON bodies and oversized bodies
    on every operation as every role, then every list and every export read back: 0 server errors."""
    from django.core.cache import cache
    from django.test import Client
    from drf_spectacular.generators import SchemaGenerator

    from tests.security.fuzzing import CASES, hostile_fuzz, read_everything_back

    settings.API_MAX_BODY_BYTES = 20_000
    headers = {role: {"HTTP_AUTHORIZATION": h["Authorization"]} if h else {} for role, h in seed_everything().items()}
    bystander = Token.objects.create(user=client_as("labeler").user).user_id  # whose token DELETE auth/tokens/ revokes
    schema = SchemaGenerator().get_schema(request=None, public=True)
    client = Client(raise_request_exception=False)  # a server error is counted, not raised
    try:
        report = hostile_fuzz(client, schema, headers, ids={"id": 1, "user_id": bystander},
                              max_body_bytes=settings.API_MAX_BODY_BYTES)
        read_everything_back(client, schema, headers, report)
    finally:
        cache.clear()  # the login throttle counted these requests
    print(report.as_dict())
    assert report.operations >= 60 and report.roles == 4 and len(CASES) == 9
    assert report.requests >= report.operations * report.roles * len(CASES)
    assert not report.server_errors, "\n".join(report.server_errors[:60])
