"""The job launch form round-trips: for every job kind, launching with the form untouched stores exactly
the config schema's defaults (issue 13, defect 1: default-on checkboxes were sent as off), every field
shows its help, and the inputs the kind takes are preselected. No worker runs: the jobs stay queued."""

import re

import pytest

from labeling.models import Prompt
from training.jobs import config_schema
from training.models import DatasetSnapshot, Job, ModelVersion
from tests.frontend.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _inputs(root):
    for split in ("sft", "rm", "ppo", "eval"):
        Prompt.objects.create(messages=[{"role": "user", "content": f"A {split} prompt?"}], text=f"A {split} prompt?", split=split)
    models = {}
    for kind in ("base", "sft", "rm"):
        (root / kind).mkdir()
        models[kind] = ModelVersion.objects.create(name=f"tiny {kind}", kind=kind, artifact_path=str(root / kind))
    snapshots = {}
    for kind, counts in (("sft", {"examples": 3}), ("rankings", {"rankings": 2})):
        (root / f"{kind}.jsonl").write_text("{}\n")
        snapshots[kind] = DatasetSnapshot.objects.create(kind=kind, counts=counts, content_hash=kind, file_path=str(root / f"{kind}.jsonl"))
    return models, snapshots


def test_untouched_form_stores_the_schema_defaults_for_every_kind(page, make_user, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    models, snapshots = _inputs(tmp_path)
    make_user("ml_engineer", username="mia")
    log_in(page, "mia", expect_path="/ml/jobs")
    schema = config_schema()["kinds"]
    expected_inputs = {  # what the form preselects, per kind
        "bootstrap": (set(), set()),
        "sft": ({snapshots["sft"].pk}, {models["base"].pk}),
        "rm": ({snapshots["rankings"].pk, snapshots["sft"].pk}, {models["sft"].pk}),
        "ppo": (set(), {models["sft"].pk, models["rm"].pk}),
        "sample": (set(), {models["sft"].pk}),
        "evaluate": ({snapshots["rankings"].pk}, {models["rm"].pk}),
        "dpo": ({snapshots["rankings"].pk}, {models["sft"].pk}),
        "bon": (set(), {models["sft"].pk, models["rm"].pk}),
    }
    assert set(schema) == set(expected_inputs)
    for kind, kind_schema in schema.items():
        page.goto("/ml/jobs")
        form = page.get_by_test_id("launch-form")
        form.get_by_label("Kind").select_option(kind)
        for field in kind_schema["fields"]:
            assert field["help"], f"{kind}.{field['name']} has no help text"
            assert form.locator(f"#cfg-{field['name']}-help").inner_text() == field["help"]
            if field["type"] == "bool":
                assert form.locator(f"#cfg-{field['name']}").is_checked() == field["default"], field["name"]
        if kind == "sample":
            screenshot(page, "launch-form-sample-defaults")
        page.get_by_test_id("launch").click()
        page.wait_for_url(re.compile(r".*/ml/jobs/\d+$"))
        job = Job.objects.get(pk=int(page.url.rsplit("/", 1)[1]))
        assert job.kind == kind
        assert job.config == {f["name"]: f["default"] for f in kind_schema["fields"]}
        assert ({s.pk for s in job.input_snapshots.all()}, {m.pk for m in job.input_models.all()}) == expected_inputs[kind]
    assert Job.objects.get(kind="sample").config["do_sample"] is True
    assert Job.objects.get(kind="rm").config["normalize"] is True


def test_a_preset_fills_in_its_values_and_they_are_what_is_stored(page, make_user, settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    _inputs(tmp_path)
    make_user("ml_engineer", username="max")
    log_in(page, "max", expect_path="/ml/jobs")
    form = page.get_by_test_id("launch-form")
    form.get_by_label("Kind").select_option("ppo")
    form.get_by_label("preset", exact=True).select_option("instructgpt")
    assert form.get_by_label("kl_coef", exact=True).input_value() == "0.02"
    assert form.get_by_label("ptx_coef", exact=True).input_value() == "27.8"
    page.get_by_test_id("launch").click()
    page.wait_for_url(re.compile(r".*/ml/jobs/\d+$"))
    config = Job.objects.get().config
    assert config["preset"] == "instructgpt" and config["kl_coef"] == 0.02 and config["ptx_coef"] == 27.8
