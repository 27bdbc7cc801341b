"""Labelers measured on gold: pairwise accuracy with its Wilson interval (admin API), and the per-ranking
weights (and floor) a rankings or pairs snapshot carries by rule."""

import json
from pathlib import Path

import pytest

from labeling.gold import WeightRule, wilson_interval
from labeling.ranking import RuleError
from tests.support.builders import client_as, next_work, ranking_task, submit
from training.datasets import freeze_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def artifact_root(settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path / "artifacts"


def rank_next(client, reverse=False):
    """Take the next task and rank its answers in canonical order (or reversed)."""
    item = next_work(client, prefetch=False).json()
    position = {rid: i for i, rid in enumerate(sorted(r["id"] for r in item["responses"]))}
    n = len(position)
    ranks = [(n - position[r["id"]]) if reverse else position[r["id"]] + 1 for r in item["responses"]]
    assert submit(client, item, ranks=ranks).status_code == 201
    return item["task"]["id"]


@pytest.fixture
def crowd():
    """A gold task (gold = canonical order) ranked by `good` (right on all 3 pairs) and `bad` (wrong
    on all 3); an ordinary task ranked by both and by `fresh`, who never saw gold."""
    gold = ranking_task(k=3, labelers_required=2, gold_ranks=[1, 2, 3], text="gold")
    plain = ranking_task(k=3, labelers_required=3, text="plain")
    good, bad, fresh = client_as("labeler"), client_as("labeler"), client_as("labeler")
    assert [rank_next(good), rank_next(good)] == [gold.pk, plain.pk]
    assert [rank_next(bad, reverse=True), rank_next(bad, reverse=True)] == [gold.pk, plain.pk]
    assert rank_next(fresh) == plain.pk
    return good.user.pk, bad.user.pk, fresh.user.pk


def test_wilson_interval_matches_the_formula():
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) == (None, None)
    low, high = wilson_interval(3, 3)
    assert round(low, 4) == 0.4385 and high == 1.0


def test_admins_see_each_labelers_gold_accuracy_interval_and_weight(crowd):
    good, bad, fresh = crowd
    admin = client_as("admin")
    rows = {r["labeler"]: r for r in admin.get("/api/quality/gold/").json()["labelers"]}
    assert set(rows) == {good, bad}  # fresh has no gold pairs
    assert (rows[good]["gold_pairs"], rows[good]["agreed_pairs"], rows[good]["accuracy"], rows[good]["weight"]) == (3, 3, 1.0, 1.0)
    assert (rows[bad]["accuracy"], rows[bad]["weight"]) == (0.0, 0.0)
    assert rows[good]["interval_low"] == pytest.approx(wilson_interval(3, 3)[0])
    assert rows[bad]["interval_high"] == pytest.approx(wilson_interval(0, 3)[1])

    preview = admin.get("/api/quality/gold/", {"estimate": "wilson_low", "floor": "0.4"}).json()
    rows = {r["labeler"]: r for r in preview["labelers"]}
    assert rows[good]["weight"] == 0.0  # 2·0.4385 − 1 < 0: three gold pairs prove little
    assert (rows[good]["below_floor"], rows[bad]["below_floor"]) == (False, True)


@pytest.mark.parametrize("params, field", [({"floor": "1.5"}, "floor"), ({"floor": "high"}, "floor"),
                                           ({"estimate": "median"}, "estimate")])
def test_bad_preview_settings_are_a_400_naming_the_field(params, field):
    response = client_as("admin").get("/api/quality/gold/", params)
    assert response.status_code == 400 and field in response.json()


def test_pairs_tied_in_gold_are_not_counted_and_a_labelers_tie_is_half_right():
    ranking_task(k=3, labelers_required=3, gold_ranks=[1, 1, 2], text="gold with a tie")
    people = {name: client_as("labeler") for name in ("breaks the tie", "ties everything", "reverses")}
    for name, ranks in (("breaks the tie", [1, 2, 3]), ("ties everything", [1, 1, 1]), ("reverses", [2, 2, 1])):
        client = people[name]
        item = next_work(client, prefetch=False).json()
        position = {rid: i for i, rid in enumerate(sorted(r["id"] for r in item["responses"]))}
        assert submit(client, item, ranks=[ranks[position[r["id"]]] for r in item["responses"]]).status_code == 201
    rows = {r["labeler"]: r for r in client_as("admin").get("/api/quality/gold/").json()["labelers"]}
    got = {name: (rows[c.user.pk]["gold_pairs"], rows[c.user.pk]["accuracy"], rows[c.user.pk]["weight"])
           for name, c in people.items()}
    assert got == {"breaks the tie": (2, 1.0, 1.0), "ties everything": (2, 0.5, 0.0), "reverses": (2, 0.0, 0.0)}


def test_only_admins_see_gold_accuracy():
    assert client_as("labeler").get("/api/quality/gold/").status_code == 403


def lines(snapshot):
    return [json.loads(line) for line in Path(snapshot.file_path).read_text().splitlines()]


def test_a_rankings_snapshot_carries_each_rankings_weight_and_records_the_rule(crowd):
    snapshot = freeze_snapshot("rankings", {"labeler_weights": {}})
    # ranking order: good on gold, good on plain, bad on gold, bad on plain, fresh on plain
    assert [line["weight"] for line in lines(snapshot)] == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert snapshot.filters["labeler_weights"] == {"estimate": "accuracy", "floor": None, "unmeasured_weight": 1.0}

    pairs = freeze_snapshot("pairs", {"labeler_weights": {"unmeasured_weight": 0.5}})
    assert [line["weight"] for line in lines(pairs)] == [1.0] * 6 + [0.0] * 6 + [0.5] * 3

    unweighted = freeze_snapshot("rankings")
    assert all("weight" not in line for line in lines(unweighted))


def test_labelers_below_the_floor_are_left_out_by_rule(crowd):
    good, bad, fresh = crowd
    snapshot = freeze_snapshot("rankings", {"labeler_weights": {"floor": 0.6}})
    assert [line["weight"] for line in lines(snapshot)] == [1.0, 1.0, 1.0]
    assert (snapshot.counts["rankings"], snapshot.counts["labelers"], snapshot.counts["labelers_below_gold_floor"]) == (3, 2, 1)


@pytest.mark.parametrize("rule, field", [
    ({"floor": 2}, "filters.labeler_weights.floor"),
    ({"unmeasured_weight": -1}, "filters.labeler_weights.unmeasured_weight"),
    ({"estimate": "dawid-skene"}, "filters.labeler_weights.estimate"),
    ({"weights": 1}, "filters.labeler_weights.weights"),
    ("yes", "filters.labeler_weights"),
])
def test_a_bad_weighting_rule_is_refused_naming_the_field(rule, field):
    with pytest.raises(RuleError) as caught:
        freeze_snapshot("rankings", {"labeler_weights": rule})
    assert caught.value.field == field
    response = client_as("ml_engineer").post("/api/snapshots/", {"kind": "rankings", "filters": {"labeler_weights": rule}},
                                             format="json")
    assert response.status_code == 400
    errors = response.json()  # the dotted field, as nested objects
    for part in field.split("."):
        errors = errors[part]
    assert errors


def test_weight_rule_defaults():
    assert WeightRule.from_dict(None) is None
    assert WeightRule.from_dict({}) == WeightRule("accuracy", None, 1.0)
