"""The database restarting under traffic: the API answers 503 with Retry-After while it is down (never
a 500), recovers by itself once it is back (persistent connections are health-checked, not reused
dead), and no submission it acknowledged is missing afterwards.

The database is a private PostgreSQL cluster started for this test (gunicorn serves the platform on
it), never the machine's shared one. Labelers keep submitting rankings throughout, retrying with
their idempotency key until acknowledged, as the web UI does.
"""

import threading
import time

import psycopg
import pytest

from tests.reliability.labelers import check_against_database, run_labelers, seed_ranking_tasks, token_for


@pytest.mark.slow
def test_api_answers_503_while_the_database_is_down_and_loses_nothing(platform_on_private_postgres):
    server, postgres, _ = platform_on_private_postgres
    seed_ranking_tasks(server.url, token_for(server.url, "boss"), 3000)  # more than 3 labelers do in the test
    tokens = [token_for(server.url, name) for name in ("lab1", "lab2", "lab3")]

    from tests.reliability.labelers import Ledger

    ledger, stop = Ledger(), threading.Event()
    labelers = run_labelers(server.url, tokens, ledger, stop, retry_for=60)
    outages = []
    for mode in ("fast", "immediate"):  # clean shutdown, then a crash-like one
        time.sleep(1.5)
        down_at = time.monotonic()
        postgres.stop(mode)
        time.sleep(2.5)
        postgres.start()
        outages.append((down_at, time.monotonic()))
    time.sleep(3)
    stop.set()
    for labeler in labelers:
        labeler.join(timeout=90)

    statuses = ledger.statuses
    assert not any(labeler.out_of_work for labeler in labelers), "the labelers ran out of tasks: seed more"
    assert not ledger.refused, ledger.refused[:5]
    assert {s for _, _, s in statuses} <= {200, 201, 204, 503}, [r for r in statuses if r[2] not in (200, 201, 204, 503)][:5]
    for down_at, up_at in outages:
        during = [r for r in statuses if down_at + 0.3 <= r[0] <= up_at - 0.1]
        assert during and all(r[2] == 503 for r in during), during[:5]
        first_ok = min(t for t, _, s in statuses if t > up_at and s in (200, 201))
        assert first_ok - up_at < 5, "the API recovers on its own within seconds of the database coming back"
    last_up = outages[-1][1]
    tail = [r for r in statuses if r[0] > last_up + 2]
    assert tail and all(r[2] in (200, 201, 204) for r in tail), [r for r in tail if r[2] not in (200, 201, 204)][:5]

    report = check_against_database(ledger, lambda: psycopg.connect(postgres.url.replace("postgres://", "postgresql://")))
    assert report["acknowledged"] >= 20, report
    assert report["lost"] == 0, report
    assert report["refused"] == 0, ledger.refused[:5]
    assert report["rankings_in_db"] == report["acknowledged"], "no ranking saved twice or left unacknowledged"
