"""Four-eyes on a letter, clicked through: the agent's payment reminder over €950 is held; the
approver finds it on their dashboard, reads the agent's own text and returns it with a comment;
the agent sees the comment in the builder, changes the note and submits it again under the
same reference; the approver approves it and it goes out on its channel."""

import re

import pytest

from wagtail_correspondence.models import Dispatch, Letter, LetterStatus

from .builder import open_builder
from .test_letter_journey import PASSWORD, demo  # noqa: F401 (demo: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CUSTOMER_ID, CUSTOMER_NAME = "C-1012", "Louis Jacobs"  # owes €962.99: over the demo's €950 rule
LETTER_PAGE = re.compile(r".*/admin/correspondence/letters/inspect/\d+/$")


def test_a_held_letter_is_returned_changed_and_approved(demo, open_session, screenshot):  # noqa: F811
    agent = open_session("agent", PASSWORD)
    open_builder(agent, "payment-reminder", "Jacobs", CUSTOMER_NAME, CUSTOMER_ID)
    agent.locator("textarea[name='slot:personal_note']").fill("We waived the reminder fee.")
    agent.locator("[data-problems]", has_text="Ready to generate").wait_for()
    agent.locator("[data-generate]").click()
    agent.wait_for_url(LETTER_PAGE, timeout=60_000)
    assert "waiting for a second person" in agent.locator(".messages").inner_text()
    assert agent.locator("[data-letter-status]").get_attribute("data-letter-status") == "pending_approval"
    assert "Payment reminders over €950" in agent.locator("[data-approval-reasons]").inner_text()
    agent.locator("[data-awaiting-other]").wait_for()
    reference = agent.locator("[data-letter-reference]").inner_text().strip()
    letter = Letter.objects.get(reference=reference)
    assert not Dispatch.objects.filter(letter=letter).exists()
    screenshot(agent, "letter-awaiting-approval")

    approver = open_session("approver", PASSWORD)
    queue = approver.locator(f"[data-approval-queue] [data-letter='{reference}']")
    assert "Payment reminders over €950" in queue.inner_text()
    screenshot(approver, "approver-dashboard")
    queue.locator("a").click()
    approver.wait_for_url(LETTER_PAGE)
    assert "We waived the reminder fee." in approver.locator("[data-agent-text]").inner_text()
    approver.locator("[data-return]").click()  # no comment: refused, named
    approver.wait_for_url(LETTER_PAGE)
    assert "Say what the agent should change." in approver.locator(".messages").inner_text()
    approver.locator("#cc-approval-comment").fill("Say that the fee is waived this once only.")
    screenshot(approver, "approver-decides")
    approver.locator("[data-return]").click()
    approver.wait_for_url(LETTER_PAGE)
    assert approver.locator("[data-letter-status]").get_attribute("data-letter-status") == "returned"

    agent.goto("/admin/")
    agent.locator("[data-returned-letters] a", has_text=reference).click()
    agent.wait_for_url("**/admin/correspondence/letters/edit/*/")
    assert "fee is waived this once only" in agent.locator("[data-returned-comment]").inner_text()
    screenshot(agent, "returned-letter-in-the-builder")
    agent.locator("textarea[name='slot:personal_note']").fill("We waived the reminder fee, this once only.")
    agent.locator("[data-problems]", has_text="Ready to generate").wait_for()
    agent.locator("[data-generate]", has_text="Submit again for approval").click()
    agent.wait_for_url(LETTER_PAGE, timeout=60_000)
    assert agent.locator("[data-letter-reference]").inner_text().strip() == reference

    approver.goto("/admin/")
    approver.locator(f"[data-approval-queue] [data-letter='{reference}'] a").click()
    approver.wait_for_url(LETTER_PAGE)
    assert "this once only" in approver.locator("[data-agent-text]").inner_text()
    approver.locator("#cc-approval-comment").fill("Fine now.")
    approver.locator("[data-approve]").click()
    approver.wait_for_url(LETTER_PAGE)
    assert "on its way" in approver.locator(".messages").inner_text()
    assert approver.locator("[data-letter-status]").get_attribute("data-letter-status") == "generated"
    approver.locator("[data-approved-by]", has_text="Petra Approver").wait_for()
    approver.locator("[data-dispatch=print]").wait_for()
    screenshot(approver, "approved-letter")

    letter = Letter.objects.get(reference=reference)
    assert letter.status == LetterStatus.GENERATED and letter.approved_by.username == "approver"
    assert letter.slot_values["personal_note"].endswith("this once only.")
    assert set(Dispatch.objects.filter(letter=letter).values_list("channel", flat=True)) == {"print", "archive"}
