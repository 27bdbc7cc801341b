"""An admin in a real browser: importing prompts shows a preview, and a bad line's error next to that
line (nothing is imported); the corrected file imports."""

import json

import pytest

from labeling.models import Prompt
from tests.frontend.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GOOD = {"text": "Write a haiku about autumn.", "category": "generation", "split": "sft"}
BAD = {"text": "Summarise this memo.", "category": "poetry", "split": "rm"}
CHAT = {"messages": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."},
                     {"role": "user", "content": "Tell me a joke."}], "category": "chat"}


def jsonl(*records):
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def test_admin_imports_prompts_and_sees_the_bad_lines_error(page, make_user, tmp_path):
    make_user("admin", username="ada")
    log_in(page, "ada", expect_path="/manage/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import prompts").click()
    page.get_by_role("heading", name="Import prompts").wait_for()

    page.get_by_label("File").set_input_files({"name": "prompts.jsonl", "mimeType": "application/jsonl",
                                               "buffer": jsonl(GOOD, BAD, CHAT)})
    preview = page.get_by_test_id("import-preview")
    preview.wait_for()
    assert page.get_by_text("3 lines, 1 with errors.").is_visible()
    page.get_by_test_id("import-send").click()
    page.get_by_text("nothing was imported").wait_for()
    bad_row = preview.locator("tr[data-line='2']")
    assert "bad" in bad_row.get_attribute("class")
    assert "category: 'poetry' is not one of" in bad_row.locator(".line-error").inner_text()  # the server's message
    assert preview.locator("tr[data-line='1'] .line-error").inner_text() == ""
    screenshot(page, "import-errors")
    assert Prompt.objects.count() == 0  # all or nothing

    page.get_by_label("File").set_input_files({"name": "prompts.jsonl", "mimeType": "application/jsonl",
                                               "buffer": jsonl(GOOD, {**BAD, "category": "summarization"}, CHAT)})
    page.get_by_text("3 lines, 0 with errors.").wait_for()
    page.get_by_test_id("import-send").click()
    page.get_by_role("status").get_by_text("Imported 3 prompts.").wait_for()
    assert sorted(Prompt.objects.values_list("text", "category", "split")) == sorted([
        ("Write a haiku about autumn.", "generation", "sft"),
        ("Summarise this memo.", "summarization", "rm"),
        ("Tell me a joke.", "chat", "rm"),
    ])
    assert len(Prompt.objects.get(category="chat").messages) == 3


def test_csv_import_skips_identical_prompts_and_an_all_bad_file_cannot_be_sent(page, make_user):
    """Issue 13, defect 7: the screen refused CSV, enabled "Import 4 prompts" with every line invalid,
    and a second import of the same file stored every prompt again without a word."""
    make_user("admin", username="ada")
    log_in(page, "ada", expect_path="/manage/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import prompts").click()
    csv = b'text,category,split\n"Name a fruit, then a tree.",brainstorming,rm\nWrite a limerick.,generation,sft\n'
    page.get_by_label("File").set_input_files({"name": "prompts.csv", "mimeType": "text/csv", "buffer": csv})
    page.get_by_text("2 lines, 0 with errors.").wait_for()
    assert page.get_by_test_id("import-preview").locator("tr[data-line='2'] td").nth(1).inner_text() == "Name a fruit, then a tree."
    page.get_by_test_id("import-send").click()
    page.get_by_role("status").get_by_text("Imported 2 prompts.").wait_for()
    assert sorted(Prompt.objects.values_list("text", "category")) == [
        ("Name a fruit, then a tree.", "brainstorming"), ("Write a limerick.", "generation")]

    page.get_by_label("File").set_input_files({"name": "again.csv", "mimeType": "text/csv", "buffer": csv + b"Name a river.,other,rm\n"})
    page.get_by_text("3 lines, 0 with errors.").wait_for()
    page.get_by_test_id("import-send").click()
    page.get_by_role("status").get_by_text("Imported 1 prompts. Skipped 2 identical").wait_for()
    assert Prompt.objects.count() == 3
    screenshot(page, "import-csv-duplicates")

    page.get_by_label("File").set_input_files({"name": "bad.csv", "mimeType": "text/csv", "buffer": b"text,category\nHi,poetry\n,chat\n"})
    page.get_by_text("2 lines, 2 with errors.").wait_for()
    assert page.get_by_test_id("import-send").is_disabled()
    assert page.get_by_test_id("import-send").inner_text() == "Import 0 prompts"


def test_the_progress_page_shows_a_sampling_job_still_making_tasks(page, make_user, settings, tmp_path):
    """Issue 13, defect 10: after scripts/run.sh the first ranking tasks appeared minutes later with no
    sign in the UI; the demo's sampling job is now on the admin's Progress page with its progress."""
    from training.jobs import create_job
    from training.models import ModelVersion

    settings.ARTIFACT_ROOT = tmp_path
    Prompt.objects.create(messages=[{"role": "user", "content": "Hi?"}], text="Hi?", split="rm")
    model = ModelVersion.objects.create(name="SmolLM2", kind="base", artifact_path=str(tmp_path))
    job = create_job("sample", {"split": "rm"}, input_models=[model], name="demo: SmolLM2 answers")  # no worker: queued
    make_user("admin", username="ada")
    log_in(page, "ada", expect_path="/manage/dashboard")
    card = page.get_by_test_id("sampling-jobs")
    card.get_by_text(f"Job #{job.pk} (demo: SmolLM2 answers): queued").wait_for()
    assert card.get_by_role("progressbar").count() == 1


def test_admins_see_jobs_and_snapshots_read_only_and_ml_engineers_launch(page, make_user):
    """Issue 13, defect 4: admins could launch jobs. The decision: admins see jobs, datasets and models
    read-only; only ML engineers launch, cancel and freeze (the API refuses admins the same writes)."""
    from training.models import Job, JobState

    job = Job.objects.create(kind="sft", state=JobState.RUNNING)
    make_user("admin", username="ada")
    make_user("ml_engineer", username="mia")
    log_in(page, "ada", expect_path="/manage/dashboard")
    page.goto("/ml/jobs")
    page.get_by_test_id("read-only").wait_for()
    assert page.get_by_test_id("launch-form").count() == 0
    page.get_by_role("link", name=f"#{job.pk}").click()
    page.wait_for_url(f"**/ml/jobs/{job.pk}")
    page.get_by_text("running").first.wait_for()
    assert page.get_by_role("button", name="Cancel job").count() == 0
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    page.get_by_test_id("read-only").wait_for()
    assert page.get_by_role("button", name="Freeze snapshot").count() == 0

    page.get_by_role("button", name="Sign out").click()
    log_in(page, "mia", expect_path="/ml/jobs")
    page.get_by_test_id("launch-form").wait_for()
    assert page.get_by_test_id("read-only").count() == 0
    page.get_by_role("link", name=f"#{job.pk}").click()
    page.get_by_role("button", name="Cancel job").wait_for()
