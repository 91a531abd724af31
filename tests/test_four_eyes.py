"""Four-eyes review: nobody approves a change they contributed to, and content under the review
policy is published only by the workflow's approval, on every path (editors, dashboard, workflow
action URLs, bulk actions, the admin API), superusers included. FOUR_EYES=False relaxes both."""

import json

import pytest
from django.core import checks
from django.urls import reverse
from wagtail.blocks.base import BlockWidget
from wagtail.models import TaskState, WorkflowState
from wagtail.test.utils.form_data import nested_form_data

from tests import factories
from tests.test_workflow import edit_post_data
from wagtail_correspondence import roles
from wagtail_correspondence.models import FourEyesReviewTask, Fragment, Layout, LetterTemplatePage

FRAGMENT = "wagtailsnippets_wagtail_correspondence_fragment"
LAYOUT = "wagtailsnippets_wagtail_correspondence_layout"
PAGES = "wagtailadmin_pages"


@pytest.fixture
def people(make_user):
    return {
        "author": make_user("author", roles.CONTENT_AUTHORS),
        "reviewer": make_user("reviewer", roles.CONTENT_REVIEWERS),
        "second_reviewer": make_user("second-reviewer", roles.CONTENT_REVIEWERS),
        # Writes and reviews: the case four-eyes exists for.
        "author_reviewer": make_user("author-reviewer", roles.CONTENT_AUTHORS, roles.CONTENT_REVIEWERS),
        "admin": make_user("admin", roles.ADMINISTRATORS),
        "superuser": make_user("root", superuser=True),
    }


@pytest.fixture
def fragment(customer_dictionary):
    return factories.fragment(customer_dictionary, key="payment-reminder", html="<p>Old wording</p>")


@pytest.fixture
def template(customer_dictionary, standard_layout, fragment):
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], subject="Old subject")


