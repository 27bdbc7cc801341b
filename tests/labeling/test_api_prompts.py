"""Prompts: admins create and edit them until used; ML engineers read; lists filter and paginate."""

import pytest
from django.test import override_settings

from labeling.models import Prompt
from tests.support.builders import client_as, prompt, ranking_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return client_as("admin")


def test_create_from_text_or_a_conversation(admin):
    response = admin.post("/api/prompts/", {"text": "Why?", "category": "open_qa", "split": "sft"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["messages"] == [{"role": "user", "content": "Why?"}] and body["used"] is False
    conversation = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                    {"role": "user", "content": "Tell me a joke."}]
    response = admin.post("/api/prompts/", {"messages": conversation, "category": "chat"}, format="json")
    assert response.status_code == 201
    saved = Prompt.objects.get(pk=response.json()["id"])
    assert (saved.text, saved.messages, saved.split, saved.created_by) == ("Tell me a joke.", conversation, "rm", admin.user)


@pytest.mark.parametrize("body, field", [
    ({}, "text"),
    ({"text": "x", "category": "poetry"}, "category"),
    ({"text": "x", "split": "train"}, "split"),
    ({"messages": [{"role": "user"}]}, "messages"),
    ({"messages": "not a list", "category": "chat"}, "messages"),
    ({"messages": [{"role": "assistant", "content": "only me"}]}, "messages"),
    ({"text": "x", "tags": [1, 2]}, "tags"),
    ({"text": "x", "source": "s" * 201}, "source"),
])
def test_bad_prompts_are_400_naming_the_field(admin, body, field):
    response = admin.post("/api/prompts/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()


@override_settings(MAX_TEXT_LENGTH=20)
def test_prompt_text_is_size_limited(admin):
    response = admin.post("/api/prompts/", {"text": "x" * 21}, format="json")
    assert response.status_code == 400 and "at most 20" in response.json()["text"][0]


def test_a_prompt_is_editable_until_it_is_used(admin):
    p = prompt("Old question")
    url = f"/api/prompts/{p.pk}/"
    response = admin.patch(url, {"text": "New question", "category": "closed_qa"}, format="json")
    assert response.status_code == 200
    p.refresh_from_db()
    assert (p.text, p.messages[0]["content"], p.category) == ("New question", "New question", "closed_qa")
    used = ranking_task(text="used one").prompt
    response = admin.patch(f"/api/prompts/{used.pk}/", {"text": "changed"}, format="json")
    assert response.status_code == 409 and "used" in response.json()["detail"]
    assert admin.delete(f"/api/prompts/{used.pk}/").status_code == 409
    assert admin.get(f"/api/prompts/{used.pk}/").json()["used"] is True
    assert admin.delete(url).status_code == 204


def test_ml_engineers_read_and_labelers_see_nothing(admin):
    p = prompt()
    ml = client_as("ml_engineer")
    assert ml.get(f"/api/prompts/{p.pk}/").status_code == 200
    assert ml.post("/api/prompts/", {"text": "x"}, format="json").status_code == 403
    assert client_as("labeler").get("/api/prompts/").status_code == 403


def test_lists_filter_search_order_and_paginate(admin):
    prompt("apple pie", split="sft", category="generation", source="a")
    prompt("banana bread", split="rm", category="generation", source="b")
    prompt("cherry tart", split="rm", category="chat", source="b", tags=["dessert"])
    texts = lambda query: [p["text"] for p in admin.get(f"/api/prompts/?{query}").json()["results"]]  # noqa: E731
    assert texts("split=rm") == ["banana bread", "cherry tart"]
    assert texts("category=generation&source=a") == ["apple pie"]
    assert texts("search=cherry") == ["cherry tart"]
    assert texts("tag=dessert") == ["cherry tart"]
    assert texts("ordering=-id&limit=1") == ["cherry tart"]
    assert admin.get("/api/prompts/?split=bogus").status_code == 400
    assert admin.get("/api/prompts/?limit=2").json()["count"] == 3
