"""Author edits a fragment and submits it; the reviewer compares and approves (from the dashboard, the
editor or the side-by-side screen) or requests changes, which the author reads in the editor."""

import copy
import re

import pytest
from django.urls import reverse
from wagtail.models import WorkflowState

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.services import letters

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
    # "Resubmit" once a reviewer has requested changes.
    page.get_by_role("button", name=re.compile(r"^(Submit to Legal review|Resubmit to Legal approval)$")).click()
    page.wait_for_load_state()
    page.locator(".messages, [data-w-messages-target]").first.wait_for()
    screenshot(page, "author-submitted")
    return page


def test_author_submits_reviewer_compares_and_approves(setup, open_session, screenshot):
    _author, _reviewer, fragment = setup
    author = submit_new_wording(open_session, screenshot, fragment, " Thank you for {{ customer.last_name }}.")
    fragment.refresh_from_db()
    assert fragment.current_workflow_state.status == WorkflowState.STATUS_IN_PROGRESS
    # The author's list shows where the fragment stands.
    author.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:list"))
    assert author.locator("tr", has_text=fragment.title).get_by_text("In review", exact=True).is_visible()
    screenshot(author, "fragments-with-status", docs="review-fragment-status")
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


def open_footer_menu(page):
    page.locator("footer [data-w-dropdown-target='toggle'], footer .dropdown-toggle").first.click()


def test_a_reviewer_who_changes_the_wording_cannot_approve_it(setup, open_session, screenshot):
    """Four-eyes: the reviewer's own change needs another reviewer; approving from the editor
    while changing the text saves the change and approves nothing."""
    _author, reviewer, fragment = setup
    factories.user("second-reviewer", roles.CONTENT_REVIEWERS)
    submit_new_wording(open_session, screenshot, fragment, " Thank you.")
    edit_url = reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk])
    approve_in_footer = "footer [data-workflow-action-name='approve']"

    page = open_session("reviewer", factories.PASSWORD)
    page.goto(edit_url)
    assert page.locator(approve_in_footer).count() >= 1  # offered: the reviewer has not changed anything yet
    editor = page.locator("[contenteditable=true]").first
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(" Reviewed by legal.")
    page.locator("#id_title").click()
    page.wait_for_function("() => document.querySelector('input[name=\"body-0-value\"]').value.includes('Reviewed by')")
    open_footer_menu(page)
    page.locator(approve_in_footer).filter(has_text="Approve").first.click()
    page.get_by_text("another reviewer must approve").wait_for()
    screenshot(page, "reviewer-changed-and-tried-to-approve")
    assert page.locator(approve_in_footer).count() == 0  # the reviewer's own change
    assert page.get_by_text("Request changes").count() >= 1

    fragment.refresh_from_db()
    assert fragment.current_workflow_state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "Reviewed by legal." not in live_text(fragment)
    assert fragment.latest_revision.user == reviewer
    assert "Reviewed by legal." in fragment.latest_revision.as_object().body[0].value.source

    page.goto("/admin/")
    row = page.locator("tr", has_text="Payment reminder").first
    row.wait_for()
    assert row.locator("[data-workflow-action-url*='/approve/']").count() == 0
    assert row.locator("[data-workflow-action-url*='/reject/']").count() == 1
    row.get_by_role("button").last.click()
    row.get_by_text("Request changes").wait_for()
    screenshot(page, "reviewer-dashboard-without-approve")

    # Another reviewer approves the changed wording from the editor: it is live.
    other = open_session("second-reviewer", factories.PASSWORD)
    other.goto(edit_url)
    other.wait_for_timeout(2000)  # long enough for an autosave, which must not make them a contributor
    open_footer_menu(other)
    other.locator(approve_in_footer).filter(has_text="Approve").first.click()
    other.wait_for_load_state()
    screenshot(other, "second-reviewer-approved")
    state = WorkflowState.objects.for_instance(fragment).order_by("-created_at").first()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "Reviewed by legal." in live_text(fragment)


