"""Evaluation: the win rate with ties counted half and its Wilson interval, and people's side-by-side
comparisons (made by the labeling API's normal ranking submission) summarised as a win-rate table."""

import pytest

from training import evaluation
from training.models import Job, JobKind, JobState, ModelKind, ModelVersion


def test_win_rate_counts_ties_half_with_a_wilson_interval():
    r = evaluation.win_rate(wins=8, ties=0, losses=2)
    assert (r["n"], r["win_rate"]) == (10, 0.8)
    assert r["ci_low"] == pytest.approx(0.4902, abs=1e-4) and r["ci_high"] == pytest.approx(0.9433, abs=1e-4)
    assert evaluation.win_rate(wins=3, ties=2, losses=1)["win_rate"] == pytest.approx(4 / 6)
    even = evaluation.win_rate(1, 1, 1)
    assert even["win_rate"] == 0.5 and even["ci_low"] == pytest.approx(1 - even["ci_high"])


def test_the_interval_stays_inside_0_and_1_and_no_comparisons_give_no_rate():
    assert evaluation.win_rate(5, 0, 0)["ci_high"] == 1.0 and evaluation.win_rate(5, 0, 0)["ci_low"] > 0.5
    assert evaluation.win_rate(0, 0, 0) == {"n": 0, "win_rate": None, "ci_low": None, "ci_high": None}


def test_outcomes_by_score():
    assert [evaluation.outcome(a, b) for a, b in ((1.0, 0.5), (0.5, 1.0), (0.3, 0.3))] == ["win", "loss", "tie"]


@pytest.fixture
def comparison_tasks(db):
    from labeling.models import Prompt

    baseline = ModelVersion.objects.create(name="sft", kind=ModelKind.SFT, artifact_path="/m/sft")
    candidate = ModelVersion.objects.create(name="ppo", kind=ModelKind.POLICY, artifact_path="/m/ppo")
    prompts = [Prompt.objects.create(messages=[{"role": "user", "content": f"Q{i}"}], text=f"Q{i}", split="eval") for i in range(3)]
    tasks = evaluation.create_comparison_tasks([(p, f"good {p.text}", f"plain {p.text}") for p in prompts], candidate, baseline)
    return candidate, baseline, tasks


def test_comparison_tasks_hold_one_answer_from_each_model(comparison_tasks):
    candidate, baseline, tasks = comparison_tasks
    for task in tasks:
        assert task.kind == "comparison"
        assert sorted(r.model_version_id for r in task.responses.all()) == sorted([candidate.pk, baseline.pk])
        assert {r.origin for r in task.responses.all()} == {"model"}


def test_labelers_picks_through_the_ranking_api_make_the_win_rate_table(comparison_tasks, make_user, api_client_for):
    """Pick A, B or tie: the candidate wins one, ties one, loses one -> 50%."""
    candidate, baseline, _ = comparison_tasks
    client = api_client_for(make_user("labeler"))
    choices = iter(["candidate", "tie", "baseline"])
    for _ in range(3):
        item = client.post("/api/work/next/", {"kind": "comparison"}, format="json").json()
        by_model = {}
        from labeling.models import Response
        for r in item["responses"]:
            by_model[Response.objects.get(pk=r["id"]).model_version_id] = r["id"]
        choice = next(choices)
        ranks = {"candidate": (1, 2), "baseline": (2, 1), "tie": (1, 1)}[choice]
        body = {"ranks": [{"response": by_model[candidate.pk], "rank": ranks[0]},
                          {"response": by_model[baseline.pk], "rank": ranks[1]}]}
        assert client.post(f"/api/assignments/{item['id']}/ranking/", body, format="json").status_code == 201

    [row] = evaluation.win_rate_table()
    assert (row["model"], row["baseline"], row["judge"]) == (candidate.pk, baseline.pk, "human")
    assert (row["wins"], row["ties"], row["losses"], row["n"], row["win_rate"]) == (1, 1, 1, 3, 0.5)
    assert row["ci_low"] == pytest.approx(0.1253, abs=1e-3) and row["ci_high"] == pytest.approx(0.8747, abs=1e-3)

    engineer = api_client_for(make_user("ml_engineer"))
    assert engineer.get("/api/evaluations/win-rates/").json()["rows"] == [row]


def test_reward_judged_runs_join_the_table(db):
    a = ModelVersion.objects.create(name="sft", kind=ModelKind.SFT, artifact_path="/m/a")
    b = ModelVersion.objects.create(name="ppo", kind=ModelKind.POLICY, artifact_path="/m/b")
    rm = ModelVersion.objects.create(name="rm", kind=ModelKind.RM, artifact_path="/m/rm")
    result = {"mode": "reward_win_rate", "candidate": b.pk, "baseline": a.pk, "judge": rm.pk, "wins": 7, "ties": 0,
              "losses": 3, **evaluation.win_rate(7, 0, 3)}
    Job.objects.create(kind=JobKind.EVALUATE, state=JobState.SUCCEEDED, result=result)
    Job.objects.create(kind=JobKind.EVALUATE, state=JobState.FAILED, result={"mode": "reward_win_rate"})
    [row] = evaluation.win_rate_table()
    assert (row["model_name"], row["baseline_name"], row["judge"], row["win_rate"]) == ("ppo", "sft", f"reward model #{rm.pk}", 0.7)