def refused(response):
    """Wagtail's admin answers a refusal with 403, or a redirect to the dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def done(response):
    return response.status_code == 302 and response["Location"] != "/admin/"


def live_text(fragment):
    fragment.refresh_from_db()
    return fragment.live_revision.as_object().body[0].value.source


def latest_text(fragment):
    fragment.refresh_from_db()
    return fragment.latest_revision.as_object().body[0].value.source


def block_id(fragment):
    return fragment.get_latest_revision_as_object().body[0].id


def submit(client, user, fragment, text):
    """``user`` edits the fragment in the editor and submits it to the review."""
    client.force_login(user)
    response = client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]),
                           {**edit_post_data(fragment, text), "body-0-id": block_id(fragment),
                            "action-submit": "Submit"})
    assert response.status_code == 302, response
    fragment.refresh_from_db()
    assert fragment.workflow_in_progress
    return fragment.current_workflow_state


def footer_approval(client, fragment, text, comment="Checked"):
    data = {**edit_post_data(fragment, text), "body-0-id": block_id(fragment), "action-workflow-action": "true",
            "workflow-action-name": "approve", "workflow-action-extra-data": json.dumps({"comment": comment})}
    return client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]), data)


def approve_url(obj, task_state, viewset=FRAGMENT):
    return reverse(f"{viewset}:workflow_action", args=[obj.pk, "approve", task_state.pk])


def current_task_state(obj):
    obj.refresh_from_db()
    return obj.current_workflow_state.current_task_state


def test_the_review_workflow_uses_the_four_eyes_task_with_its_groups(fragment, standard_layout):
    for obj in (fragment, standard_layout):
        task = obj.get_workflow().tasks.get().specific
        assert isinstance(task, FourEyesReviewTask)
        assert task.name == "Legal approval"
        assert list(task.groups.values_list("name", flat=True)) == [roles.CONTENT_REVIEWERS]


# Snippets: the fragment editor, the workflow action URLs, the dashboard -------------------


def test_a_reviewer_who_edits_and_approves_in_one_post_approves_nothing(client, people, fragment):
    state = submit(client, people["author"], fragment, "Submitted wording")
    client.force_login(people["reviewer"])
    response = footer_approval(client, fragment, "Wording changed by the reviewer")
    assert response.status_code == 302
    messages = [str(message) for message in response.wsgi_request._messages]
    assert any("another reviewer must approve" in message for message in messages), messages
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert live_text(fragment) == "<p>Old wording</p>"
    # The change is kept as the reviewer's revision, and the review goes on from it.
    assert "Wording changed by the reviewer" in latest_text(fragment)
    assert fragment.latest_revision.user == people["reviewer"]
    task_state = current_task_state(fragment)
    assert task_state.revision_id == fragment.latest_revision_id
    assert not TaskState.objects.filter(workflow_state=state, status=TaskState.STATUS_APPROVED).exists()

    # The reviewer cannot approve it now either, by any path.
    assert "approve" not in [name for name, _label, _modal in task_state.task.specific.get_actions(
        fragment, people["reviewer"])]
    assert refused(client.post(approve_url(fragment, task_state), {"comment": "Mine"}))
    footer_approval(client, fragment, "Wording changed by the reviewer")
    assert live_text(fragment) == "<p>Old wording</p>"

    # Another reviewer approves what was changed: it is live.
    client.force_login(people["second_reviewer"])
    response = client.post(approve_url(fragment, current_task_state(fragment)), {"comment": "Fine"})
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert "Wording changed by the reviewer" in live_text(fragment)


def test_a_version_rewritten_after_its_review_began_is_reviewed_again(client, people, fragment):
    """Autosave rewrites its author's latest revision in place: a reviewer who edits during the
    review could change the text after another reviewer looked at it and before they approve."""
    submit(client, people["author"], fragment, "Submitted wording")
    client.force_login(people["reviewer"])
    footer_approval(client, fragment, "The reviewer's version")  # saved as their revision, reviewed again
    task_state = current_task_state(fragment)
    rewritten = fragment.get_latest_revision_as_object()
    rewritten.body = factories.fragment_body(factories.rich_text("<p>Slipped in after the look</p>"))
    rewritten.save_revision(user=people["reviewer"], overwrite_revision=fragment.latest_revision)  # as autosave does
    assert fragment.revisions.count() == 3

    client.force_login(people["second_reviewer"])
    assert refused(client.post(approve_url(fragment, task_state), {"comment": "Seen the earlier text"}))
    assert live_text(fragment) == "<p>Old wording</p>"
    # The review restarted on the rewritten version; approving that is possible.
    fresh = current_task_state(fragment)
    assert fresh.pk != task_state.pk and fresh.status == TaskState.STATUS_IN_PROGRESS
    assert done(client.post(approve_url(fragment, fresh), {"comment": "Seen it"}))
    assert live_text(fragment) == "<p>Slipped in after the look</p>"


@pytest.mark.parametrize("who", ["author_reviewer", "superuser"])
def test_nobody_approves_their_own_change(client, people, fragment, who):
    state = submit(client, people[who], fragment, "My own wording")
    task_state = state.current_task_state
    client.force_login(people[who])

    assert refused(client.post(approve_url(fragment, task_state), {"comment": "Looks good to me"}))
    footer_approval(client, fragment, "My own wording")  # from the editor, without changes
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert live_text(fragment) == "<p>Old wording</p>"
    assert not TaskState.objects.filter(workflow_state=state, status=TaskState.STATUS_APPROVED).exists()

    # Request changes (sending it back) stays possible.
    task_state = current_task_state(fragment)
    assert done(client.post(reverse(f"{FRAGMENT}:workflow_action", args=[fragment.pk, "reject", task_state.pk]),
                            {"comment": "On second thoughts"}))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_NEEDS_CHANGES


def test_submitting_someone_elses_draft_counts_as_contributing(client, people, fragment):
    fragment.body = factories.fragment_body(factories.rich_text("<p>Drafted by the author</p>"))
    fragment.save_revision(user=people["author"])
    state = fragment.get_workflow().start(fragment, people["reviewer"])  # the reviewer submits it
    client.force_login(people["reviewer"])
    assert refused(client.post(approve_url(fragment, state.current_task_state), {"comment": ""}))
    client.force_login(people["second_reviewer"])
    assert done(client.post(approve_url(fragment, state.current_task_state), {"comment": ""}))
    assert "Drafted by the author" in live_text(fragment)


def test_the_dashboard_offers_approval_only_to_reviewers_who_did_not_contribute(client, people, fragment):
    state = submit(client, people["author_reviewer"], fragment, "Dashboard wording")
    task_state = state.current_task_state
    reject = reverse(f"{FRAGMENT}:workflow_action", args=[fragment.pk, "reject", task_state.pk])
    # The action modal's data view refuses it too.
    collect = reverse(f"{FRAGMENT}:collect_workflow_action_data", args=[fragment.pk, "approve", task_state.pk])

    client.force_login(people["author_reviewer"])
    dashboard = client.get("/admin/").content.decode()
    assert reject in dashboard and approve_url(fragment, task_state) not in dashboard
    assert refused(client.get(approve_url(fragment, task_state)))
    assert refused(client.get(collect))

    client.force_login(people["reviewer"])
    dashboard = client.get("/admin/").content.decode()
    assert approve_url(fragment, task_state) in dashboard


def test_the_editor_offers_approval_only_to_reviewers_who_did_not_contribute(client, people, fragment):
    submit(client, people["author_reviewer"], fragment, "Editor wording")
    client.force_login(people["author_reviewer"])
    page = client.get(reverse(f"{FRAGMENT}:edit", args=[fragment.pk])).content.decode()
    assert 'data-workflow-action-name="approve"' not in page and "Request changes" in page
    client.force_login(people["reviewer"])
    assert 'data-workflow-action-name="approve"' in client.get(reverse(f"{FRAGMENT}:edit", args=[fragment.pk])).content.decode()


# Publishing only through the workflow --------------------------------------------------


PUBLISHERS = ["reviewer", "admin", "superuser"]  # everyone who holds a publish permission, and superusers


@pytest.mark.parametrize("who", PUBLISHERS)
def test_no_publish_button_for_fragments_and_layouts(client, people, fragment, standard_layout, who):
    client.force_login(people[who])
    for viewset, obj in ((FRAGMENT, fragment), (LAYOUT, standard_layout)):
        editor = client.get(reverse(f"{viewset}:edit", args=[obj.pk])).content.decode()
        assert "Submit to Legal review" in editor, viewset
        assert 'name="action-publish"' not in editor, viewset
        assert 'name="action-publish"' not in client.get(reverse(f"{viewset}:add")).content.decode(), viewset


@pytest.mark.parametrize("who", PUBLISHERS)
def test_a_forged_publish_of_a_fragment_publishes_nothing(client, people, fragment, who):
    client.force_login(people[who])
    live_revision = fragment.live_revision_id
    client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]),
                {**edit_post_data(fragment, "Forged"), "body-0-id": block_id(fragment), "action-publish": "1"})
    fragment.refresh_from_db()
    assert fragment.live_revision_id == live_revision and live_text(fragment) == "<p>Old wording</p>"


@pytest.mark.parametrize("who", PUBLISHERS)
def test_a_forged_publish_of_a_layout_publishes_nothing(client, people, standard_layout, who):
    client.force_login(people[who])
    live_revision = standard_layout.live_revision_id
    data = layout_post_data(standard_layout, people["superuser"], name="Forged letterhead")
    client.post(reverse(f"{LAYOUT}:edit", args=[standard_layout.pk]), {**data, "action-publish": "1"})
    standard_layout.refresh_from_db()
    assert standard_layout.live_revision_id == live_revision and standard_layout.name == "Standard letterhead"


@pytest.mark.parametrize("who", PUBLISHERS)
def test_creating_or_reverting_publishes_nothing(client, people, fragment, who):
    client.force_login(people[who])
    client.post(reverse(f"{FRAGMENT}:add"), {**edit_post_data(fragment, "New"), "key": f"new-{who}",
                                             "action-publish": "1"})
    created = Fragment.objects.filter(key=f"new-{who}").first()
    assert created is None or not created.live

    live_revision = fragment.live_revision_id
    first = fragment.revisions.order_by("pk").first()
    client.post(reverse(f"{FRAGMENT}:revisions_revert", args=[fragment.pk, first.pk]),
                {**edit_post_data(fragment, "Reverted"), "body-0-id": block_id(fragment), "action-publish": "1"})
    fragment.refresh_from_db()
    assert fragment.live_revision_id == live_revision and live_text(fragment) == "<p>Old wording</p>"


@pytest.mark.parametrize("who", PUBLISHERS)
def test_scheduling_a_publication_is_refused_too(client, people, fragment, who):
    client.force_login(people[who])
    client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]),
                {**edit_post_data(fragment, "Scheduled"), "body-0-id": block_id(fragment),
                 "go_live_at": "2099-01-01 09:00", "action-publish": "1"})
    assert not fragment.revisions.exclude(approved_go_live_at=None).exists()
    assert live_text(fragment) == "<p>Old wording</p>"


def test_the_api_writes_no_content():
    """The plugin's API reads fragments, layouts and templates and never changes them, so it has
    no publish or approve to refuse (a guard for endpoints added later)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(api_version="1").get_schema(request=None, public=True)
    content = {path: set(operations) & {"get", "post", "put", "patch", "delete"}
               for path, operations in schema["paths"].items()
               if path.split("/")[4] in ("fragments", "layouts", "templates")}
    assert content and all(methods == {"get"} for methods in content.values()), content


