from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.models import GroupApprovalTask

from ..review.rules import changed_since_review_began, four_eyes, may_approve, wording, workflow_publishing


def review_unchanged_latest_revision(task_state, obj):
    """A revision saved during the review that says the same as the one under review (page
    comments, an editor's save of unchanged content) becomes the one the approval applies to.
    With WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT, Wagtail would otherwise approve the older
    revision and at once restart the review on the newer one, so that approving never publishes."""
    latest = obj.get_latest_revision()
    if latest is None or latest.pk == task_state.revision_id or latest.pk < task_state.revision_id:
        return
    if wording(latest) == wording(task_state.revision):
        task_state.revision = latest
        task_state.save(update_fields=["revision"])


class FourEyesReviewTask(GroupApprovalTask):
    """Approval by a member of the chosen groups who did not contribute to the change.

    Approve is neither offered to (editor footers, the dashboard's "Awaiting your review") nor
    accepted from (``on_action``, which every path ends in: the editors, Wagtail's workflow
    action URLs, the dashboard's modal) anyone who created a revision of the change or submitted
    it, superusers included. An approval applies to the revision as it was when its review
    started. The approval that finishes the workflow is the only way content under the review
    policy is published (see ``review.rules.workflow_publishing``).
    """

    class Meta:
        verbose_name = _("four-eyes approval task")
        verbose_name_plural = _("four-eyes approval tasks")

    def get_actions(self, obj, user):
        actions = super().get_actions(obj, user)
        if any(name == "approve" for name, _label, _modal in actions) and not may_approve(user, obj):
            return [action for action in actions if action[0] != "approve"]
        return actions

    def on_action(self, task_state, user, action_name, **kwargs):
        # Not atomic as a whole: restarting a stale review must outlive the refusal that follows
        # (Task.on_action, which approves, is atomic itself).
        obj = task_state.workflow_state.content_object
        # Wagtail's views check get_actions before calling this; check again here, after any
        # revision the request itself saved, so that no caller can skip the rule. Without a
        # user (code acting for the system) there is nobody to check, as in Wagtail.
        if user is not None and action_name not in {name for name, _label, _modal in self.get_actions(obj, user)}:
            if action_name == "approve" and not may_approve(user, obj):
                raise PermissionDenied(_("You contributed to this change: another reviewer must approve it."))
            raise PermissionDenied(_("You may not take this action on this review."))
        if action_name != "approve":
            return super().on_action(task_state, user, action_name, **kwargs)
        if four_eyes() and task_state.status == task_state.STATUS_IN_PROGRESS and changed_since_review_began(task_state):
            task_state.specific.cancel(user=user, resume=True,
                                       comment=_("Changed during the review: the review restarts on the new version."))
            raise PermissionDenied(_("This version changed after its review began: review it again."))
        review_unchanged_latest_revision(task_state, obj)
        with workflow_publishing(obj):
            return super().on_action(task_state, user, action_name, **kwargs)

    @classmethod
    def get_description(cls):
        return _("Members of the chosen groups approve, except whoever contributed to the change")
