"""The labeling half of the experiment, through the platform: simulated labelers are API clients.

Prompts and answers go into the database, tasks are created with the labeling rules
(``labeling.ranking``), and each simulated labeler logs in for a token and works the queue like a person
in the web UI: ``POST /api/work/next/``, then ``POST /api/assignments/{id}/demonstration/`` or
``.../ranking/`` with its gold-noisy ranks. Pairs are expanded by whatever Celery worker serves the
``default`` queue; datasets leave as frozen snapshots (``training.datasets.freeze_snapshot``).

``client`` is anything with DRF test-client / requests-like ``post(path, data, format=...)`` semantics
that returns a response with ``status_code`` and ``json()``; ``rest_framework.test.APIClient`` is used here.
"""

from __future__ import annotations

import uuid

from . import corpus, gold

PASSWORD = "hidden-Preference-1"


def labeler_client(username: str):
    """An API client logged in by token as a new labeler ``username``."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from accounts.roles import LABELER, ensure_roles

    ensure_roles()
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=LABELER))
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    if response.status_code != 200:
        raise RuntimeError(f"token for {username}: {response.status_code} {response.content[:200]!r}")
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def add_prompts(records: list[dict]) -> dict:
    """Prompt rows for corpus prompt records; returns {text: Prompt}."""
    from labeling.models import Prompt

    made = Prompt.objects.bulk_create([Prompt(messages=[{"role": "user", "content": r["text"]}], text=r["text"],
                                              category="generation", split=r["split"], source="hidden-preference")
                                       for r in records])
    return {p.text: p for p in made}


def demonstration_tasks(prompts) -> list:
    from labeling.ranking import create_demonstration_task

    return [create_demonstration_task(p, labelers_required=1, batch="hidden-preference") for p in prompts]


def ranking_tasks(sampled: list[dict], prompts_by_text: dict, labelers_required: int) -> list:
    """One ranking task per sampled record (its K answers stored as model responses)."""
    from labeling.models import Origin, Response
    from labeling.ranking import create_ranking_task

    tasks = []
    for record in sampled:
        prompt = prompts_by_text[record["prompt"]]
        responses = Response.objects.bulk_create([Response(prompt=prompt, text=text, origin=Origin.MODEL)
                                                  for text in record["responses"]])
        tasks.append(create_ranking_task(prompt, responses, labelers_required=labelers_required,
                                         batch="hidden-preference"))
    return tasks


def _next(client, kind: str):
    response = client.post("/api/work/next/", {"kind": kind}, format="json")
    if response.status_code == 204:
        return None
    if response.status_code != 200:
        raise RuntimeError(f"next: {response.status_code} {response.content[:300]!r}")
    return response.json()


def _submit(client, path: str, body: dict) -> dict:
    response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    if response.status_code != 201:
        raise RuntimeError(f"{path}: {response.status_code} {response.content[:300]!r}")
    return response.json()


def write_demonstrations(client, terms_by_text: dict, seed: int) -> int:
    """Work the demonstration queue to the end, writing in the corpus' demonstration style."""
    done = 0
    while (item := _next(client, "demonstration")) is not None:
        text = item["task"]["prompt"]["text"]
        answer = corpus.demonstration({"term": terms_by_text[text]}, seed=seed * 100_003 + item["id"])
        _submit(client, f"/api/assignments/{item['id']}/demonstration/", {"text": answer, "seconds_spent": 60})
        done += 1
    return done


def rank_queue(client, labeler: gold.SimulatedLabeler) -> int:
    """Work the ranking queue to the end, ranking by the hidden gold rule plus this labeler's noise."""
    done = 0
    while (item := _next(client, "ranking")) is not None:
        texts = [r["text"] for r in item["responses"]]
        ranks = labeler.rank(item["task"]["prompt"]["text"], texts)
        body = {"ranks": [{"response": r["id"], "rank": rank} for r, rank in zip(item["responses"], ranks)],
                "seconds_spent": 30}
        _submit(client, f"/api/assignments/{item['id']}/ranking/", body)
        done += 1
    return done


def measured_agreement() -> tuple[int, int]:
    """(pairs ordered alike, pairs compared) over every two labelers who ranked the same task."""
    from labeling.models import RankedResponse

    by_task: dict = {}
    for task_id, ranking_id, response_id, rank in RankedResponse.objects.values_list(
            "ranking__task_id", "ranking_id", "response_id", "rank"):
        by_task.setdefault(task_id, {}).setdefault(ranking_id, {})[response_id] = rank
    same = total = 0
    for rankings in by_task.values():
        rows = list(rankings.values())
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                ids = sorted(rows[i])
                s, t = gold.pairwise_agreement([rows[i][k] for k in ids], [rows[j][k] for k in ids])
                same, total = same + s, total + t
    return same, total


def expected_pairs() -> int:
    """C(K,2) minus tied pairs, summed over every saved ranking: what pair expansion must write."""
    from labeling.models import RankedResponse
    from labeling.pairs import expected_pair_count

    by_ranking: dict = {}
    for ranking_id, response_id, rank in RankedResponse.objects.values_list("ranking_id", "response_id", "rank"):
        by_ranking.setdefault(ranking_id, {})[response_id] = rank
    return sum(expected_pair_count(ranks) for ranks in by_ranking.values())


def platform_agreement() -> dict:
    """The agreement report admins read at ``GET /api/quality/agreement/`` (without the per-labeler rows)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from accounts.roles import ADMIN, ensure_roles

    ensure_roles()
    admin, _ = get_user_model().objects.get_or_create(username="experiment-admin")
    admin.groups.add(Group.objects.get(name=ADMIN))
    client = APIClient()
    client.force_authenticate(admin)
    response = client.get("/api/quality/agreement/")
    if response.status_code != 200:
        raise RuntimeError(f"agreement: {response.status_code} {response.content[:300]!r}")
    return {k: v for k, v in response.json().items() if k != "labelers"}