def test_a_workflow_without_the_four_eyes_task_cannot_publish(client, people, fragment):
    """An administrator may edit workflows: a plain group approval task put in place of the
    four-eyes one approves, but publishes nothing (fails closed)."""
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import GroupApprovalTask, Workflow, WorkflowContentType, WorkflowTask

    task = GroupApprovalTask.objects.create(name="Shortcut approval")
    task.groups.add(Group.objects.get(name=roles.CONTENT_REVIEWERS))
    workflow = Workflow.objects.create(name="Shortcut")
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    WorkflowContentType.objects.filter(content_type=ContentType.objects.get_for_model(Fragment)).update(
        workflow=workflow)
    state = submit(client, people["author_reviewer"], fragment, "Approved by its author")
    client.force_login(people["author_reviewer"])
    assert refused(client.post(approve_url(fragment, state.current_task_state), {"comment": ""}))
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert live_text(fragment) == "<p>Old wording</p>"


def test_withdrawing_published_content_stays_with_the_publish_permission(client, people, fragment):
    client.force_login(people["author"])
    assert refused(client.post(reverse(f"{FRAGMENT}:unpublish", args=[fragment.pk])))
    fragment.refresh_from_db()
    assert fragment.live
    client.force_login(people["reviewer"])
    assert done(client.post(reverse(f"{FRAGMENT}:unpublish", args=[fragment.pk])))
    fragment.refresh_from_db()
    assert not fragment.live


