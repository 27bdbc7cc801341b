"""An admin reviews demonstrations in a real browser (issue 13, defect 3: there was no review screen,
so SFT could not start from the UI): reject one with a comment, accept the rest in bulk; an sft
snapshot frozen before any was accepted says it is empty, and an invalid minimum agreement is an
error next to its field, not dropped (defect 8)."""

import pytest

from labeling.models import Demonstration, Prompt, ReviewState
from training.models import DatasetSnapshot
from tests.frontend.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_admin_rejects_one_with_a_comment_and_accepts_the_rest_in_bulk(page, make_user):
    labeler = make_user("labeler", username="lena")
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "Say hi."}], text="Say hi.")
    demos = [Demonstration.objects.create(prompt=prompt, labeler=labeler, text=t) for t in ("Hi!", "Go away.", "Hello there!")]
    make_user("admin", username="ada")
    log_in(page, "ada", expect_path="/manage/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    queue = page.get_by_test_id("review-queue")
    queue.locator("li").nth(2).wait_for()
    assert queue.locator("li").count() == 3

    page.get_by_role("button", name=f"Reject #{demos[1].id}").click()  # no comment: refused, said next to it
    page.get_by_text("say why the demonstration is rejected").wait_for()
    assert Demonstration.objects.get(pk=demos[1].id).review_state == ReviewState.SUBMITTED
    page.get_by_label("Comment").nth(1).fill("Be polite.")
    page.get_by_role("button", name=f"Reject #{demos[1].id}").click()
    page.get_by_test_id("review-status").get_by_text("Rejected 1 demonstration.").wait_for()
    screenshot(page, "review-queue")

    page.get_by_label("Select all").check()
    page.get_by_test_id("accept-selected").click()
    page.get_by_text("Nothing waits for review.").wait_for()
    assert dict(Demonstration.objects.values_list("text", "review_state")) == {
        "Hi!": ReviewState.ACCEPTED, "Go away.": ReviewState.REJECTED, "Hello there!": ReviewState.ACCEPTED}
    assert Demonstration.objects.get(pk=demos[1].id).review_comment == "Be polite."


def test_an_empty_sft_snapshot_says_so_and_a_bad_minimum_agreement_is_an_error(page, make_user, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    labeler = make_user("labeler", username="lena")
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "Say hi."}], text="Say hi.")
    Demonstration.objects.create(prompt=prompt, labeler=labeler, text="Hi!")  # submitted, not yet accepted
    make_user("ml_engineer", username="mia")
    log_in(page, "mia", expect_path="/ml/jobs")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.get_by_label("Kind").select_option("sft")
    page.get_by_label("Minimum agreement (0–1)").fill("high")
    page.get_by_role("button", name="Freeze snapshot").click()
    page.get_by_text("give a number from 0 to 1").wait_for()
    assert DatasetSnapshot.objects.count() == 0

    page.get_by_label("Minimum agreement (0–1)").fill("")
    page.get_by_role("button", name="Freeze snapshot").click()
    snapshot_warning = page.get_by_text("Empty: no accepted demonstrations")
    snapshot_warning.wait_for()
    assert DatasetSnapshot.objects.get().counts["examples"] == 0
