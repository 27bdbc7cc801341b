"""The ML team in a real browser: launch a tiny bootstrap job from the form built from the engine's
config schema, watch it run on a real `gpu`-queue worker, and see it finish with a loss curve; the
model it made is listed with its lineage."""

import re

import pytest

from labeling.models import Prompt
from training.models import Job, ModelVersion
from tests.frontend.conftest import log_in, screenshot
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TINY = {"vocab_size": "300", "n_layer": "1", "n_embd": "32", "n_head": "2", "context_length": "64",
        "block_size": "16", "batch_size": "4", "max_steps": "12", "log_every": "2", "save_every": "6"}


def test_ml_engineer_launches_a_tiny_job_and_sees_it_finish_with_a_loss_curve(page, make_user, start_worker, tmp_path, settings):
    settings.ARTIFACT_ROOT = tmp_path
    for n in ("apple", "river", "stone", "cloud", "tree", "lamp"):
        Prompt.objects.create(messages=[{"role": "user", "content": f"Tell me about the {n}."}], text=f"Tell me about the {n}.")
    start_worker(queues="gpu", extra_env={"ARTIFACT_ROOT": str(tmp_path)})
    make_user("ml_engineer", username="mia")
    log_in(page, "mia", expect_path="/ml/jobs")

    form = page.get_by_test_id("launch-form")
    form.get_by_label("Kind").select_option("bootstrap")
    form.get_by_label("Name").fill("tiny base")
    form.get_by_label("learning_rate").fill("fast")  # a bad value is named next to its field, nothing is sent
    page.get_by_test_id("launch").click()
    form.get_by_text("Enter a number.").wait_for()
    assert Job.objects.count() == 0
    form.get_by_label("learning_rate").fill("0.003")
    for name, value in TINY.items():
        form.get_by_label(name, exact=True).fill(value)
    screenshot(page, "job-launch")
    page.get_by_test_id("launch").click()

    page.wait_for_url(re.compile(r".*/ml/jobs/\d+$"))
    page.get_by_test_id("job-state").filter(has_text="succeeded").wait_for(timeout=120_000)
    page.get_by_test_id("chart-loss").locator("canvas").wait_for()
    screenshot(page, "job-finished")

    job = Job.objects.get()
    assert job.name == "tiny base" and job.config["max_steps"] == 12 and job.config["n_layer"] == 1
    assert job.metric_points.count() >= 2

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    model = ModelVersion.objects.get(job=job)
    page.get_by_role("button", name=f"Lineage of #{model.id}").click()
    page.get_by_role("heading", name=f"Lineage of model #{model.id}").wait_for()
    screenshot(page, "models")


def test_server_config_error_shows_by_its_field_and_a_queued_job_is_cancelled(page, make_user, settings, tmp_path,
                                                                             start_worker):
    settings.ARTIFACT_ROOT = tmp_path
    make_user("ml_engineer", username="max")
    log_in(page, "max", expect_path="/ml/jobs")
    form = page.get_by_test_id("launch-form")
    form.get_by_label("Kind").select_option("bootstrap")
    form.get_by_label("learning_rate").fill("-1")  # a number, so only the engine's own check refuses it
    page.get_by_test_id("launch").click()
    form.get_by_text("must be > 0").wait_for()
    assert form.locator("#cfg-learning_rate").locator("xpath=..").get_by_text("must be > 0").is_visible()
    screenshot(page, "job-config-error")
    assert Job.objects.count() == 0

    form.get_by_label("learning_rate").fill("0.003")
    form.get_by_label("texts").fill('["Some text to learn from."]')
    page.get_by_test_id("launch").click()  # no worker listens: the job stays queued
    page.wait_for_url(re.compile(r".*/ml/jobs/\d+$"))
    page.get_by_test_id("job-state").filter(has_text="queued").wait_for()
    page.get_by_role("button", name="Cancel job").click()
    page.get_by_test_id("job-state").filter(has_text="cancelled").wait_for()
    assert Job.objects.get().state == "cancelled"

    # Let a worker take the cancelled job's message off the queue (it must not run it), so no later
    # test's worker finds it.
    import redis

    start_worker(queues="gpu", extra_env={"ARTIFACT_ROOT": str(tmp_path)})
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    wait_for(lambda: broker.llen("gpu") == 0, timeout=60, message="the gpu queue to drain")
    job = Job.objects.get()
    wait_for(lambda: not Job.objects.filter(state="running").exists(), timeout=10, message="no job running")
    job.refresh_from_db()
    assert job.state == "cancelled" and job.started_at is None
