"""Builders shared by the labeling API tests: the smallest prompts, tasks, guidelines and clients they need."""

import itertools

from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.models import Guideline, GuidelineVersion, Origin, Prompt, Response
from labeling.ranking import create_demonstration_task, create_ranking_task


def prompt(text="What is 2 + 2?", **fields):
    return Prompt.objects.create(messages=[{"role": "user", "content": text}], text=text, **fields)


def ranking_task(k=3, labelers_required=1, gold_ranks=None, kind="ranking", text="q", priority=0):
    p = prompt(text)
    responses = [Response.objects.create(prompt=p, text=f"answer {i}", origin=Origin.IMPORT) for i in range(k)]
    task = create_ranking_task(p, responses, labelers_required, gold_ranks, kind)
    if priority:
        task.priority = priority
        task.save(update_fields=["priority"])
    return task


def demonstration_task(labelers_required=1, text="Write a haiku."):
    return create_demonstration_task(prompt(text, split="sft"), labelers_required)


def published_guideline(name="Helpful, truthful, harmless", body="Rank the best answer first."):
    guideline = Guideline.objects.create(name=name)
    return GuidelineVersion.objects.create(guideline=guideline, number=1, body=body, published_at=timezone.now())


def next_work(client, **body):
    return client.post("/api/work/next/", body, format="json")


def submit(client, item, ranks=None, **extra):
    """Rank the work item's answers in the order shown (or with the ranks given)."""
    ids = [r["id"] for r in item["responses"]]
    ranks = ranks or list(range(1, len(ids) + 1))
    body = {"ranks": [{"response": rid, "rank": rank} for rid, rank in zip(ids, ranks)], **extra}
    return client.post(f"/api/assignments/{item['id']}/ranking/", body, format="json")


_numbers = itertools.count(1)


def user(role="labeler"):
    """A user in a role, without a password (hashing one costs half a second on these machines)."""
    person = User.objects.create(username=f"{role or 'nobody'}-{next(_numbers)}")
    if role:
        person.groups.add(Group.objects.get_or_create(name=role)[0])
    return person


def client_for(person):
    client = APIClient()
    client.force_authenticate(person)
    client.user = person
    return client


def client_as(role="labeler"):
    return client_for(user(role))
