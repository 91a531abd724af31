"""The review's screens: approving from the editors publishes without a revision by the
reviewer, the author meets the reviewer's request in the editor, the lists say where each item
stands, and the side-by-side view shows a redline and takes the decision through the workflow."""

import json

import pytest
from django.urls import reverse
from wagtail.models import TaskState, WorkflowState

from tests import factories
from tests.test_four_eyes import (
    FRAGMENT, LAYOUT, block_id, latest_text, layout_post_data, live_text, refused, submit,
)
from tests.test_workflow import edit_post_data
from wagtail_correspondence import roles
from wagtail_correspondence.rendering.redline import DELETED, EQUAL, INSERTED, redline, text_of
from wagtail_correspondence.review.status import (
    CHANGES_REQUESTED, DRAFT, EXPIRED, IN_REVIEW, LIVE, LIVE_WITH_DRAFT, filter_by_review_status, review_status,
    with_review_status,
)
from wagtail_correspondence.models import Fragment


@pytest.fixture
def people(make_user):
    return {
        "author": make_user("author", roles.CONTENT_AUTHORS),
        "reviewer": make_user("reviewer", roles.CONTENT_REVIEWERS),
        "author_reviewer": make_user("author-reviewer", roles.CONTENT_AUTHORS, roles.CONTENT_REVIEWERS),
        "agent": make_user("agent", roles.AGENTS),
    }


@pytest.fixture
def fragment(customer_dictionary):
    return factories.fragment(customer_dictionary, key="payment-reminder", html="<p>Please pay soon.</p>")


def compare_url(fragment):
    return reverse(f"{FRAGMENT}:side_by_side", args=[fragment.pk])


def decide(client, fragment, decision, comment="", revision=None):
    task_state = fragment.current_workflow_task_state
    return client.post(compare_url(fragment), {
        "decision": decision, "comment": comment,
        "revision": revision if revision is not None else (task_state.revision_id if task_state else "")})


def messages_of(response):
    return [str(message) for message in response.wsgi_request._messages]


# The editors ------------------------------------------------------------------------------


def test_approving_a_layout_in_its_editor_publishes_it_without_a_reviewer_revision(client, people):
    # Code-made rich text has no block keys; the editor adds them when the form is posted back.
    layout = factories.layout(header="<p><b>Northwind Mutual</b> since 1921</p>")
    draft = layout.get_latest_revision_as_object()
    draft.sender_block = "Northwind Mutual · PO Box 2 · 1000 Brussels"
    draft.save_revision(user=people["author"])
    state = layout.get_workflow().start(layout, people["author"])
    revisions = layout.revisions.count()

    client.force_login(people["reviewer"])
    response = client.post(reverse(f"{LAYOUT}:edit", args=[layout.pk]), {
        **layout_post_data(layout, people["reviewer"]), "action-workflow-action": "true",
        "workflow-action-name": "approve", "workflow-action-extra-data": json.dumps({"comment": "Fine"})})
    assert response.status_code == 302
    assert any("approved" in message for message in messages_of(response)), messages_of(response)
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    layout.refresh_from_db()
    assert layout.revisions.count() == revisions
    assert not layout.revisions.filter(user=people["reviewer"]).exists()
    assert layout.live_revision.as_object().sender_block.endswith("PO Box 2 · 1000 Brussels")


def test_approving_a_fragment_in_its_editor_says_approved(client, people, fragment):
    state = submit(client, people["author"], fragment, "New wording")
    client.force_login(people["reviewer"])
    response = client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]), {
        **edit_post_data(fragment, "New wording"), "body-0-id": block_id(fragment),
        "action-workflow-action": "true", "workflow-action-name": "approve",
        "workflow-action-extra-data": json.dumps({"comment": "Checked"})})
    assert response.status_code == 302
    assert any("approved" in message for message in messages_of(response)), messages_of(response)
    assert not any("updated" in message for message in messages_of(response))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "New wording" in live_text(fragment)
    assert not fragment.revisions.filter(user=people["reviewer"]).exists()


def test_submitting_says_submitted_for_review(client, people, fragment):
    client.force_login(people["author"])
    response = client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]), {
        **edit_post_data(fragment, "Changed"), "body-0-id": block_id(fragment), "action-submit": "Submit"})
    texts = messages_of(response)
    assert any("submitted for review" in message for message in texts), texts
    assert not any("moderation" in message for message in texts)


