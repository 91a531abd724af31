"""The snippet and page editors under the four-eyes rules.

- The Publish button is not rendered for content under the review policy (pages hide it
  through the permission tester; snippets' menu asks ``user.has_perm``, hence the menu hook).
- "Approve" from an editor's footer approves the revision under review. When the reviewer also
  changed the content, the approval is refused before anything is approved: the change is saved
  as a new revision, which another reviewer must approve, and the reviewer is told so.
- Content saved while in review restarts the review on the new revision, so that what reviewers
  see on the dashboard and compare is what an approval would publish.
"""

import json

from django.contrib import messages
from django.utils.translation import gettext as _
from wagtail.models import TaskState, WorkflowState

from .rules import BLOCK_KEY_RE, under_review_policy

# Fields of Wagtail's page form that belong to the editing user, not to the content.
NOT_CONTENT = {"comment_notifications"}


def form_changes_content(form):
    """Whether a valid edit form changes what the object says."""
    for name in form.changed_data:
        if name in NOT_CONTENT:
            continue
        field = form.fields[name]
        if not hasattr(field, "block"):
            return True
        before = json.dumps(field.block.get_prep_value(form[name].initial))
        after = json.dumps(field.block.get_prep_value(form.cleaned_data[name]))
        if BLOCK_KEY_RE.sub("", before) != BLOCK_KEY_RE.sub("", after):
            return True
    return False


def approving(request):
    return (request.method == "POST" and bool(request.POST.get("action-workflow-action"))
            and request.POST.get("workflow-action-name") == "approve")


def warn_approval_refused(request):
    messages.warning(request, _("You changed the content, so you cannot approve it: your change is saved as a new "
                                "version, which another reviewer must approve."))


def remove_publish_from_snippet_menu(menu_items, request, context):
    """construct_snippet_action_menu: no Publish for content under the review policy."""
    if under_review_policy(context["model"]):
        menu_items[:] = [item for item in menu_items if item.name != "action-publish"]


def page_approval_with_changes(request, page):
    """before_edit_page: Wagtail's page editor saves a reviewer's changes, then approves. For
    content under the review policy, an approval that carries changes becomes a plain save
    (the new revision then needs another reviewer), so that nothing a reviewer wrote is approved
    by them and nothing is refused half-way through."""
    if not (approving(request) and under_review_policy(page) and page.current_workflow_task):
        return None
    form_class = page.specific_class.get_edit_handler().get_form_class()
    form = form_class(request.POST, request.FILES, instance=page, parent_page=page.get_parent(), for_user=request.user)
    if not form.is_valid() or not form_changes_content(form):
        return None  # Wagtail shows the errors, or approves without saving a revision
    data = request.POST.copy()
    for name in ("action-workflow-action", "workflow-action-name", "workflow-action-extra-data"):
        data.pop(name, None)
    data._mutable = False
    request.POST = data
    warn_approval_refused(request)
    return None


def review_latest_revision(request, instance):
    """after_edit_snippet / after_edit_page: content saved during its review (by a reviewer or a
    superuser; the lock keeps others out) is reviewed again from its new revision. Wagtail would
    otherwise leave the review on the older revision and start another one only once it is
    approved (WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT)."""
    if not under_review_policy(instance):
        return None
    state = instance.current_workflow_state
    if state is None or state.status != WorkflowState.STATUS_IN_PROGRESS:
        return None
    task_state = state.current_task_state
    latest = instance.get_latest_revision()
    if task_state and task_state.status == TaskState.STATUS_IN_PROGRESS and latest and task_state.revision_id != latest.pk:
        task_state.specific.cancel(user=request.user, resume=True,
                                   comment=_("Changed during the review: the review restarts on the new version."))
    return None
