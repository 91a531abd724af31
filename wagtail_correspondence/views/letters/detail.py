"""A letter's page: what it is, what it was built from, its PDF and its history."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from wagtail.admin.views import generic
from wagtail.admin.widgets import HeaderButton
from wagtail.log_actions import log
from wagtail.log_actions import registry as log_registry

from ... import log_actions
from ...content_security import framed_document, without_inline_script
from ...models import Letter
from ...services import letter_approval as approval
from ...services import letters as service
from ...services.register_access import visible_entries


def _url(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@method_decorator(without_inline_script, name="dispatch")
class LetterInspectView(generic.InspectView):
    template_name = "wagtail_correspondence/letters/inspect.html"

    def get_page_title(self):
        return _("Letter")

    def get_object(self, queryset=None):
        letter = super().get_object(queryset)
        if not service.can_view_letter(self.request.user, letter):
            raise PermissionDenied
        return letter

    @property
    def header_buttons(self):
        letter = self.object
        buttons = []
        if service.can_edit_draft(self.request.user, letter):
            edit_url = reverse("wagtail_correspondence_letters:edit", args=[letter.pk])
            label = _("Change and submit again") if letter.is_returned else _("Continue editing")
            buttons.append(HeaderButton(label, url=edit_url, icon_name="edit"))
        if letter.has_output and letter.pdf:
            pdf_url = reverse("wagtail_correspondence_letters:pdf", args=[letter.pk])
            buttons.append(HeaderButton(_("Download PDF"), url=pdf_url, icon_name="download"))
        return buttons

    def get_fields(self):
        return []  # the template lays the letter out itself

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        letter = self.object
        user = self.request.user
        log(letter, log_actions.LETTER_VIEWED, user=user, data={"reference": letter.reference, "via": "admin"})
        template = letter.template
        # The letter's register entry, when the user may see it.
        context["register_entry"] = visible_entries(user).filter(letter=letter).select_related(
            "in_reply_to").first()
        context["template_url"] = _url("wagtailadmin_pages:edit", template.pk) if user.has_perm(
            "wagtailcore.change_page") or template.permissions_for_user(user).can_edit() else ""
        if letter.template_revision_id and context["template_url"]:
            context["template_revision_url"] = _url("wagtailadmin_pages:revisions_view", template.pk,
                                                    letter.template_revision_id)
        pins = []
        can_view_fragments = user.has_perm("wagtail_correspondence.change_fragment") or user.has_perm(
            "wagtail_correspondence.publish_fragment")
        for pin in letter.pinned_fragments:
            revision_url = _url("wagtailsnippets_wagtail_correspondence_fragment:revisions_view", pin.fragment_id,
                                pin.revision_id) if can_view_fragments else ""
            pins.append({"pin": pin, "url": revision_url, "current": pin.revision_id == pin.fragment.live_revision_id})
        context["pins"] = pins
        context["enclosure_pins"] = letter.enclosure_pins.select_related("enclosure").order_by("position")
        # A sealed letter's seal is checked on every view (a few milliseconds): the page says
        # whether the kept PDF is still the one sealed.
        context["pdf_check"] = service.check_letter_pdf(letter) if letter.pdf_sealed_by and letter.pdf else None
        context["history"] = log_registry.get_logs_for_instance(letter).select_related("user")[:20]
        context["responses"] = letter.portal_responses.all()
        # Shown in a sandboxed frame, under the frame's own policy (content_security.py).
        context["letter_document"] = framed_document(letter.html, title=letter.reference) if letter.html else ""
        context["pdf_url"] = reverse("wagtail_correspondence_letters:pdf", args=[letter.pk]) if (
            letter.has_output and letter.pdf) else ""
        context["approval"] = self.approval_context(letter, user)
        # What the agent changed in approved wording, as a redline (the letter re-rendered from
        # its record: only for letters that have edits).
        context["tailoring"] = service.letter_tailoring(letter)
        return context

    def approval_context(self, letter, user):
        """What the page says of the letter's approval, and what this user may do about it."""
        if not (letter.approval_reasons or letter.approved_by_id or letter.status in approval.AWAITING_STATUSES):
            return None
        may_decide = letter.is_awaiting_approval and approval.can_approve(user, letter)
        template = letter.template.specific
        # The approver reads what the agent wrote themselves apart from the approved wording.
        written = [(slot["label"], letter.slot_values.get(slot["name"])) for slot in template.slots()
                   if (letter.slot_values or {}).get(slot["name"], "").strip()] if may_decide else []
        return {
            "reasons": letter.approval_reasons,
            "may_decide": may_decide,
            "decide_url": reverse("wagtail_correspondence_letters:decide", args=[letter.pk]),
            "may_withdraw": approval.can_withdraw(user, letter),
            "withdraw_url": reverse("wagtail_correspondence_letters:withdraw", args=[letter.pk]),
            "own_letter": letter.is_awaiting_approval and user.pk in (letter.created_by_id, letter.generated_by_id),
            "withdrawn_content": approval.withdrawn_content(letter) if may_decide else [],
            "agent_text": written,
        }


@method_decorator(xframe_options_sameorigin, name="dispatch")
class LetterPdfView(View):
    """The PDF, checked against its SHA-256, for users who may see the letter. Audited.
    Framed by the letter's own page, hence same-origin framing."""

    def get(self, request, pk):
        letter = get_object_or_404(Letter, pk=pk)
        if not letter.has_output or not letter.pdf:
            return HttpResponse(_("This letter has no PDF yet."), status=404, content_type="text/plain")
        inline = bool(request.GET.get("inline"))
        try:
            content = service.read_pdf(request.user, letter, inline=inline)
        except service.LetterIntegrityError as exc:
            return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
        response = HttpResponse(content, content_type="application/pdf")
        disposition = "inline" if inline else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{letter.reference}.pdf"'
        response["X-Content-SHA256"] = letter.pdf_sha256
        return response


class PortalAttachmentView(View):
    """A file a customer attached to a reply, for users who may see the letter."""

    def get(self, request, pk):
        import hashlib

        from ...models import PortalResponse

        response = get_object_or_404(PortalResponse.objects.select_related("letter"), pk=pk)
        if not response.attachment or not service.can_view_letter(request.user, response.letter):
            raise PermissionDenied
        with response.attachment.open("rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != response.attachment_sha256:
            return HttpResponse(_("The stored attachment does not match its SHA-256."), status=409)
        reply = HttpResponse(content, content_type=response.attachment_type)
        reply["Content-Disposition"] = f'attachment; filename="reply-{response.uuid}.{response.attachment.name.rsplit(".", 1)[-1]}"'
        reply["X-Content-Type-Options"] = "nosniff"
        return reply