def test_code_and_the_workflow_still_publish(people, fragment):
    """Set-up by code publishes without a user's checks; the workflow's approval publishes for
    an approver who holds no publish permission at all."""
    from django.contrib.auth.models import Group, Permission

    reviewers = Group.objects.get(name=roles.CONTENT_REVIEWERS)
    reviewers.permissions.remove(*Permission.objects.filter(codename__startswith="publish_"))
    fragment.body = factories.fragment_body(factories.rich_text("<p>Through the workflow</p>"))
    fragment.save_revision(user=people["author"])
    state = fragment.get_workflow().start(fragment, people["author"])
    reviewer = type(people["reviewer"]).objects.get(pk=people["reviewer"].pk)  # no cached permissions
    state.current_task_state.task.specific.on_action(state.current_task_state, reviewer, "approve")
    assert "Through the workflow" in live_text(fragment)


# Pages: the letter template editor, bulk actions, the admin API ------------------------


def page_post_data(page, user, **changes):
    """The page editor's form for ``page``, as posted back unchanged, with ``changes``."""
    from django import forms

    page = page.get_latest_revision_as_object()
    form = page.specific_class.get_edit_handler().get_form_class()(
        instance=page, parent_page=page.get_parent(), for_user=user)
    data = {}
    for name, field in form.fields.items():
        bound, widget = form[name], field.widget
        value = changes.get(name, bound.value())
        if isinstance(widget, BlockWidget):
            stream = {str(index): {"type": child.block_type, "value": child.value.pk, "id": child.id,
                                   "deleted": "", "order": str(index)} for index, child in enumerate(value)}
            data.update(nested_form_data({bound.html_name: {**stream, "count": str(len(stream))}}))
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = "" if value is None else value
    for formset in form.formsets.values():
        management = formset.management_form
        data.update({management[name].html_name: management[name].value() for name in management.fields})
    return data


