"""Author edits a fragment and submits it; the reviewer compares and approves; it is live."""

import pytest
from django.urls import reverse
from wagtail.models import WorkflowState

from tests import factories
from wagtail_correspondence import roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    author = factories.user("author", roles.CONTENT_AUTHORS)
    reviewer = factories.user("reviewer", roles.CONTENT_REVIEWERS)
    dictionary = factories.dictionary()
    fragment = factories.fragment(dictionary, key="payment-reminder",
                                  html="<p>Dear {{ customer.first_name }}, please pay {{ balance|money }}.</p>")
    return author, reviewer, fragment


def live_text(fragment):
    fragment.refresh_from_db()
    return fragment.live_revision.as_object().body[0].value.source


def submit_new_wording(open_session, screenshot, fragment, text):
    page = open_session("author", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    editor = page.locator("[contenteditable=true]").first
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(text)
    page.locator("#id_title").click()  # blur: Draftail serialises into its hidden input
    page.wait_for_function("t => document.querySelector('input[name=\"body-0-value\"]').value.includes(t)",
                           arg=text.split("{{")[0].strip())
    screenshot(page, "author-edited")
    page.locator("footer [data-w-dropdown-target='toggle'], footer .dropdown-toggle").first.click()
    page.get_by_role("button", name="Submit to Legal review").click()
    page.wait_for_load_state()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    screenshot(page, "author-submitted")
    return page


def test_author_submits_reviewer_compares_and_approves(setup, open_session, screenshot):
    _author, _reviewer, fragment = setup
    submit_new_wording(open_session, screenshot, fragment, " Thank you for {{ customer.last_name }}.")
    fragment.refresh_from_db()
    assert fragment.current_workflow_state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "Thank you" not in live_text(fragment)
    assert "Thank you for {{ customer.last_name }}." in fragment.latest_revision.as_object().body[0].value.source

    page = open_session("reviewer", factories.PASSWORD)
    page.get_by_text("Awaiting your review").wait_for()
    screenshot(page, "reviewer-dashboard")
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[fragment.pk]))
    # Each revision reads in a sandboxed frame of its own.
    left = page.frame_locator("[data-compare-column='1'] iframe").locator("body").inner_text()
    right = page.frame_locator("[data-compare-column='2'] iframe").locator("body").inner_text()
    assert "please pay €250.00." in left and "Thank you" not in left
    assert "Thank you for Peeters." in right
    screenshot(page, "reviewer-side-by-side")

    # Approve from the dashboard's "Awaiting your review" panel, with a comment.
    page.goto("/admin/")
    row = page.locator("tr", has_text="Payment reminder").first
    row.get_by_role("button").last.click()
    row.get_by_text("Approve with comment").click()
    page.locator("textarea[name='comment']").fill("Wording checked against clause 4.2")
    screenshot(page, "reviewer-approve-modal")
    page.locator("form:has(textarea[name='comment'])").get_by_role("button", name="Approve with comment").click()
    page.wait_for_url("**/admin/")
    page.locator("tr", has_text="Payment reminder").wait_for(state="detached")  # nothing left to review
    screenshot(page, "reviewer-approved")

    state = WorkflowState.objects.for_instance(fragment).order_by("-created_at").first()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "Thank you for {{ customer.last_name }}." in live_text(fragment)
    assert fragment.is_usable
    assert state.current_task_state.comment == "Wording checked against clause 4.2"
