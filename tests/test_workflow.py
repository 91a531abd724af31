"""The "Legal review" workflow on fragments, through the admin's own views."""

import pytest
from django.urls import reverse
from wagtail.models import WorkflowState

from wagtail_correspondence import roles

from . import factories

EDIT = "wagtailsnippets_wagtail_correspondence_fragment:edit"
ACTION = "wagtailsnippets_wagtail_correspondence_fragment:workflow_action"


def draftail(text):
    return ('{"blocks":[{"key":"a","type":"unstyled","depth":0,"text":%s,"inlineStyleRanges":[],'
            '"entityRanges":[]}],"entityMap":{}}') % __import__("json").dumps(text)


def edit_post_data(fragment, text):
    return {
        "title": fragment.title, "key": fragment.key, "data_dictionary": fragment.data_dictionary_id,
        "language": "en", "channels": ["print", "email"],
        "body-count": "1", "body-0-type": "rich_text", "body-0-deleted": "", "body-0-order": "0",
        "body-0-value": draftail(text),
    }


@pytest.fixture
def people(make_user):
    return {
        "author": make_user("author", roles.CONTENT_AUTHORS),
        "reviewer": make_user("reviewer", roles.CONTENT_REVIEWERS),
    }


@pytest.fixture
def fragment(customer_dictionary):
    return factories.fragment(customer_dictionary, key="payment-reminder", html="<p>Old wording</p>")


def submit_as_author(client, people, fragment, text):
    client.force_login(people["author"])
    response = client.post(reverse(EDIT, args=[fragment.pk]), {**edit_post_data(fragment, text),
                                                               "action-submit": "Submit"})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    fragment.refresh_from_db()
    return fragment.current_workflow_state


def test_fragments_and_layouts_use_the_legal_review_workflow(fragment, standard_layout):
    assert fragment.get_workflow().name == "Legal review"
    assert standard_layout.get_workflow().name == "Legal review"
    task = fragment.get_workflow().tasks.get().specific
    assert list(task.groups.values_list("name", flat=True)) == [roles.CONTENT_REVIEWERS]


def test_author_cannot_publish_directly(client, people, fragment):
    client.force_login(people["author"])
    client.post(reverse(EDIT, args=[fragment.pk]), {**edit_post_data(fragment, "Sneaky wording"),
                                                    "action-publish": "Publish"})
    fragment.refresh_from_db()
    assert "Old wording" in fragment.live_revision.as_object().body[0].value.source
    assert "Sneaky wording" in fragment.latest_revision.as_object().body[0].value.source


def test_submit_then_approve_makes_the_new_wording_live(client, people, fragment):
    state = submit_as_author(client, people, fragment, "New wording for {{ customer.first_name }}")
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "Old wording" in fragment.live_revision.as_object().body[0].value.source

    client.force_login(people["reviewer"])
    task_state = state.current_task_state
    response = client.post(reverse(ACTION, args=[fragment.pk, "approve", task_state.pk]),
                           {"comment": "Approved by legal"})
    assert response.status_code == 302  # back to the editor, as after the modal in the browser
    fragment.refresh_from_db()
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "New wording for {{ customer.first_name }}" in fragment.live_revision.as_object().body[0].value.source
    assert fragment.is_usable
    task_state.refresh_from_db()
    assert task_state.comment == "Approved by legal"


def test_request_changes_sends_it_back_to_the_author(client, people, fragment):
    state = submit_as_author(client, people, fragment, "Risky wording")
    client.force_login(people["reviewer"])
    response = client.post(reverse(ACTION, args=[fragment.pk, "reject", state.current_task_state.pk]),
                           {"comment": "Cite the contract clause"})
    assert response.status_code == 302
    state.refresh_from_db()
    fragment.refresh_from_db()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES
    assert "Old wording" in fragment.live_revision.as_object().body[0].value.source

    client.force_login(people["author"])
    page = client.get(reverse(EDIT, args=[fragment.pk])).content.decode()
    assert "Changes requested" in page or "needs changes" in page.lower()
    assert "Cite the contract clause" in page


def test_agent_cannot_act_on_the_review(client, make_user, people, fragment):
    state = submit_as_author(client, people, fragment, "Pending wording")
    client.force_login(make_user("agent", roles.AGENTS))
    response = client.post(reverse(ACTION, args=[fragment.pk, "approve", state.current_task_state.pk]),
                           {"comment": "I approve"})
    assert response.status_code in (302, 403)
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS


def footer_approval(client, fragment, text, block_id):
    data = {**edit_post_data(fragment, text), "body-0-id": block_id, "action-workflow-action": "true",
            "workflow-action-name": "approve", "workflow-action-extra-data": '{"comment": "Checked in the editor"}'}
    return client.post(reverse(EDIT, args=[fragment.pk]), data)


def test_approve_from_the_editor_footer_without_changes_publishes(client, people, fragment):
    state = submit_as_author(client, people, fragment, "Footer wording")
    block_id = fragment.get_latest_revision_as_object().body[0].id
    revisions = fragment.revisions.count()
    client.force_login(people["reviewer"])
    assert footer_approval(client, fragment, "Footer wording", block_id).status_code == 302
    state.refresh_from_db()
    fragment.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert fragment.revisions.count() == revisions  # the approval saved no new revision
    assert "Footer wording" in fragment.live_revision.as_object().body[0].value.source
    assert state.task_states.get().comment == "Checked in the editor"


def test_approve_from_the_footer_of_wording_saved_by_code(client, people, customer_dictionary):
    """Text saved by code lacks the editor's block keys; the round trip is not a change."""
    fragment = factories.fragment(customer_dictionary, key="coded", html="<p>Coded wording</p>")
    fragment.body = factories.fragment_body(factories.rich_text("<p>Coded wording, revised</p>"))
    fragment.save_revision(user=people["author"])
    fragment.get_workflow().start(fragment, people["author"])
    client.force_login(people["reviewer"])
    footer_approval(client, fragment, "Coded wording, revised", fragment.get_latest_revision_as_object().body[0].id)
    fragment.refresh_from_db()
    assert fragment.current_workflow_state is None or not fragment.workflow_in_progress
    assert "Coded wording, revised" in fragment.live_revision.as_object().body[0].value.source


def test_changing_the_wording_while_approving_needs_approval_again(client, people, fragment):
    state = submit_as_author(client, people, fragment, "Submitted wording")
    block_id = fragment.get_latest_revision_as_object().body[0].id
    client.force_login(people["reviewer"])
    footer_approval(client, fragment, "Wording changed by the reviewer", block_id)
    state.refresh_from_db()
    fragment.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS  # the changed text is reviewed again
    assert "Old wording" in fragment.live_revision.as_object().body[0].value.source
