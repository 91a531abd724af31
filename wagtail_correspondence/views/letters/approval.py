"""The approver's decision on a letter awaiting approval, and the agent's withdrawal. Both are
forms on the letter's page; every rule is in ``services.letter_approval``."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from ...models import Letter
from ...services import letter_approval as approval


def _letter_page(letter):
    return redirect(reverse("wagtail_correspondence_letters:inspect", args=[letter.pk]))


class LetterDecisionView(View):
    """POST ``decision`` (approve or return) and ``comment`` (required to return)."""

    def post(self, request, pk):
        letter = get_object_or_404(Letter, pk=pk)
        decision = request.POST.get("decision")
        comment = request.POST.get("comment", "")
        try:
            if decision == "approve":
                letter = approval.approve_letter(request.user, letter, comment)
                messages.success(request, _("%(reference)s approved: it is on its way.") % {
                    "reference": letter.reference})
            elif decision == "return":
                letter = approval.return_letter(request.user, letter, comment)
                messages.success(request, _("%(reference)s returned to its agent for changes.") % {
                    "reference": letter.reference})
            else:
                messages.error(request, _("Choose to approve the letter or to return it."))
        except approval.ApprovalError as exc:
            messages.error(request, exc.message)
        return _letter_page(letter)


class LetterWithdrawView(View):
    def post(self, request, pk):
        letter = get_object_or_404(Letter, pk=pk)
        try:
            letter = approval.withdraw_letter(request.user, letter, request.POST.get("reason", ""))
            messages.success(request, _("%(reference)s withdrawn: it will not be sent.") % {
                "reference": letter.reference})
        except approval.ApprovalError as exc:
            messages.error(request, exc.message)
        return _letter_page(letter)