def layout_post_data(layout, user, **changes):
    from django import forms

    form_class = Layout.snippet_viewset.get_form_class(for_update=True)
    form = form_class(instance=layout.get_latest_revision_as_object(), for_user=user)
    data = {}
    for name, field in form.fields.items():
        value = changes.get(name, form[name].value())
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif hasattr(field.widget, "format_value") and field.widget.__class__.__name__ == "DraftailRichTextArea":
            data[name] = field.widget.format_value(value)
        else:
            data[name] = "" if value is None else value
    return data


def submit_page(template, user, subject):
    page = template.get_latest_revision_as_object()
    page.subject = subject
    page.save_revision(user=user)
    return template.get_workflow().start(template, user)


def page_subject(template, live=True):
    template.refresh_from_db()
    revision = template.live_revision if live else template.latest_revision
    return revision.as_object().subject


def page_approval(client, template, user, **changes):
    data = {**page_post_data(template, user, **changes), "action-workflow-action": "true",
            "workflow-action-name": "approve", "workflow-action-extra-data": json.dumps({"comment": "Checked"})}
    return client.post(reverse(f"{PAGES}:edit", args=[template.pk]), data)


def test_template_editor_follows_the_same_rules(client, people, template):
    state = submit_page(template, people["author_reviewer"], "Submitted subject")
    client.force_login(people["author_reviewer"])
    assert refused(client.post(approve_url(template, state.current_task_state, viewset=PAGES), {"comment": "Mine"}))
    assert page_subject(template) == "Old subject"

    # A reviewer changes the subject while approving: saved, not approved.
    client.force_login(people["reviewer"])
    response = page_approval(client, template, people["reviewer"], subject="Subject changed by the reviewer")
    assert done(response)  # not a refusal: saved, with a warning
    messages = [str(message) for message in response.wsgi_request._messages]
    assert any("another reviewer must approve" in message for message in messages), messages
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert page_subject(template) == "Old subject"
    assert page_subject(template, live=False) == "Subject changed by the reviewer"
    assert template.latest_revision.user == people["reviewer"]
    task_state = current_task_state(template)
    assert task_state.revision_id == template.latest_revision_id
    assert refused(client.post(approve_url(template, task_state, viewset=PAGES), {"comment": ""}))

    # Another reviewer approves from the editor's footer without changing anything: live.
    client.force_login(people["second_reviewer"])
    editor = client.get(reverse(f"{PAGES}:edit", args=[template.pk])).content.decode()
    assert 'data-workflow-action-name="approve"' in editor and 'name="action-publish"' not in editor
    revisions = template.revisions.count()
    assert page_approval(client, template, people["second_reviewer"]).status_code == 302
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert template.revisions.count() == revisions  # approving saved nothing
    assert page_subject(template) == "Subject changed by the reviewer"


@pytest.fixture
def draft_template(customer_dictionary, standard_layout, fragment):
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], title="Draft", publish=False)


@pytest.mark.parametrize("who", PUBLISHERS)
def test_no_publish_button_for_templates(client, people, template, who):
    client.force_login(people[who])
    editor = client.get(reverse(f"{PAGES}:edit", args=[template.pk])).content.decode()
    assert "Submit to Legal review" in editor and 'name="action-publish"' not in editor
    add = reverse(f"{PAGES}:add", args=["wagtail_correspondence", "lettertemplatepage", template.get_parent().pk])
    assert 'name="action-publish"' not in client.get(add).content.decode()


