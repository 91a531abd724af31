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
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from wagtail.models import TaskState, WorkflowState

from .. import dates
from .rules import BLOCK_KEY_RE, under_review_policy

# Fields of Wagtail's page form that belong to the editing user, not to the content.
NOT_CONTENT = {"comment_notifications"}


def same_rich_text(before, after):
    """Whether two values of a text field say the same: a rich text field posted back by the
    editor gains data-block-key attributes, and an empty one becomes an empty paragraph."""
    if not isinstance(after, str) or not isinstance(before, (str, type(None))):
        return False

    def said(value):
        value = BLOCK_KEY_RE.sub("", value or "").strip()
        return "" if value == "<p></p>" else value

    return said(before) == said(after)


def form_changes_content(form):
    """Whether a valid edit form changes what the object says."""
    for name in form.changed_data:
        if name in NOT_CONTENT:
            continue
        field = form.fields[name]
        if not hasattr(field, "block"):
            if same_rich_text(form[name].initial, form.cleaned_data.get(name)):
                continue
            return True
        before = json.dumps(field.block.get_prep_value(form[name].initial))
        after = json.dumps(field.block.get_prep_value(form.cleaned_data[name]))
        if BLOCK_KEY_RE.sub("", before) != BLOCK_KEY_RE.sub("", after):
            return True
    return False


def workflow_action_posted(request):
    return request.method == "POST" and bool(request.POST.get("action-workflow-action"))


def approving(request):
    return workflow_action_posted(request) and request.POST.get("workflow-action-name") == "approve"


def comments_changed(form):
    comments = getattr(form, "formsets", {}).get("comments")
    return bool(comments is not None and comments.has_changed())


def take_page_workflow_action(request, page):
    """The page editor's workflow action, on the revision under review, without a new revision.
    Returns None (Wagtail's editor answers) when the action is not offered to this user."""
    task = page.current_workflow_task
    name = request.POST.get("workflow-action-name")
    if name not in {action for action, _label, _modal in task.get_actions(page, request.user)}:
        return None
    try:
        extra = json.loads(request.POST.get("workflow-action-extra-data") or "{}")
    except ValueError:
        extra = {}
    if not isinstance(extra, dict):
        extra = {}
    try:
        task.on_action(page.current_workflow_task_state, request.user, name,
                       **{key: value for key, value in extra.items() if key == "comment"})
    except PermissionDenied as refusal:
        messages.error(request, " ".join(refusal.args) or _("You may not take this action on this review."))
        return redirect("wagtailadmin_pages:edit", page.pk)
    messages.success(request, review_message(name, page))
    return redirect(request.POST.get("next") if url_has_allowed_host_and_scheme(
        request.POST.get("next"), allowed_hosts={request.get_host()}) else
        reverse("wagtailadmin_explore", args=[page.get_parent().pk]))


def review_message(name, obj):
    """What a review step did, in review words (Wagtail says "updated" and "moderation")."""
    if name == "approve":
        return _("'%(object)s' approved.") % {"object": obj}
    if name == "reject":
        return _("Changes requested on '%(object)s'.") % {"object": obj}
    if name == "submit":
        return _("'%(object)s' submitted for review.") % {"object": obj}
    return _("'%(object)s' updated.") % {"object": obj}


def warn_approval_refused(request):
    messages.warning(request, _("You changed the content, so you cannot approve it: your change is saved as a new "
                                "version, which another reviewer must approve."))


def remove_publish_from_snippet_menu(menu_items, request, context):
    """construct_snippet_action_menu: no Publish for content under the review policy."""
    if under_review_policy(context["model"]):
        menu_items[:] = [item for item in menu_items if item.name != "action-publish"]


def page_approval_with_changes(request, page):
    """before_edit_page: Wagtail's page editor saves a revision before a workflow action whenever
    Django's form reports a change, and the rich text editor always reports one (it adds block
    keys). For content under the review policy:

    - a workflow action that changes nothing is taken without saving a revision: otherwise the
      reviewer's copy becomes the latest revision and WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT
      restarts the review on it instead of publishing;
    - an approval that carries changes becomes a plain save (the new revision then needs another
      reviewer), so that nothing a reviewer wrote is approved by them and nothing is refused
      half-way through."""
    if not (workflow_action_posted(request) and under_review_policy(page) and page.current_workflow_task):
        return None
    form_class = page.specific_class.get_edit_handler().get_form_class()
    form = form_class(request.POST, request.FILES, instance=page, parent_page=page.get_parent(), for_user=request.user)
    if not form.is_valid():
        return None  # Wagtail shows the errors
    if not form_changes_content(form) and not comments_changed(form):
        return take_page_workflow_action(request, page)
    if not approving(request) or not form_changes_content(form):
        return None
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


def requested_changes(obj):
    """The reviewer's request for changes that the object's review waits on, as a TaskState
    (finished_by, finished_at, comment), or None."""
    state = getattr(obj, "current_workflow_state", None)
    if state is None or state.status != WorkflowState.STATUS_NEEDS_CHANGES:
        return None
    task_state = state.current_task_state
    if task_state is None or task_state.status != TaskState.STATUS_REJECTED:
        return None
    return task_state


def requested_changes_message(task_state):
    reviewer = task_state.finished_by
    name = (reviewer.get_full_name() or reviewer.get_username()) if reviewer else _("A reviewer")
    when = dates.when(task_state.finished_at)
    if task_state.comment:
        return _("Changes requested by %(reviewer)s on %(when)s: “%(comment)s” Make the changes, then submit "
                 "again.") % {"reviewer": name, "when": when, "comment": task_state.comment}
    return _("Changes requested by %(reviewer)s on %(when)s. Make the changes, then submit again.") % {
        "reviewer": name, "when": when}


def show_requested_changes(request, obj):
    """before_edit_snippet / before_edit_page: the author opening the editor meets the reviewer's
    request (who, when, the comment) at the top of the page, until they submit again."""
    if request.method != "GET" or not under_review_policy(obj):
        return None
    task_state = requested_changes(obj)
    if task_state is not None:
        # A message is escaped text, shown above the editor's form.
        messages.warning(request, requested_changes_message(task_state))
    return None


def review_words_in_page_messages(request, page):
    """after_edit_page / after_create_page: Wagtail's page editor says "submitted for
    moderation" (its snippet editor's words are replaced in ``viewsets.ReviewedSnippetEditView``)."""
    if not under_review_policy(page):
        return None
    storage = getattr(request, "_messages", None)
    for message in getattr(storage, "_queued_messages", []):
        if "moderation" in str(message.message):
            message.message = review_message("submit", page.get_admin_display_title())
    return None
