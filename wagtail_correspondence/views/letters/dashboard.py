"""The dashboard's letter panel: letters waiting for this user's approval, and this user's
letters returned for changes or still waiting for someone else."""

from django.template.loader import get_template
from wagtail.admin.ui.components import Component

from ...models import LetterStatus
from ...services import letter_approval as approval

SHOWN = 10
# What the panel shows of a letter: its text, data and files (some of them encrypted) are not
# read for a list of references.
SHOWN_FIELDS = ("reference", "status", "template__title", "created_by", "approval_reasons", "generated_at",
                "return_comment", "updated_at")


class LetterApprovalPanel(Component):
    name = "correspondence_letter_approvals"
    order = 60
    template_name = "wagtail_correspondence/letters/panels/approvals.html"

    class Media:
        css = {"all": ["wagtail_correspondence/css/letters.css"]}

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        to_decide = approval.approvable_letters(self.user).select_related("template", "created_by").order_by(
            "generated_at", "pk")
        returned = approval.returned_to(self.user).select_related("template").order_by("-updated_at")
        waiting = approval.waiting_for_others(self.user).select_related("template").order_by("generated_at")
        to_decide, returned, waiting = (letters.only(*SHOWN_FIELDS) for letters in (to_decide, returned, waiting))
        return {
            "may_approve": approval.may_approve_letters(self.user),
            "to_decide": to_decide[:SHOWN], "to_decide_count": to_decide.count(),
            "returned": returned[:SHOWN], "waiting": waiting[:SHOWN],
            "pending_status": LetterStatus.PENDING_APPROVAL.value,
        }

    def render_html(self, parent_context=None):
        # Shown to approvers, and to agents with letters under approval; nobody else.
        context = self.get_context_data(parent_context)
        if not (context["may_approve"] or context["returned"] or context["waiting"]):
            return ""
        return get_template(self.template_name).render(context)