def test_the_author_sees_who_requested_changes_when_and_why_in_the_editor(client, people, fragment):
    submit(client, people["author"], fragment, "Draft wording")
    client.force_login(people["reviewer"])
    assert decide(client, fragment, "reject", "Mention the <mandate> form").status_code == 302

    client.force_login(people["author"])
    page = client.get(reverse(f"{FRAGMENT}:edit", args=[fragment.pk])).content.decode()
    assert "Changes requested by reviewer" in page
    assert "Mention the &lt;mandate&gt; form" in page  # escaped text, never markup
    assert "<mandate>" not in page

    # Once submitted again, the request is no longer shown.
    submit(client, people["author"], fragment, "Draft wording with the mandate form")
    page = client.get(reverse(f"{FRAGMENT}:edit", args=[fragment.pk])).content.decode()
    assert "Changes requested by" not in page


# The lists --------------------------------------------------------------------------------


def test_the_status_of_each_fragment_in_the_list_and_its_filter(client, people, customer_dictionary):
    live = factories.fragment(customer_dictionary, key="live-one", html="<p>Live</p>")
    in_review = factories.fragment(customer_dictionary, key="in-review", html="<p>Before</p>")
    submit(client, people["author"], in_review, "After")
    changed = factories.fragment(customer_dictionary, key="changed", html="<p>Before</p>")
    changed.get_latest_revision_as_object().save_revision(user=people["author"])
    changed_obj = Fragment.objects.get(pk=changed.pk)
    changed_obj.has_unpublished_changes = True
    changed_obj.save(update_fields=["has_unpublished_changes"])
    requested = factories.fragment(customer_dictionary, key="requested", html="<p>Before</p>")
    submit(client, people["author"], requested, "After")
    client.force_login(people["reviewer"])
    decide(client, requested, "reject", "No")
    draft = factories.fragment(customer_dictionary, key="draft-one", html="<p>Draft</p>", publish=False)
    expired = factories.fragment(customer_dictionary, key="expired-one", html="<p>Old</p>")
    Fragment.objects.filter(pk=expired.pk).update(expired=True)

    expected = {live: LIVE, in_review: IN_REVIEW, changed: LIVE_WITH_DRAFT, requested: CHANGES_REQUESTED,
                draft: DRAFT, expired: EXPIRED}
    annotated = {item.pk: item for item in with_review_status(Fragment.objects.all())}
    for item, status in expected.items():
        assert review_status(annotated[item.pk]) == status, item.key
        assert review_status(Fragment.objects.get(pk=item.pk)) == status, item.key
        assert list(filter_by_review_status(Fragment.objects.all(), status)) == [Fragment.objects.get(pk=item.pk)]

    client.force_login(people["author"])
    page = client.get(reverse(f"{FRAGMENT}:list")).content.decode()
    for label in ("In review", "Changes requested", "Live + draft changes", "Draft", "Expired"):
        assert label in page
    page = client.get(reverse(f"{FRAGMENT}:list"), {"review_status": IN_REVIEW}).content.decode()
    assert "in-review" in page and "live-one" not in page and "draft-one" not in page


# The side-by-side view --------------------------------------------------------------------


def test_the_redline_marks_words_inserted_and_deleted_as_text():
    pieces = redline("<p>Please pay <b>€10</b> soon.</p>", "<p>Please pay <b>€12</b> today &lt;b&gt;.</p>")
    assert (DELETED, "€10") in pieces and (INSERTED, "€12") in pieces
    assert (DELETED, "soon.") in pieces
    assert any(kind == INSERTED and "today <b>." in text for kind, text in pieces)  # text, not markup
    assert pieces[0] == (EQUAL, "Please pay ")
    assert text_of("<p>One</p><style>p{}</style><p>Two</p>") == "One\nTwo"


def test_the_side_by_side_view_shows_the_redline_escaped(client, people, fragment):
    submit(client, people["author"], fragment, "Please pay <today> soon.")
    client.force_login(people["reviewer"])
    page = client.get(compare_url(fragment)).content.decode()
    assert "<ins>&lt;today&gt; </ins>" in page or "<ins>&lt;today&gt;</ins>" in page
    assert "<today>" not in page
    assert 'name="decision" value="approve"' in page and 'name="decision" value="reject"' in page
    assert "<iframe sandbox=\"\"" in page


def test_a_reviewer_approves_from_the_side_by_side_view(client, people, fragment):
    state = submit(client, people["author"], fragment, "New wording")
    client.force_login(people["reviewer"])
    response = decide(client, fragment, "approve", "Checked against clause 4.2")
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "New wording" in live_text(fragment)
    task_state = TaskState.objects.get(workflow_state=state)
    assert task_state.finished_by == people["reviewer"] and task_state.comment == "Checked against clause 4.2"
    from wagtail.log_actions import registry
    assert registry.get_logs_for_instance(fragment).filter(action="wagtail.workflow.approve",
                                                           user=people["reviewer"]).exists()


def test_requesting_changes_from_the_side_by_side_view_needs_a_comment(client, people, fragment):
    state = submit(client, people["author"], fragment, "New wording")
    client.force_login(people["reviewer"])
    response = decide(client, fragment, "reject", "")
    assert any("Comment" in message for message in messages_of(response))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    decide(client, fragment, "reject", "Shorter, please")
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES


