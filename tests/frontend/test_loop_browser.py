"""The whole RLHF loop driven only through the web UI, on a fresh database, with real Celery workers
(issue 13): each step asserts what the user sees and what the database holds, and saves a screenshot
into test-artifacts/loop/, or into docs/loop/ (which docs/loop.md shows in order) when run with
LOOP_SCREENSHOTS=docs/loop, so an ordinary run never rewrites the committed pictures.

admin: publishes a guideline and edits it (the new version keeps what was not changed), imports
prompts from JSON Lines and CSV (asking for demonstrations of the sft prompts) → ML engineer:
bootstraps a tiny base model, launches a sampling job with the form's defaults (the stored config is
exactly those defaults) → two labelers, at the same time, rank every sampled task by keyboard (ties,
a flag) and write the demonstrations → admin: rejects one with a comment and accepts the rest in bulk
→ ML engineer: freezes `sft` and `rankings` snapshots, launches SFT and the reward model from the form,
watches them finish, evaluates, and sees RM accuracy and the SFT model's win rate over the base."""

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from labeling.models import Demonstration, GuidelineVersion, Prompt, RankedResponse, Ranking, ReviewState, Task
from training.jobs import config_schema
from training.models import DatasetSnapshot, Job, ModelVersion
from tests.frontend.conftest import ROOT, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = ROOT / os.environ.get("LOOP_SCREENSHOTS", "test-artifacts/loop")
GUIDELINE = ["# Ranking guide", "", "Rank the most **helpful** answer first.", "Prefer answers that are truthful.",
             "Ties are allowed when two answers are equally good.", "Flag made-up facts."]
JSONL = [
    {"text": "Name a fruit.", "category": "brainstorming", "split": "rm"},
    {"text": "Name a colour.", "category": "brainstorming", "split": "rm"},
    {"text": "Explain why the sky is blue.", "category": "open_qa", "split": "sft"},
    {"text": "Describe a cat.", "category": "generation", "split": "sft"},
    {"text": "Name a planet.", "category": "open_qa", "split": "eval"},
]
CSV = 'text,category,split\n"Name a city, please.",brainstorming,rm\nExplain how rain forms.,open_qa,sft\nName an ocean.,open_qa,eval\n'
TINY_BASE = {"vocab_size": "300", "n_layer": "1", "n_embd": "32", "n_head": "2", "block_size": "16",
             "batch_size": "4", "max_steps": "12", "log_every": "4", "save_every": "12"}


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def nav(page, name):
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").wait_for()


def launch(page, kind, fields=None, select=None):
    """Launch a job from the form (kind, then any changed fields) and wait on its page until it succeeds."""
    nav(page, "Jobs")
    form = page.get_by_test_id("launch-form")
    form.get_by_label("Kind").select_option(kind)
    for name, value in (select or {}).items():
        form.get_by_label(name, exact=True).select_option(value)
    for name, value in (fields or {}).items():
        form.get_by_label(name, exact=True).fill(value)
    page.get_by_test_id("launch").click()
    try:
        page.wait_for_url(re.compile(r".*/ml/jobs/\d+$"))
    except Exception:
        raise AssertionError("not launched: " + " | ".join(form.locator(".errors").all_inner_texts())) from None
    job_id = int(page.url.rsplit("/", 1)[1])
    state = page.get_by_test_id("job-state")
    expect(state).to_have_text(re.compile("succeeded|failed|cancelled"), timeout=240_000)
    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", (job.error, job.log_tail)
    return job


