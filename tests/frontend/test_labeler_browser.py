"""A labeler at work in a real browser: ranking with a tie by keyboard alone (the draft survives a
reload; the pairs reach the API), and writing a demonstration."""

import re

import pytest
from playwright.sync_api import expect

from labeling import guidelines
from labeling.models import (Assignment, ComparisonPair, Demonstration, Guideline, Origin, Prompt, Ranking,
                             Response)
from labeling.ranking import create_demonstration_task, create_ranking_task
from tests.frontend.conftest import PASSWORD, screenshot, tab_to
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ANSWERS = ["Paris.", "The capital of France is Paris.", "It is Paris, on the Seine.", "Lyon."]


def published_guideline():
    guideline = Guideline.objects.create(name="Helpful, truthful, harmless")
    return guidelines.add_version(guideline, "Rank the most helpful answer first.\nTies are allowed.", publish=True)


def keyboard_login(page, username):
    """The login form has the username focused: type, Tab, type, Enter."""
    page.goto("/")
    # Autofocus lands at the browser's next rendering step, a moment after the field appears.
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/work")


def badges(page):
    return page.get_by_test_id("rank-badge").all_inner_texts()


def test_labeler_ranks_with_a_tie_by_keyboard_and_the_pairs_reach_the_api(page, make_user, start_worker, api_client_for,
                                                                          settings, tmp_path):
    settings.ARTIFACT_ROOT = tmp_path
    labeler = make_user("labeler", username="lena")
    version = published_guideline()
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "What is the capital of France?"}],
                                   text="What is the capital of France?")
    responses = [Response.objects.create(prompt=prompt, text=t, origin=Origin.MODEL) for t in ANSWERS]
    create_ranking_task(prompt, responses)
    start_worker(queues="default")

    keyboard_login(page, "lena")
    tab_to(page, "el.dataset.testid === 'start-ranking'")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/work/ranking/\d+$"))
    page.get_by_text("What is the capital of France?").wait_for()
    page.get_by_text("version 1").wait_for()  # the guideline in use, beside the task
    screenshot(page, "ranking-start")

    # The first answer has the focus already; digit keys and ↓: 1, 2, 2 (a tie), 4.
    expect(page.locator("article.answer").first).to_be_focused()
    screenshot(page, "ranking-keyboard-focus")
    for key in ("1", "ArrowDown", "2", "ArrowDown", "2", "ArrowDown", "4"):
        page.keyboard.press(key)
    assert badges(page) == ["Rank 1", "Rank 2 (tie)", "Rank 2 (tie)", "Rank 4"]
    page.get_by_text("5 comparison pairs").wait_for()

    page.reload()  # the draft is kept in localStorage, keyed by the assignment
    page.get_by_text("5 comparison pairs").wait_for()
    assert badges(page) == ["Rank 1", "Rank 2 (tie)", "Rank 2 (tie)", "Rank 4"]
    screenshot(page, "ranking-tie")
    page.set_viewport_size({"width": 820, "height": 1180})  # tablet width: the guideline moves below
    screenshot(page, "ranking-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})

    tab_to(page, "el.dataset.testid === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_url("**/work?done=ranking")
    page.get_by_role("status").get_by_text("Ranking submitted").wait_for()
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('rlhf:draft:')).length") == 0

    assignment = Assignment.objects.get(labeler=labeler)
    shown = assignment.display_order  # the order this labeler saw the answers in
    ranking = Ranking.objects.get(assignment=assignment)
    assert ranking.guideline_version_id == version.id

    admin = api_client_for(make_user("admin"))
    def expanded():
        data = admin.get(f"/api/rankings/{ranking.id}/").json()
        return data if data["pairs_expanded_at"] else None
    data = wait_for(expanded, timeout=60, message="pair expansion by the worker")
    assert {(i["response"], i["rank"]) for i in data["ranks"]} == set(zip(shown, (1, 2, 2, 4)))
    pairs = set(ComparisonPair.objects.filter(ranking=ranking).values_list("chosen_id", "rejected_id"))
    best, tied_a, tied_b, worst = shown
    assert pairs == {(best, tied_a), (best, tied_b), (best, worst), (tied_a, worst), (tied_b, worst)}
    # The ML team's pairs snapshot, through the API, has the 5 pairs (the tie gives none).
    ml = api_client_for(make_user("ml_engineer"))
    snapshot = ml.post("/api/snapshots/", {"kind": "pairs"}, format="json")
    assert snapshot.status_code == 201, snapshot.content
    assert snapshot.json()["counts"]["pairs"] == 5

    # The history opens the submitted ranking: the answers in rank order, as stored.
    page.get_by_role("link", name="My history").click()
    page.get_by_role("button", name="What is the capital of France?").click()
    ranks = page.get_by_test_id("submitted").locator("li")
    ranks.first.wait_for()
    texts = dict(Response.objects.filter(pk__in=shown).values_list("id", "text"))
    assert [(li.get_attribute("data-rank"), li.locator(".pre").inner_text()) for li in ranks.all()] == [
        (str(r), texts[rid]) for rid, r in sorted(zip(shown, (1, 2, 2, 4)), key=lambda x: (x[1], x[0]))]


def test_labeler_writes_a_demonstration(page, make_user):
    labeler = make_user("labeler", username="dora")
    published_guideline()
    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "Explain photosynthesis to a child."}],
                                   text="Explain photosynthesis to a child.")
    create_demonstration_task(prompt)

    keyboard_login(page, "dora")
    page.get_by_test_id("start-demonstration").click()
    page.wait_for_url(re.compile(r".*/work/demonstration/\d+$"))
    page.get_by_text("Explain photosynthesis to a child.").wait_for()
    page.get_by_label("Your answer").fill("Plants catch sunlight with their leaves and turn it into food.")
    page.reload()  # the draft survives
    assert page.get_by_label("Your answer").input_value().startswith("Plants catch sunlight")
    screenshot(page, "demonstration")
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/work?done=demonstration")

    demo = Demonstration.objects.get(labeler=labeler)
    assert demo.text == "Plants catch sunlight with their leaves and turn it into food."
    assert demo.prompt_id == prompt.id and demo.review_state == "submitted"

    page.get_by_role("link", name="My history").click()
    # History rows open what was submitted (issue 13: clickable history).
    page.get_by_role("button", name="Explain photosynthesis to a child.").click()
    submitted = page.get_by_test_id("submitted")
    submitted.get_by_text("Plants catch sunlight with their leaves and turn it into food.").wait_for()
    assert "Review: submitted" in submitted.inner_text()
    screenshot(page, "history")


