"""An admin in a real browser on the quality page: labelers' gold accuracy with its interval and weight,
a re-queue rule refused with the field's error then added, and the re-queue it makes listed."""

import pytest

from labeling.models import RequeueRule, Task
from tests.frontend.conftest import log_in, screenshot
from tests.support.builders import client_as, next_work, ranking_task, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def rank(client, reverse=False):
    item = next_work(client, prefetch=False).json()
    ids = sorted(r["id"] for r in item["responses"])
    order = ids[::-1] if reverse else ids
    assert submit(client, item, ranks=[order.index(r["id"]) + 1 for r in item["responses"]]).status_code == 201


def test_admin_sees_gold_accuracy_and_turns_on_requeue_for_a_batch(page, make_user):
    gold = ranking_task(k=3, labelers_required=2, gold_ranks=[1, 2, 3], text="gold")
    task = ranking_task(k=3, labelers_required=2, text="contested")
    Task.objects.filter(pk=task.pk).update(batch="round-1")
    good, bad = client_as("labeler"), client_as("labeler")
    rank(good), rank(bad, reverse=True)  # the gold task: right on 3 of 3 pairs, and on 0

    make_user("admin", username="ada")
    log_in(page, "ada", expect_path="/manage/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Quality").click()
    table = page.get_by_test_id("gold-table")
    table.wait_for()
    assert table.locator("tbody tr").count() == 2
    assert "100.0%" in table.locator("tbody tr").nth(0).inner_text()

    page.get_by_role("textbox", name="Batch").fill("round-1")
    page.get_by_label("At most this many labelers per task").fill("1")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_text("give a whole number from 2 to 100").wait_for()
    assert not RequeueRule.objects.exists()
    page.get_by_label("At most this many labelers per task").fill("3")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_test_id("requeue-rules").get_by_text("round-1").wait_for()

    rank(good), rank(bad, reverse=True)  # the batch's task: every pair disagrees -> one more labeler
    assert Task.objects.get(pk=task.pk).labelers_required == 3
    page.reload()
    page.get_by_test_id("requeues").get_by_text("2 → 3 (cap 3)").wait_for()
    screenshot(page, "quality")
    assert gold.pk != task.pk
    for plot in ("rankings collected", "noisy crowd"):  # the experiment's plots (docs/*.svg) load
        image = page.get_by_role("img", name=plot)
        image.scroll_into_view_if_needed()
        assert image.evaluate("img => img.complete && img.naturalWidth") == 760


def test_an_ml_engineer_freezes_rankings_weighted_by_gold_leaving_out_labelers_below_the_floor(page, make_user, settings,
                                                                                               tmp_path):
    from training.models import DatasetSnapshot

    settings.ARTIFACT_ROOT = tmp_path
    ranking_task(k=3, labelers_required=2, gold_ranks=[1, 2, 3], text="gold")
    good, bad = client_as("labeler"), client_as("labeler")
    rank(good), rank(bad, reverse=True)

    make_user("ml_engineer", username="mel")
    log_in(page, "mel")
    page.goto("/ml/snapshots")
    page.get_by_label("Kind").select_option("rankings")
    page.get_by_label("Weigh rankings by the labeler's gold accuracy").check()
    floor = page.get_by_label("Leave out below gold accuracy (0–1)")
    floor.fill("2")
    page.get_by_role("button", name="Freeze snapshot").click()
    page.get_by_text("give a number from 0 to 1").wait_for()
    assert not DatasetSnapshot.objects.exists()
    floor.fill("0.5")
    page.get_by_role("button", name="Freeze snapshot").click()
    page.get_by_text("labelers_below_gold_floor: 1").wait_for()
    snapshot = DatasetSnapshot.objects.get()
    assert snapshot.filters["labeler_weights"] == {"estimate": "accuracy", "floor": 0.5, "unmeasured_weight": 1.0}
    assert snapshot.counts["rankings"] == 1