def rank_current_task(page, tie=False, flag=False):
    """Rank the task on screen by keyboard (1,2,3,4 or with a tie 1,2,2,4) and submit with Ctrl+Enter."""
    answers = page.locator("article.answer")
    expect(answers.first).to_be_focused()
    if flag:  # Tab into the first answer's flags, Space ticks "Makes up facts"
        answers.first.get_by_label("Makes up facts").focus()
        page.keyboard.press("Space")
        answers.first.focus()
    for key in ("1", "ArrowDown", "2", "ArrowDown", "2" if tie else "3", "ArrowDown", "4"):
        page.keyboard.press(key)
    expect(page.get_by_test_id("rank-badge")).to_have_text(
        ["Rank 1", "Rank 2 (tie)", "Rank 2 (tie)", "Rank 4"] if tie else ["Rank 1", "Rank 2", "Rank 3", "Rank 4"])
    url = page.url
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda u: u != url)


def test_the_whole_loop_through_the_web_ui(page, browser, live_server, make_user, start_worker, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    start_worker(queues="default,gpu", extra_env={"ARTIFACT_ROOT": str(tmp_path)})
    make_user("admin", username="ada")
    make_user("ml_engineer", username="mia")
    lena, dora = make_user("labeler", username="lena"), make_user("labeler", username="dora")
    page.set_viewport_size({"width": 1200, "height": 820})

    # -- admin: a guideline, then an edit of one line (the rest is kept), confirmed after seeing the diff
    log_in(page, "ada", expect_path="/manage/dashboard")
    nav(page, "Guidelines")
    page.get_by_label("New guideline").fill("Ranking guide")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Version history").wait_for()
    page.get_by_label("Text").fill("\n".join(GUIDELINE))
    page.get_by_label("What changed").fill("First version")
    page.get_by_role("button", name="Save and publish…").click()
    page.get_by_role("button", name="Confirm publish").click()
    page.get_by_role("cell", name="v1", exact=True).wait_for()
    expect(page.get_by_label("Text")).to_have_value("\n".join(GUIDELINE))
    edited = GUIDELINE[:3] + ["Prefer answers that are truthful and short."] + GUIDELINE[4:]
    page.get_by_label("Text").fill("\n".join(edited))
    page.get_by_label("What changed").fill("Short answers")
    page.get_by_role("button", name="Save and publish…").click()
    confirm = page.get_by_test_id("publish-confirm")
    confirm.get_by_text("+1 −1 lines").wait_for()
    shot(page, "01-guideline-publish-diff")
    confirm.get_by_role("button", name="Confirm publish").click()
    page.get_by_role("cell", name="v2", exact=True).wait_for()
    versions = list(GuidelineVersion.objects.order_by("number").values_list("body", flat=True))
    assert versions == ["\n".join(GUIDELINE), "\n".join(edited)]

    # -- admin: prompts from JSON Lines and from CSV, with a demonstration task for each sft prompt
    nav(page, "Import prompts")
    page.get_by_label("Demonstrations").check()
    page.get_by_label("File").set_input_files({"name": "prompts.jsonl", "mimeType": "application/jsonl",
                                               "buffer": "".join(json.dumps(r) + "\n" for r in JSONL).encode()})
    page.get_by_text("5 lines, 0 with errors.").wait_for()
    page.get_by_test_id("import-send").click()
    page.get_by_role("status").get_by_text("Imported 5 prompts. Asked labelers for 2 demonstrations.").wait_for()
    page.get_by_label("File").set_input_files({"name": "more.csv", "mimeType": "text/csv", "buffer": CSV.encode()})
    page.get_by_text("3 lines, 0 with errors.").wait_for()
    page.get_by_test_id("import-send").click()
    page.get_by_role("status").get_by_text("Imported 3 prompts. Asked labelers for 1 demonstration.").wait_for()
    shot(page, "02-import-csv")
    assert Prompt.objects.count() == 8 and Prompt.objects.filter(split="sft").count() == 3
    assert Prompt.objects.get(text="Name a city, please.").category == "brainstorming"
    assert Task.objects.filter(kind="demonstration").count() == 3
    sign_out(page)

    # -- ML engineer: a tiny base model, then answers to rank sampled with the form's defaults
    log_in(page, "mia", expect_path="/ml/jobs")
    base_job = launch(page, "bootstrap", TINY_BASE)
    base = ModelVersion.objects.get(job=base_job)
    nav(page, "Jobs")
    form = page.get_by_test_id("launch-form")
    form.get_by_label("Kind").select_option("sample")
    expect(form.get_by_label("do_sample", exact=True)).to_be_checked()
    expect(form.get_by_label("Input models")).to_have_values([str(base.pk)])  # the only model, preselected
    shot(page, "03-sample-form-defaults")
    sample_job = launch(page, "sample")
    schema = config_schema()["kinds"]["sample"]["fields"]
    assert sample_job.config == {f["name"]: f["default"] for f in schema}  # exactly the defaults shown
    assert sample_job.config["do_sample"] is True
    page.get_by_text("Result").wait_for()
    shot(page, "04-sample-job-finished")
    ranking_tasks = Task.objects.filter(kind="ranking")
    assert ranking_tasks.count() == 8
    assert all(t.task_responses.count() == 4 for t in ranking_tasks)
    sign_out(page)

    # -- two labelers at the same time: every task ranked by keyboard, then the demonstrations
    other = browser.new_context(viewport={"width": 1200, "height": 820}, base_url=live_server.url)
    other.set_default_timeout(15_000)
    page2 = other.new_page()
    log_in(page, "lena", expect_path="/work")
    log_in(page2, "dora", expect_path="/work")
    page.get_by_test_id("start-ranking").click()
    page.wait_for_url(re.compile(r".*/work/ranking/\d+$"))
    page2.get_by_test_id("start-ranking").click()
    page2.wait_for_url(re.compile(r".*/work/ranking/\d+$"))
    guideline = page.get_by_test_id("guideline-body")  # Markdown rendered (sanitised), not shown raw
    expect(guideline.locator("h1")).to_have_text("Ranking guide")
    expect(guideline.locator("strong")).to_have_text("helpful")
    assert "**" not in guideline.inner_text()
    shot(page, "05-ranking-keyboard")
    for turn in range(4):  # they take turns, so each ranks 4 of the 8 tasks
        rank_current_task(page, tie=turn == 0, flag=turn == 1)
        if turn == 0:
            page.get_by_role("status").get_by_text("Ranking submitted").wait_for()
        rank_current_task(page2)
    page.wait_for_url("**/work?done=ranking")
    page2.wait_for_url("**/work?done=ranking")
    assert Ranking.objects.filter(labeler=lena).count() == 4 and Ranking.objects.filter(labeler=dora).count() == 4
    assert RankedResponse.objects.filter(ranking__labeler=lena, rank=2).count() >= 2 + 3  # one tie (2,2) + 3 plain
    assert RankedResponse.objects.filter(flags__contains=["made_up_facts"]).count() == 1
    assert all(t.completed_count == 1 for t in Task.objects.filter(kind="ranking"))

    answers = {"Explain why the sky is blue.": "Sunlight scatters off the air, and blue light scatters most.",
               "Describe a cat.": "Cats are small, soft and curious.",
               "Explain how rain forms.": "Water vapour cools into droplets that fall as rain."}
    page.get_by_test_id("start-demonstration").click()
    page2.get_by_test_id("start-demonstration").click()
    for turn, p in enumerate((page, page2, page)):  # lena writes two, dora one
        p.wait_for_url(re.compile(r".*/work/demonstration/\d+(\?done=demonstration)?$"))
        prompt = p.locator("#prompt-text")
        expect(prompt).to_have_text(re.compile("|".join(re.escape(q) for q in answers)))
        p.get_by_label("Your answer").fill(answers[prompt.inner_text()])
        if turn == 0:
            shot(p, "06-demonstration")
        url = p.url
        p.get_by_test_id("submit").click()
        p.wait_for_url(lambda u, url=url: u != url)
    page.wait_for_url("**/work?done=demonstration")
    page2.wait_for_url("**/work?done=demonstration")
    assert {d.prompt.text: d.text for d in Demonstration.objects.select_related("prompt")} == answers
    assert Demonstration.objects.filter(labeler=lena).count() == 2 and Demonstration.objects.filter(labeler=dora).count() == 1
    other.close()
    sign_out(page)

    # -- admin: review; reject one with a comment, accept the rest in bulk
    log_in(page, "ada", expect_path="/manage/dashboard")
    nav(page, "Review")
    queue = page.get_by_test_id("review-queue")
    expect(queue.locator("li")).to_have_count(3)
    cats = Demonstration.objects.get(prompt__text="Describe a cat.")
    page.get_by_label("Comment").nth([d.pk for d in Demonstration.objects.order_by("pk")].index(cats.pk)).fill(
        "Describe what a cat is like, in full sentences.")
    shot(page, "07-review")
    page.get_by_role("button", name=f"Reject #{cats.pk}").click()
    page.get_by_test_id("review-status").get_by_text("Rejected 1 demonstration.").wait_for()
    expect(queue.locator("li")).to_have_count(2)
    page.get_by_label("Select all").check()
    page.get_by_test_id("accept-selected").click()
    page.get_by_text("Nothing waits for review.").wait_for()
    states = dict(Demonstration.objects.values_list("prompt__text", "review_state"))
    assert states == {"Explain why the sky is blue.": ReviewState.ACCEPTED, "Describe a cat.": ReviewState.REJECTED,
                      "Explain how rain forms.": ReviewState.ACCEPTED}
    sign_out(page)

    # -- ML engineer: snapshots, SFT and reward model from the form, evaluation
    log_in(page, "mia", expect_path="/ml/jobs")
    nav(page, "Datasets")
    for kind, name in (("sft", "demos"), ("rankings", "ranked")):
        page.get_by_label("Kind").select_option(kind)
        page.get_by_label("Name").fill(name)
        page.get_by_role("button", name="Freeze snapshot").click()
        page.get_by_role("cell", name=re.compile(rf"^#\d+ {name}$")).wait_for()
    shot(page, "08-snapshots")
    sft_snapshot, rankings_snapshot = DatasetSnapshot.objects.get(kind="sft"), DatasetSnapshot.objects.get(kind="rankings")
    assert sft_snapshot.counts["examples"] == 2 and rankings_snapshot.counts["rankings"] == 8

    sft_job = launch(page, "sft")
    assert set(sft_job.input_models.all()) == {base} and set(sft_job.input_snapshots.all()) == {sft_snapshot}
    shot(page, "09-sft-finished")
    sft_model = ModelVersion.objects.get(job=sft_job)
    rm_job = launch(page, "rm")
    assert set(rm_job.input_models.all()) == {sft_model}
    assert set(rm_job.input_snapshots.all()) == {rankings_snapshot, sft_snapshot}
    rm_schema = config_schema()["kinds"]["rm"]["fields"]
    assert rm_job.config == {f["name"]: f["default"] for f in rm_schema}, rm_job.config
    assert rm_job.config["normalize"] is True
    reward_model = ModelVersion.objects.get(job=rm_job)

    accuracy_job = launch(page, "evaluate")
    assert accuracy_job.result["mode"] == "rm_accuracy" and accuracy_job.result["judge"] == reward_model.pk
    win_job = launch(page, "evaluate", select={"mode": "reward_win_rate"})
    assert (win_job.result["candidate"], win_job.result["baseline"], win_job.result["judge"]) == (
        sft_model.pk, base.pk, reward_model.pk)

    nav(page, "Evaluation")
    accuracy_row = page.get_by_test_id("rm-accuracy").locator("tbody tr")
    expect(accuracy_row).to_have_count(1)
    assert f"{100 * accuracy_job.result['accuracy']:.1f}%" in accuracy_row.inner_text()
    win_row = page.get_by_role("row").filter(has_text=f"reward model #{reward_model.pk}")
    expect(win_row).to_contain_text(f"{100 * win_job.result['win_rate']:.1f}%")
    shot(page, "10-evaluation")