def test_approving_from_the_editor_publishes_and_new_letters_use_the_new_wording(setup, open_session, screenshot):
    """The README's path: the reviewer opens the editor, More actions → Approve with comment."""
    _author, reviewer, fragment = setup
    agent = factories.user("agent", roles.AGENTS)
    template = factories.letter_template(fragment.data_dictionary, factories.layout(), [fragment])
    submit_new_wording(open_session, screenshot, fragment, " Thank you for paying on time.")
    revisions_before = fragment.revisions.count()

    page = open_session("reviewer", factories.PASSWORD)
    page.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    open_footer_menu(page)
    page.locator("footer [data-workflow-action-name='approve']").filter(has_text="Approve with comment").click()
    page.locator("textarea[name='comment']").fill("Clear and correct")
    screenshot(page, "reviewer-approves-in-editor")
    page.locator("form:has(textarea[name='comment'])").get_by_role("button", name="Approve with comment").click()
    page.locator(".messages li", has_text="approved.").wait_for()
    screenshot(page, "reviewer-approved-in-editor")
    assert "updated" not in page.locator(".messages").inner_text()

    state = WorkflowState.objects.for_instance(fragment).order_by("-created_at").first()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert state.current_task_state.comment == "Clear and correct"
    assert "Thank you for paying on time." in live_text(fragment)
    assert fragment.revisions.count() == revisions_before  # no revision by the reviewer
    assert not fragment.revisions.filter(user=reviewer).exists()

    letter = letters.generate_letter(agent, letters.LetterRequest(template=template,
                                                                  data=copy.deepcopy(factories.SAMPLE_DATA)))
    assert "Thank you for paying on time." in letter.html


def test_approving_a_letter_template_from_its_editor_publishes_it(setup, open_session, screenshot):
    author, reviewer, fragment = setup
    template = factories.letter_template(fragment.data_dictionary, factories.layout(), [fragment],
                                         subject="Old subject")
    draft = template.get_latest_revision_as_object()
    draft.subject = "Your payment reminder"
    draft.save_revision(user=author)
    state = template.get_workflow().start(template, author)
    revisions_before = template.revisions.count()

    page = open_session("reviewer", factories.PASSWORD)
    page.goto(reverse("wagtailadmin_pages:edit", args=[template.pk]))
    open_footer_menu(page)
    page.locator("footer [data-workflow-action-name='approve']").filter(has_text="Approve with comment").click()
    page.locator("textarea[name='comment']").fill("Subject fine")
    page.locator("form:has(textarea[name='comment'])").get_by_role("button", name="Approve with comment").click()
    page.locator(".messages li", has_text="approved.").wait_for()
    screenshot(page, "template-approved-in-editor")

    state.refresh_from_db()
    template.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert template.live_revision.as_object().subject == "Your payment reminder"
    assert template.revisions.count() == revisions_before
    assert not template.revisions.filter(user=reviewer).exists()


def test_request_changes_reaches_the_author_then_the_reviewer_approves_from_the_compare_screen(
        setup, open_session, screenshot):
    _author, reviewer, fragment = setup
    submit_new_wording(open_session, screenshot, fragment, " Pay now.")
    compare = reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[fragment.pk])

    page = open_session("reviewer", factories.PASSWORD)
    page.goto(compare)
    assert "Pay now." in " ".join(page.locator("[data-redline-text] ins").all_inner_texts())
    page.locator("[data-review-decision] textarea[name='comment']").fill("Say how to pay, please.")
    screenshot(page, "reviewer-requests-changes-on-compare", docs="review-side-by-side")
    page.locator("[data-review-decision]").get_by_role("button", name="Request changes").click()
    page.locator(".messages li", has_text="Changes requested on").wait_for()
    fragment.refresh_from_db()
    assert fragment.current_workflow_state.status == WorkflowState.STATUS_NEEDS_CHANGES

    author = open_session("author", factories.PASSWORD)
    author.goto(reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[fragment.pk]))
    notice = author.locator(".messages li", has_text="Changes requested by")
    notice.wait_for()
    assert "Say how to pay, please." in notice.inner_text() and "by reviewer on" in notice.inner_text()
    screenshot(author, "author-sees-requested-changes", docs="review-changes-requested")
    author.close()

    submit_new_wording(open_session, screenshot, fragment, " Pay by transfer.")
    page.goto(compare)
    assert "Pay by transfer." in " ".join(page.locator("[data-redline-text] ins").all_inner_texts())
    page.locator("[data-review-decision] textarea[name='comment']").fill("Good")
    page.locator("[data-review-decision]").get_by_role("button", name="Approve").click()
    page.locator(".messages li", has_text="approved.").wait_for()
    screenshot(page, "reviewer-approved-on-compare")
    state = WorkflowState.objects.for_instance(fragment).order_by("-created_at").first()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "Pay by transfer." in live_text(fragment)
    assert not fragment.revisions.filter(user=reviewer).exists()
