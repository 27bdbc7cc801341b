"""Simulated labelers over HTTP, with a ledger of what the server acknowledged.

Each labeler asks for the next ranking task, ranks its answers at random (ties allowed, now and then
an unrankable task) and submits with an Idempotency-Key. Like a real client it retries the same
submission with the same key on 503, any other 5xx, or no answer, until it is acknowledged (200/201)
or refused for good (4xx). The ledger is then checked against the database: every acknowledged
submission must be saved, exactly once, with its pairs.
"""

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from itertools import combinations

import requests

PASSWORD = "a-Long-passw0rd"


def token_for(url, username, password=PASSWORD):
    response = requests.post(url + "/api/auth/token/", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    return response.json()["token"]


def seed_ranking_tasks(url, admin_token, count, k=4, labelers_required=1, batch="soak"):
    """Create `count` ranking tasks of K answers through the import API (one request)."""
    lines = [json.dumps({"prompt": f"Question {batch}-{i}: name something {i}.",
                         "responses": [f"answer {j} to {i}" for j in range(k)], "labelers_required": labelers_required})
             for i in range(count)]
    response = requests.post(url + "/api/tasks/import/", headers={"Authorization": f"Token {admin_token}"},
                             json={"content": "\n".join(lines), "format": "jsonl", "batch": batch}, timeout=300)
    assert response.status_code == 201, response.text[:2000]
    return response.json()["ids"]


def expected_pairs(ranks):
    return sum(1 for a, b in combinations(ranks, 2) if a != b)


@dataclass
class Ledger:
    submitted: int = 0
    acknowledged: dict = field(default_factory=dict)  # idempotency key -> (ranking id, expected pairs)
    refused: list = field(default_factory=list)  # (key, status, body) answered 4xx for good
    statuses: list = field(default_factory=list)  # (monotonic time, what, status or "no answer")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what, status):
        with self.lock:
            self.statuses.append((time.monotonic(), what, status))


class Labeler(threading.Thread):
    def __init__(self, url, token, ledger, stop_event, retry_for=120.0, pause=0.0, rng=None, wait_when_idle=False):
        super().__init__(daemon=True)
        self.wait_when_idle = wait_when_idle
        self.url, self.ledger, self.stop_event, self.retry_for, self.pause = url, ledger, stop_event, retry_for, pause
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.rng = rng or random.Random()
        self.out_of_work = False

    def call(self, what, method, path, **kwargs):
        try:
            response = self.session.request(method, self.url + path, timeout=30, **kwargs)
        except requests.RequestException:
            self.ledger.note(what, "no answer")
            return None
        self.ledger.note(what, response.status_code)
        return response

    def run(self):
        while not self.stop_event.is_set():
            response = self.call("next", "POST", "/api/work/next/", json={"kind": "ranking"})
            if response is None or response.status_code >= 500:
                time.sleep(0.2)
                continue
            if response.status_code == 204:
                self.out_of_work = True
                if not self.wait_when_idle:
                    return
                time.sleep(0.5)
                continue
            self.out_of_work = False
            response.raise_for_status()
            self.submit(response.json())
            if self.pause:
                time.sleep(self.pause)

    def submit(self, item):
        ids = [r["id"] for r in item["responses"]]
        if self.rng.random() < 0.05:
            body, ranks = {"ranks": [], "unrankable": True}, []
        else:
            raw = [self.rng.randint(1, len(ids)) for _ in ids]
            ranks = [1 + sum(1 for o in raw if o < r) for r in raw]  # competition form
            body = {"ranks": [{"response": i, "rank": r} for i, r in zip(ids, ranks)],
                    "seconds_spent": round(self.rng.uniform(5, 60), 1)}
        key = uuid.uuid4().hex
        with self.ledger.lock:
            self.ledger.submitted += 1
        deadline = time.monotonic() + self.retry_for
        while time.monotonic() < deadline:
            response = self.call("submit", "POST", f"/api/assignments/{item['id']}/ranking/", json=body,
                                 headers={"Idempotency-Key": key})
            if response is not None and response.status_code in (200, 201):
                with self.ledger.lock:
                    self.ledger.acknowledged[key] = (response.json()["id"], expected_pairs(ranks))
                return
            if response is not None and 400 <= response.status_code < 500:
                with self.ledger.lock:
                    self.ledger.refused.append((key, response.status_code, response.text[:300]))
                return
            time.sleep(0.3)  # 503 / no answer: retry the same submission with the same key


def run_labelers(url, tokens, ledger, stop_event, **kwargs):
    labelers = [Labeler(url, token, ledger, stop_event, rng=random.Random(i), **kwargs) for i, token in enumerate(tokens)]
    for labeler in labelers:
        labeler.start()
    return labelers


def check_against_database(ledger, connect):
    """Compare the ledger with the rankings and pairs in the database. `connect()` gives a DB-API
    connection. Returns the report dict; `lost` must be 0."""
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT idempotency_key, id, assignment_id FROM labeling_ranking")
        saved = {key: (pk, assignment) for key, pk, assignment in cur.fetchall()}
        cur.execute("SELECT ranking_id, COUNT(*) FROM labeling_comparisonpair GROUP BY ranking_id")
        pairs_by_ranking = dict(cur.fetchall())
        cur.execute("SELECT COUNT(*) FROM (SELECT ranking_id, chosen_id, rejected_id FROM labeling_comparisonpair "
                    "GROUP BY ranking_id, chosen_id, rejected_id HAVING COUNT(*) > 1) d")
        duplicate_pairs = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM labeling_ranking WHERE pairs_expanded_at IS NULL")
        unexpanded = cur.fetchone()[0]
    acked = ledger.acknowledged
    lost = [key for key, (pk, _) in acked.items() if saved.get(key, (None,))[0] != pk]
    expected = sum(n for _, n in acked.values())
    written = sum(pairs_by_ranking.get(pk, 0) for pk, _ in acked.values())
    return {
        "submitted": ledger.submitted, "acknowledged": len(acked), "saved": len(acked) - len(lost), "lost": len(lost),
        "refused": len(ledger.refused), "rankings_in_db": len(saved),
        "pairs_expected": expected, "pairs_written": written, "duplicate_pairs": duplicate_pairs,
        "unexpanded_rankings": unexpanded,
    }
