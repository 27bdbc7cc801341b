"""Ranking by keyboard as Label Studio and Argilla users expect it (issue 13): the first answer has the
focus, the badge says the rank chosen (defect 6: "2" alone showed "Rank 1"), Ctrl+Enter submits and
the submitted task leaves the screen at once (defect 5: it stayed, Submit enabled, under the next
task's address until that loaded), Alt+S opens the skip form, and a legend lists the shortcuts."""

import re
import time

import pytest
from playwright.sync_api import expect

from labeling.models import Assignment, Origin, Prompt, Ranking, Response
from labeling.ranking import create_ranking_task
from tests.frontend.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_keyboard_ranking_shortcuts_and_the_next_task(page, make_user):
    labeler = make_user("labeler", username="lena")
    for question in ("Pick a colour.", "Pick a number."):
        prompt = Prompt.objects.create(messages=[{"role": "user", "content": question}], text=question)
        create_ranking_task(prompt, [Response.objects.create(prompt=prompt, text=t, origin=Origin.MODEL)
                                     for t in ("one", "two", "three", "four")])
    log_in(page, "lena", expect_path="/work")
    summary = page.get_by_test_id("work-summary")
    expect(summary).to_contain_text("Rankings waiting2")
    expect(summary).to_contain_text("Done today0")
    page.get_by_test_id("start-ranking").click()
    page.wait_for_url(re.compile(r".*/work/ranking/\d+$"))
    first = Assignment.objects.get(labeler=labeler)
    expect(page.locator("article.answer").first).to_be_focused()

    page.keyboard.press("2")
    expect(page.get_by_test_id("rank-badge").first).to_have_text("Rank 2")
    assert page.locator("article.answer").first.locator("select").first.input_value() == "2"
    assert page.get_by_test_id("order").locator("li").first.inner_text().startswith("2")
    for key in ("ArrowDown", "1", "ArrowDown", "3", "ArrowDown", "4"):
        page.keyboard.press(key)
    page.get_by_test_id("shortcut-legend").get_by_text("Keyboard shortcuts").click()
    page.get_by_test_id("shortcut-legend").get_by_text("submit the ranking").wait_for()
    screenshot(page, "ranking-shortcuts")

    # The next task loads slowly: meanwhile the ranked task must not stay on screen.
    def slow(route):
        time.sleep(1.5)
        route.continue_()
    page.route(re.compile(r".*/api/assignments/\d+/$"), slow)
    page.locator("article.answer").first.focus()
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/work/ranking/\d+\?done=ranking$"))
    assert page.get_by_text(first.task.prompt.text).count() == 0
    assert page.get_by_test_id("submit").count() == 0
    page.unroute(re.compile(r".*/api/assignments/\d+/$"))
    second_prompt = "Pick a number." if first.task.prompt.text == "Pick a colour." else "Pick a colour."
    page.get_by_text(second_prompt).wait_for()
    assert sorted(Ranking.objects.get(assignment=first).items.values_list("rank", flat=True)) == [1, 2, 3, 4]

    page.keyboard.press("Alt+s")
    expect(page.get_by_label("Why skip this task?")).to_be_focused()
    page.keyboard.type("I can't judge this.")
    page.get_by_role("button", name="Skip", exact=True).click()
    page.wait_for_url("**/work?done=skip")
    expect(page.get_by_test_id("work-summary")).to_contain_text("Rankings waiting0")
    expect(page.get_by_test_id("work-summary")).to_contain_text("Done today1")
    assert Assignment.objects.exclude(pk=first.pk).get(labeler=labeler).state == "skipped"
