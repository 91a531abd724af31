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
        if letter.is_generated and letter.pdf:
            pdf_url = reverse("wagtail_correspondence_letters:pdf", args=[letter.pk])
            buttons.append(HeaderButton(_("Download PDF"), url=pdf_url, icon_name="download"))
        elif service.can_edit_draft(self.request.user, letter):
            edit_url = reverse("wagtail_correspondence_letters:edit", args=[letter.pk])
            buttons.append(HeaderButton(_("Continue editing"), url=edit_url, icon_name="edit"))
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
        # A sealed letter's seal is checked on every view (a few milliseconds): the page says
        # whether the kept PDF is still the one sealed.
        context["pdf_check"] = service.check_letter_pdf(letter) if letter.pdf_sealed_by and letter.pdf else None
        context["history"] = log_registry.get_logs_for_instance(letter).select_related("user")[:20]
        context["responses"] = letter.portal_responses.all()
        # Shown in a sandboxed frame, under the frame's own policy (content_security.py).
        context["letter_document"] = framed_document(letter.html, title=letter.reference) if letter.html else ""
        context["pdf_url"] = reverse("wagtail_correspondence_letters:pdf", args=[letter.pk]) if (
            letter.is_generated and letter.pdf) else ""
        return context


@method_decorator(xframe_options_sameorigin, name="dispatch")
class LetterPdfView(View):
    """The PDF, checked against its SHA-256, for users who may see the letter. Audited.
    Framed by the letter's own page, hence same-origin framing."""

    def get(self, request, pk):
        letter = get_object_or_404(Letter, pk=pk)
        if not letter.is_generated or not letter.pdf:
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