def test_labeler_ranks_by_drag_and_drop_and_a_skip_error_shows_by_the_reason(page, make_user):
    labeler = make_user("labeler", username="dan")
    published_guideline()
    for question in ("Pick a colour.", "Pick a number."):
        prompt = Prompt.objects.create(messages=[{"role": "user", "content": question}], text=question)
        create_ranking_task(prompt, [Response.objects.create(prompt=prompt, text=t, origin=Origin.MODEL)
                                     for t in ("one", "two", "three")])

    keyboard_login(page, "dan")
    page.get_by_test_id("start-ranking").click()
    page.wait_for_url(re.compile(r".*/work/ranking/\d+$"))
    first = Assignment.objects.get(labeler=labeler)
    a, b, c = first.display_order
    # Unranked answers are listed in display order; drop C on top, then B on top of A.
    page.get_by_test_id(f"order-{c}").drag_to(page.get_by_test_id(f"order-{a}"))
    page.get_by_test_id("order").get_by_text("1 Answer C").wait_for()
    page.get_by_test_id(f"order-{b}").drag_to(page.get_by_test_id(f"order-{a}"))
    assert page.get_by_test_id("order").locator("li").all_inner_texts() == ["1 Answer C", "2 Answer B", "3 Answer A"]
    page.get_by_test_id("submit").click()
    # Straight on to the next task, with word that the last one was saved.
    page.wait_for_url(re.compile(r".*/work/ranking/\d+\?done=ranking$"))
    page.get_by_role("status").get_by_text("Ranking submitted").wait_for()
    page.get_by_text("Pick a number.").wait_for()
    ranks = dict(Ranking.objects.get(assignment=first).items.values_list("response_id", "rank"))
    assert ranks == {c: 1, b: 2, a: 3}

    page.get_by_role("button", name="Skip this task…").click()
    page.get_by_label("Why skip this task?").fill("   ")
    page.get_by_role("button", name="Skip", exact=True).click()
    page.locator("#skip-errors").get_by_text("This field may not be blank.").wait_for()  # the API's 400, by the field
    screenshot(page, "skip-error")
    page.get_by_label("Why skip this task?").fill("I can't judge numbers.")
    page.get_by_role("button", name="Skip", exact=True).click()
    page.wait_for_url("**/work?done=skip")
    second = Assignment.objects.exclude(pk=first.pk).get(labeler=labeler)
    assert (second.state, second.skip_reason) == ("skipped", "I can't judge numbers.")


def test_a_labeler_with_no_task_is_told_that_ranking_tasks_are_being_prepared(page, make_user):
    """No task yet, a sampling job still running: the start page says work is coming, and once the job
    has made a task the page notices by itself (no reload): the notice goes, the task is counted."""
    from training.models import Job, JobKind, JobState

    make_user("labeler", username="lena")
    job = Job.objects.create(kind=JobKind.SAMPLE, state=JobState.RUNNING, progress=0.4)

    keyboard_login(page, "lena")
    expect(page.get_by_test_id("work-coming")).to_contain_text("New ranking tasks are being prepared")
    expect(page.get_by_test_id("work-coming")).to_contain_text("40% done")
    expect(page.get_by_test_id("work-summary")).to_contain_text("Rankings waiting0")

    prompt = Prompt.objects.create(messages=[{"role": "user", "content": "What is the capital of France?"}],
                                   text="What is the capital of France?")
    create_ranking_task(prompt, [Response.objects.create(prompt=prompt, text=t, origin=Origin.MODEL) for t in ANSWERS])
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, progress=1.0)
    expect(page.get_by_test_id("work-coming")).to_have_count(0, timeout=15_000)
    expect(page.get_by_test_id("work-summary")).to_contain_text("Rankings waiting1")