@pytest.mark.parametrize("who", PUBLISHERS)
def test_a_forged_publish_of_a_template_publishes_nothing(client, people, template, who):
    client.force_login(people[who])
    client.post(reverse(f"{PAGES}:edit", args=[template.pk]),
                {**page_post_data(template, people[who], subject="Forged subject"), "action-publish": "1"})
    assert page_subject(template) == "Old subject"
    first = template.revisions.order_by("pk").first()
    client.post(reverse(f"{PAGES}:revisions_revert", args=[template.pk, first.pk]),
                {**page_post_data(template, people[who], subject="Reverted subject"), "action-publish": "1"})
    assert page_subject(template) == "Old subject"


@pytest.mark.parametrize("who", PUBLISHERS)
def test_bulk_publish_of_templates_is_refused(client, people, draft_template, who):
    client.force_login(people[who])
    url = reverse("wagtail_bulk_action", args=["wagtailcore", "page", "publish"]) + f"?id={draft_template.pk}"
    client.post(url, {"include_descendants": "on"})
    draft_template.refresh_from_db()
    assert not draft_template.live


@pytest.mark.parametrize("who", PUBLISHERS)
def test_the_admin_api_publishes_no_template(client, people, template, draft_template, who):
    client.force_login(people[who])
    response = client.post(f"/admin/api/main/pages/{draft_template.pk}/action/publish/", {},
                           content_type="application/json")
    assert response.status_code == 403, response.content
    draft_template.refresh_from_db()
    assert not draft_template.live
    # A copy kept live would publish a new template without review.
    response = client.post(f"/admin/api/main/pages/{template.pk}/action/copy/",
                           {"destination_page_id": template.get_parent().pk, "slug": f"copy-{who}", "keep_live": True},
                           content_type="application/json")
    assert response.status_code == 403, response.content
    assert not LetterTemplatePage.objects.filter(slug=f"copy-{who}", live=True).exists()


# The setting ---------------------------------------------------------------------------


def test_four_eyes_off_brings_back_plain_wagtail(client, people, fragment, template, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "FOUR_EYES": False}
    state = submit(client, people["author_reviewer"], fragment, "Approved by its author")
    client.force_login(people["author_reviewer"])
    assert done(client.post(approve_url(fragment, state.current_task_state), {"comment": ""}))
    assert "Approved by its author" in live_text(fragment)

    client.force_login(people["reviewer"])
    page = client.get(reverse(f"{FRAGMENT}:edit", args=[fragment.pk])).content.decode()
    assert 'name="action-publish"' in page
    client.post(reverse(f"{FRAGMENT}:edit", args=[fragment.pk]),
                {**edit_post_data(fragment, "Published directly"), "body-0-id": block_id(fragment),
                 "action-publish": "1"})
    assert "Published directly" in live_text(fragment)

    client.post(reverse(f"{PAGES}:edit", args=[template.pk]),
                {**page_post_data(template, people["reviewer"], subject="Published page"), "action-publish": "1"})
    assert page_subject(template) == "Published page"


def test_four_eyes_requires_reapproval_on_edit(settings):
    settings.WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = False
    assert "wagtail_correspondence.E040" in [message.id for message in checks.run_checks()]
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "FOUR_EYES": False}
    assert "wagtail_correspondence.E040" not in [message.id for message in checks.run_checks()]


def test_contributors_are_counted_from_the_last_publication(people, fragment):
    from wagtail_correspondence.review.rules import change_contributors

    def save(user, **changes):
        draft = Fragment.objects.get(pk=fragment.pk).get_latest_revision_as_object()
        for name, value in changes.items():
            setattr(draft, name, value)
        draft.save_revision(user=user)

    def contributors():
        return change_contributors(Fragment.objects.get(pk=fragment.pk))

    assert contributors() == set()
    save(people["author"], body=factories.fragment_body(factories.rich_text("<p>The author's change</p>")))
    save(people["second_reviewer"])  # a save that changes nothing contributes nothing
    save(people["reviewer"], title="The reviewer's title")
    assert contributors() == {people["author"].pk, people["reviewer"].pk}
    # The same text with the rich text editor's block keys (and new block ids) is the same text.
    save(people["second_reviewer"],
         body=factories.fragment_body(factories.rich_text('<p data-block-key="k1x2">The author\'s change</p>')))
    assert contributors() == {people["author"].pk, people["reviewer"].pk}

    Fragment.objects.get(pk=fragment.pk).latest_revision.publish(skip_permission_checks=True)
    assert contributors() == set()
    # Withdrawn since: counted from the revision of its last publication, not from the start.
    Fragment.objects.get(pk=fragment.pk).unpublish()
    save(people["second_reviewer"], notes="Changed after the withdrawal")
    assert contributors() == {people["second_reviewer"].pk}


