"""The other screens in a real browser: the admin's guideline editor (versions and a diff) and
progress dashboard, and the ML team's dataset snapshots (freeze, counts, download) and evaluation."""

import re

import pytest
from playwright.sync_api import expect

from labeling.assignment import next_assignments
from labeling.models import GuidelineVersion, Origin, Prompt, Response
from labeling.ranking import create_ranking_task
from labeling.submission import submit_ranking
from training.models import DatasetSnapshot
from tests.frontend.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def two_labelers_rank_one_task(make_user):
    """Two labelers rank the same 3 answers: they agree on 2 of the 3 pairs."""
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "Name a fruit."}], text="Name a fruit.")
    answers = [Response.objects.create(prompt=prompt, text=t, origin=Origin.MODEL) for t in ("Apple.", "A car.", "Pear.")]
    create_ranking_task(prompt, answers, labelers_required=2)
    ranks_by_labeler = {"lena": (1, 3, 2), "luke": (1, 2, 3)}
    for name, ranks in ranks_by_labeler.items():
        labeler = make_user("labeler", username=name)
        (assignment,) = next_assignments(labeler, "ranking")
        items = [{"response": a.id, "rank": r, "score": None, "flags": []} for a, r in zip(answers, ranks)]
        submit_ranking(assignment.id, labeler, {"ranks": items})


def test_admin_edits_guidelines_with_a_diff_and_sees_progress(page, make_user):
    two_labelers_rank_one_task(make_user)
    make_user("admin", username="ada")
    log_in(page, "ada", expect_path="/manage/dashboard")
    assert page.get_by_test_id("tasks-done").inner_text() == "1 / 1"
    page.get_by_text("Rankings per labeler").wait_for()
    page.get_by_role("cell", name="Everyone").wait_for()
    screenshot(page, "dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Guidelines").click()
    page.get_by_label("New guideline").fill("Style guide")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Version history").wait_for()
    page.get_by_label("Text").fill("Be helpful.\nBe truthful.\nBe harmless.")
    page.get_by_label("What changed").fill("First version")
    page.get_by_role("button", name="Save and publish…").click()
    page.get_by_role("button", name="Confirm publish").click()
    page.get_by_role("cell", name="v1", exact=True).wait_for()
    page.get_by_label("Text").fill("Be helpful.\nBe honest.\nBe harmless.\nPrefer short answers.")
    page.get_by_label("What changed").fill("Honesty, brevity")
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_role("button", name="Publish v2").wait_for()
    page.get_by_text("+2 −1 lines").wait_for()
    diff = page.get_by_label("Changes from v1 to v2")
    assert diff.locator(".diff-add").all_inner_texts() == ["+ Be honest.", "+ Prefer short answers."]
    assert diff.locator(".diff-del").all_inner_texts() == ["− Be truthful."]
    screenshot(page, "guidelines")
    page.get_by_role("button", name="Publish v2").click()
    page.get_by_role("button", name="Publish v2").wait_for(state="detached")
    assert GuidelineVersion.objects.filter(guideline__name="Style guide", published_at__isnull=False).count() == 2


def test_ml_engineer_freezes_and_downloads_a_pairs_snapshot(page, make_user, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    two_labelers_rank_one_task(make_user)
    from labeling.pairs import expand_rankings
    from labeling.models import Ranking

    expand_rankings(list(Ranking.objects.values_list("id", flat=True)))
    make_user("ml_engineer", username="mia")
    log_in(page, "mia", expect_path="/ml/jobs")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.get_by_label("Kind").select_option("pairs")
    page.get_by_label("Name").fill("first pairs")
    page.get_by_role("button", name="Freeze snapshot").click()
    page.get_by_role("cell", name=re.compile(r"^#\d+ first pairs$")).wait_for()
    snapshot = DatasetSnapshot.objects.get()
    assert snapshot.kind == "pairs"
    screenshot(page, "snapshots")
    with page.expect_download() as download:
        page.get_by_test_id(f"download-{snapshot.id}").click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert len(lines) == 6  # 2 rankings of 3 answers without ties: 3 pairs each
    assert download.value.suggested_filename == f"first-pairs-pairs-{snapshot.id}.jsonl"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluation").click()
    page.get_by_text("No evaluations yet.").wait_for()


def test_editing_a_guideline_starts_from_the_current_text_and_publishing_shows_the_diff_first(page, make_user):
    """Issue 13, defect 2: the editor started empty (cleared before the versions loaded), so publishing
    an edit silently dropped the rest of the guideline; nothing asked for confirmation."""
    from labeling.guidelines import add_version
    from labeling.models import Guideline

    admin = make_user("admin", username="ada")
    lines = [f"Rule {n}: be precise about point {n}." for n in range(1, 23)]
    guideline = Guideline.objects.create(name="Ranking guide")
    add_version(guideline, "\n".join(lines), "first", admin, publish=True)
    log_in(page, "ada", expect_path="/manage/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Guidelines").click()
    editor = page.get_by_label("Text")
    expect(editor).to_have_value("\n".join(lines))

    edited = lines[:4] + ["Rule 5: be precise, and short."] + lines[5:]
    editor.fill("\n".join(edited))
    page.get_by_label("What changed").fill("Rule 5 shorter")
    page.get_by_role("button", name="Save and publish…").click()
    confirm = page.get_by_test_id("publish-confirm")
    confirm.get_by_text("+1 −1 lines").wait_for()
    assert confirm.locator(".diff-del").all_inner_texts() == ["− Rule 5: be precise about point 5."]
    assert confirm.locator(".diff-add").all_inner_texts() == ["+ Rule 5: be precise, and short."]
    assert guideline.versions.count() == 1  # nothing is saved before the confirmation
    screenshot(page, "guideline-publish-confirm")
    confirm.get_by_role("button", name="Confirm publish").click()
    page.get_by_role("cell", name="v2", exact=True).wait_for()
    newest = guideline.versions.order_by("-number").first()
    assert newest.body == "\n".join(edited) and newest.published_at is not None
