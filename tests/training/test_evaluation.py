"""Evaluation: the win rate with ties counted half and its interval (a bootstrap over prompts), and
people's side-by-side comparisons (made by the labeling API's normal ranking submission) summarised as a
win-rate table."""

import random

import pytest

from training import evaluation
from training.intervals import clustered_rate
from training.models import Job, JobKind, JobState, ModelKind, ModelVersion


def one_each(*outcomes):
    """One comparison per prompt."""
    return [[o] for o in outcomes]


def test_win_rate_counts_ties_half_and_the_interval_brackets_it():
    r = evaluation.win_rate(one_each(*["win"] * 8, *["loss"] * 2))
    assert (r["n"], r["prompts"], r["wins"], r["losses"], r["win_rate"]) == (10, 10, 8, 2, 0.8)
    assert 0.4 < r["ci_low"] < 0.8 < r["ci_high"] <= 1.0
    assert evaluation.win_rate(one_each("win", "win", "win", "tie", "tie", "loss"))["win_rate"] == pytest.approx(4 / 6)
    assert evaluation.win_rate(one_each("win", "win")) == evaluation.win_rate(one_each("win", "win"))  # fixed seed


def test_the_interval_stays_inside_0_and_1_and_no_comparisons_give_no_rate():
    r = evaluation.win_rate(one_each(*["win"] * 5))
    assert (r["ci_low"], r["ci_high"]) == (1.0, 1.0)
    assert evaluation.win_rate([]) == {"wins": 0, "ties": 0, "losses": 0, "n": 0, "prompts": 0, "win_rate": None,
                                       "ci_low": None, "ci_high": None}


def test_correlated_samples_of_one_prompt_widen_the_interval():
    """8 samples per prompt that all go the same way (the prompt decides) carry about as much
    information as one: resampling prompts must give a much wider interval than treating the 240
    comparisons as independent."""
    rng = random.Random(1)
    groups = [[1.0] * 8 if rng.random() < 0.6 else [0.0] * 8 for _ in range(30)]
    clustered = clustered_rate(groups)
    naive = clustered_rate([[x] for g in groups for x in g])
    assert clustered["rate"] == naive["rate"] and clustered["n"] == naive["n"] == 240
    assert clustered["prompts"] == 30
    width, naive_width = clustered["ci_high"] - clustered["ci_low"], naive["ci_high"] - naive["ci_low"]
    assert width > 2 * naive_width  # about sqrt(8) = 2.8 times


def test_independent_samples_of_one_prompt_do_not_widen_it():
    rng = random.Random(2)
    groups = [[float(rng.random() < 0.6) for _ in range(8)] for _ in range(30)]
    clustered = clustered_rate(groups)
    naive = clustered_rate([[x] for g in groups for x in g])
    width, naive_width = clustered["ci_high"] - clustered["ci_low"], naive["ci_high"] - naive["ci_low"]
    assert 0.7 < width / naive_width < 1.4


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
    assert (row["wins"], row["ties"], row["losses"], row["n"], row["prompts"], row["win_rate"]) == (1, 1, 1, 3, 3, 0.5)
    assert row["ci_low"] < 0.5 < row["ci_high"]

    engineer = api_client_for(make_user("ml_engineer"))
    assert engineer.get("/api/evaluations/win-rates/").json()["rows"] == [row]


def test_reward_judged_runs_join_the_table(db):
    a = ModelVersion.objects.create(name="sft", kind=ModelKind.SFT, artifact_path="/m/a")
    b = ModelVersion.objects.create(name="ppo", kind=ModelKind.POLICY, artifact_path="/m/b")
    rm = ModelVersion.objects.create(name="rm", kind=ModelKind.RM, artifact_path="/m/rm")
    result = {"mode": "reward_win_rate", "candidate": b.pk, "baseline": a.pk, "judge": rm.pk, "wins": 7, "ties": 0,
              **evaluation.win_rate(one_each(*["win"] * 7, *["loss"] * 3))}
    Job.objects.create(kind=JobKind.EVALUATE, state=JobState.SUCCEEDED, result=result)
    Job.objects.create(kind=JobKind.EVALUATE, state=JobState.FAILED, result={"mode": "reward_win_rate"})
    [row] = evaluation.win_rate_table()
    assert (row["model_name"], row["baseline_name"], row["judge"], row["win_rate"]) == ("ppo", "sft", f"reward model #{rm.pk}", 0.7)


def test_two_labelers_on_one_prompt_are_one_cluster(db, make_user, api_client_for):
    from labeling.models import Prompt, Response

    baseline = ModelVersion.objects.create(name="sft", kind=ModelKind.SFT, artifact_path="/m/sft")
    candidate = ModelVersion.objects.create(name="ppo", kind=ModelKind.POLICY, artifact_path="/m/ppo")
    prompts = [Prompt.objects.create(messages=[{"role": "user", "content": f"Q{i}"}], text=f"Q{i}", split="eval") for i in range(2)]
    evaluation.create_comparison_tasks([(p, "a", "b") for p in prompts], candidate, baseline, labelers_required=2)
    for name in ("one", "two"):
        client = api_client_for(make_user("labeler", username=name))
        for _ in prompts:
            item = client.post("/api/work/next/", {"kind": "comparison"}, format="json").json()
            ranks = [{"response": r["id"], "rank": 1 if Response.objects.get(pk=r["id"]).model_version_id == candidate.pk else 2}
                     for r in item["responses"]]
            assert client.post(f"/api/assignments/{item['id']}/ranking/", {"ranks": ranks}, format="json").status_code == 201
    [row] = evaluation.win_rate_table()
    assert (row["n"], row["prompts"], row["wins"]) == (4, 2, 4)