# The data migration --------------------------------------------------------------------

REVIEW_STATE = """
from django.contrib.auth import get_user_model
from wagtail.models import Workflow
task = Workflow.objects.get(name="Legal review").tasks.get().specific
print(type(task).__name__, task.pk, sorted(task.groups.values_list("name", flat=True)),
      [(state.task_id, state.status) for state in task.task_states.all()])
"""

START_REVIEW = """
# Written with the models as they were at 0020 (the fragment's table has changed since): a
# fragment, a revision, and its review begun, as Workflow.start leaves them.
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
apps = MigrationExecutor(connection).loader.project_state(("wagtail_correspondence", "0020_task_leases")).apps
model = apps.get_model
ContentType = model("contenttypes", "ContentType")
fragment_type = ContentType.objects.get(app_label="wagtail_correspondence", model="fragment")
dictionary = model("wagtail_correspondence", "DataDictionary").objects.create(name="Customer")
fragment = model("wagtail_correspondence", "Fragment").objects.create(
    title="Greeting", key="greeting", data_dictionary=dictionary, channels=["print"],
    body=[{"type": "rich_text", "value": "<p>Hello</p>"}])
author = model("auth", "User").objects.create(username="author")
revision = model("wagtailcore", "Revision").objects.create(
    content_type=fragment_type, base_content_type=fragment_type, object_id=str(fragment.pk), content={},
    object_str="Greeting", user=author, created_at=timezone.now())
workflow = model("wagtailcore", "WorkflowContentType").objects.get(content_type=fragment_type).workflow
task = model("wagtailcore", "WorkflowTask").objects.filter(workflow=workflow).order_by("sort_order").first().task
state = model("wagtailcore", "WorkflowState").objects.create(
    content_type=fragment_type, base_content_type=fragment_type, object_id=str(fragment.pk), workflow=workflow,
    status="in_progress", requested_by=author)
task_state = model("wagtailcore", "TaskState").objects.create(
    workflow_state=state, revision=revision, task=task, status="in_progress",
    content_type=ContentType.objects.get(app_label="wagtailcore", model="taskstate"))
state.current_task_state = task_state
state.save()
"""


@pytest.mark.migrations
def test_the_migration_converts_the_review_task_in_place(tmp_path):
    """Reviews in progress, the groups and the task's place in the workflow are kept, both ways."""
    from tests.test_migrations_and_settings import MANAGE, run

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev"}
    # Every other app's tables first (the search index, ...), then back to before 0021.
    run(MANAGE + ["migrate", "--noinput", "-v0"], env)
    run(MANAGE + ["migrate", "wagtail_correspondence", "0020", "--noinput", "-v0"], env)
    run(MANAGE + ["shell", "-c", START_REVIEW], env)
    before = run(MANAGE + ["shell", "-c", REVIEW_STATE], env).stdout.strip().splitlines()[-1]
    assert before.startswith("GroupApprovalTask ") and "['Content reviewers']" in before and "in_progress" in before

    run(MANAGE + ["migrate", "--noinput", "-v0"], env)
    after = run(MANAGE + ["shell", "-c", REVIEW_STATE], env).stdout.strip().splitlines()[-1]
    assert after == before.replace("GroupApprovalTask ", "FourEyesReviewTask ", 1)

    run(MANAGE + ["migrate", "wagtail_correspondence", "0020", "--noinput", "-v0"], env)
    assert run(MANAGE + ["shell", "-c", REVIEW_STATE], env).stdout.strip().splitlines()[-1] == before
