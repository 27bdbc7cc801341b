"""A labeler's start page counts: tasks waiting for them by kind, and tasks they finished today."""

import pytest

from labeling.assignment import next_assignments
from labeling.models import Origin, Prompt, Response
from labeling.ranking import create_demonstration_task, create_ranking_task
from labeling.submission import submit_ranking


def ranking_task(text, labelers_required=1):
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": text}], text=text)
    answers = [Response.objects.create(prompt=prompt, text=t, origin=Origin.MODEL) for t in ("a", "b")]
    return create_ranking_task(prompt, answers, labelers_required=labelers_required), answers


@pytest.mark.django_db
def test_waiting_follows_the_hand_out_rules_and_done_today_counts_submissions(client, make_user):
    lena, dora = make_user("labeler", username="lena"), make_user("labeler", username="dora")
    _, answers = ranking_task("One?")
    ranking_task("Two?")
    ranking_task("Three?", labelers_required=2)
    create_demonstration_task(Prompt.objects.create(messages=[{"role": "user", "content": "Why?"}], text="Why?"))
    (taken,) = next_assignments(dora, "ranking")  # leased to dora: not waiting for lena
    client.force_login(lena)
    assert client.get("/api/work/summary/").json() == {"rankings_waiting": 2, "demonstrations_waiting": 1, "done_today": 0}

    (mine,) = next_assignments(lena, "ranking")  # her own lease still waits for her
    assert client.get("/api/work/summary/").json()["rankings_waiting"] == 2
    ids = [r.response_id for r in mine.task.task_responses.all()]
    submit_ranking(mine.id, lena, {"ranks": [{"response": ids[0], "rank": 1}, {"response": ids[1], "rank": 2}]})
    assert client.get("/api/work/summary/").json() == {"rankings_waiting": 1, "demonstrations_waiting": 1, "done_today": 1}
    client.logout()
    assert client.get("/api/work/summary/").status_code in (401, 403)