@pytest.mark.parametrize("who", ["author", "author_reviewer"])
def test_nobody_approves_their_own_change_from_the_side_by_side_view(client, people, fragment, who):
    state = submit(client, people[who], fragment, "My wording")
    client.force_login(people[who])
    response = decide(client, fragment, "approve", "Mine")
    if who == "author":  # not a reviewer at all
        assert refused(response)
    else:
        assert any("another reviewer must approve" in message for message in messages_of(response))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "My wording" not in live_text(fragment)
    if who == "author_reviewer":
        page = client.get(compare_url(fragment)).content.decode()
        assert 'value="approve"' not in page and 'value="reject"' in page


def test_the_side_by_side_decisions_are_refused_outside_the_review_scope(client, people, fragment):
    state = submit(client, people["author"], fragment, "New wording")
    client.logout()
    anonymous = decide(client, fragment, "approve")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(people["agent"])
    assert refused(decide(client, fragment, "approve"))
    client.force_login(people["author"])
    assert refused(decide(client, fragment, "reject", "No"))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "New wording" not in live_text(fragment)
    assert "New wording" in latest_text(fragment)


def test_a_decision_on_a_version_that_changed_since_is_refused(client, people, fragment):
    state = submit(client, people["author"], fragment, "New wording")
    client.force_login(people["reviewer"])
    stale = fragment.current_workflow_task_state.revision_id - 1
    response = decide(client, fragment, "approve", "ok", revision=stale)
    assert any("changed since" in message for message in messages_of(response))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS


# Notifications ----------------------------------------------------------------------------


def test_review_emails_use_review_words(client, people, fragment, mailoutbox):
    submit(client, people["author"], fragment, "New wording")
    to_reviewer = [message for message in mailoutbox if people["reviewer"].email in message.to]
    assert to_reviewer and to_reviewer[0].subject == '"Payment reminder" waits for your review'
    assert f"/admin/correspondence/fragments/edit/{fragment.pk}/" in to_reviewer[0].body
    mailoutbox.clear()

    client.force_login(people["reviewer"])
    decide(client, fragment, "reject", "Don't say \"soon\"")
    to_author = [message for message in mailoutbox if people["author"].email in message.to]
    assert to_author and to_author[0].subject == 'Changes requested on "Payment reminder"'
    assert "reviewer requested changes" in to_author[0].body
    assert 'Their comment: "Don\'t say "soon""' in to_author[0].body  # plain text, not HTML-escaped
    for message in mailoutbox:
        text = f"{message.subject} {message.body}".lower()
        assert "rejected" not in text and "moderation" not in text


def test_the_html_review_email_escapes_the_comment(people, fragment):
    from django.template.loader import render_to_string

    state = fragment.get_workflow().start(fragment, people["author"])
    task_state = state.current_task_state
    html = render_to_string("wagtailadmin/notifications/workflow_state_rejected.html", {
        "object": fragment, "model_name": "fragment", "workflow": state.workflow, "task": task_state.task,
        "task_state": task_state, "comment": "<b>Don't</b>", "user": people["author"]})
    assert "&lt;b&gt;Don&#x27;t&lt;/b&gt;" in html and "<b>Don't</b>" not in html
    assert "rejected" not in html.lower() and "Changes were requested on" in html


def test_submitting_a_letter_template_says_submitted_for_review(client, people, customer_dictionary, fragment):
    from tests.test_four_eyes import page_post_data

    template = factories.letter_template(customer_dictionary, factories.layout(), [fragment])
    client.force_login(people["author"])
    response = client.post(reverse("wagtailadmin_pages:edit", args=[template.pk]),
                           {**page_post_data(template, people["author"], subject="New subject"),
                            "action-submit": "Submit"})
    assert response.status_code == 302
    texts = messages_of(response)
    assert any("submitted for review" in message for message in texts), texts
    assert not any("moderation" in message for message in texts)
    template.refresh_from_db()
    assert template.workflow_in_progress


def test_an_approval_publishes_when_a_revision_saved_during_the_review_says_the_same(client, people, fragment):
    """A page comment or an unchanged save by the reviewer adds a revision without new wording:
    approving must publish, not restart the review on that revision."""
    state = submit(client, people["author"], fragment, "New wording")
    fragment.refresh_from_db()
    fragment.get_latest_revision_as_object().save_revision(user=people["reviewer"])
    client.force_login(people["reviewer"])
    response = client.post(reverse(f"{FRAGMENT}:workflow_action",
                                   args=[fragment.pk, "approve", state.current_task_state.pk]), {"comment": "ok"})
    assert response.status_code in (200, 302)
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "New wording" in live_text(fragment)
