"""Public portal pages. The signed link is the only key: every response is marked no-store
and same-origin referrer so the link does not end up in caches or other sites' logs. Every
response carries the portal's Content-Security-Policy (no script at all), and the letter is
shown in a sandboxed frame under the policy for rendered content (content_security.py)."""

import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from ..conf import UI_LANGUAGES, get_setting
from ..content_security import framed_document, with_policy
from ..delivery.portal_tokens import ExpiredLink, InvalidLink, read_token
from ..models import PortalResponse
from ..services import portal as service
from ..services.letters import LetterIntegrityError, verified_pdf
from ..uploads import content_name

# Each reply becomes an entry in the register, routed to someone: whoever holds a link (it
# may have been forwarded) cannot flood the register through it.
MAX_REPLIES_PER_LETTER = 20


class ReplyForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Your reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))
    attachment = forms.FileField(label=gettext_lazy("Attachment (PDF, PNG or JPEG)"), required=False)

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        self.attachment_sha256 = ""
        if upload:
            content, content_type, _extension = service.check_upload(upload)  # ValidationError on the field
            upload.seek(0)
            # Named after what it is: a PDF sent as "receipt.exe" is kept as "receipt.pdf".
            upload.name = content_name(upload.name, content_type)
            self.attachment_sha256 = hashlib.sha256(content).hexdigest()
        return upload

    def is_repeat_of(self, replies):
        """The same reply sent again (a double click, a resent form, a replayed request)."""
        return any(reply.text == self.cleaned_data["text"] and reply.attachment_sha256 == self.attachment_sha256
                   for reply in replies)


def private(response):
    response["Cache-Control"] = "no-store"
    # Never to other sites. ("no-referrer" makes browsers send "Origin: null" with the forms,
    # which Django's CSRF check rightly refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return with_policy(response, "PORTAL")


class PortalView(View):
    """The portal speaks the letter's language (the customer's); a link that leads to no letter
    is answered in the browser's language among those the product speaks."""

    def dispatch(self, request, token, *args, **kwargs):
        try:
            self.portal_dispatch = read_token(token)
        except (ExpiredLink, InvalidLink) as error:
            expired = isinstance(error, ExpiredLink)
            with translation.override(browser_language(request)):
                return private(in_language(TemplateResponse(request, "wagtail_correspondence/portal/invalid.html", {
                    "expired": expired, "days": get_setting("PORTAL")["LINK_MAX_AGE_DAYS"],
                    "organisation": get_setting("ORGANISATION_NAME")}, status=410 if expired else 403)))
        self.letter = self.portal_dispatch.letter
        self.token = token
        with translation.override(portal_language(self.letter.language)):
            return private(in_language(super().dispatch(request, *args, **kwargs)))


def portal_language(code):
    """The product's language for ``code`` (``nl-be`` → ``nl``), else the site's."""
    return spoken_language(code) or settings.LANGUAGE_CODE


def browser_language(request):
    accepted = translation.trans_real.parse_accept_lang_header(request.headers.get("Accept-Language", ""))
    return next(filter(None, (spoken_language(code) for code, _quality in accepted)), settings.LANGUAGE_CODE)


def spoken_language(code):
    code = (code or "").lower()
    return next((candidate for candidate in (code, code.split("-")[0]) if candidate in UI_LANGUAGES), None)


def in_language(response):
    """Rendered now, in the active language (a TemplateResponse would render after the view,
    in whatever language is active then), and labelled with it."""
    if hasattr(response, "render") and not response.is_rendered:
        response.render()
    response["Content-Language"] = translation.get_language()
    return response


class PortalLetterView(PortalView):
    def render(self, form=None, status=200):
        return TemplateResponse(self.request, "wagtail_correspondence/portal/letter.html", {
            "letter": self.letter, "token": self.token, "form": form or ReplyForm(),
            "letter_document": framed_document(self.letter.html, title=self.letter.subject),
            "acknowledged": self.letter.portal_responses.filter(kind=PortalResponse.ACKNOWLEDGEMENT).exists(),
            "replies": self.letter.portal_responses.filter(kind=PortalResponse.REPLY),
            "organisation": get_setting("ORGANISATION_NAME"),
        }, status=status)

    def get(self, request):
        service.open_letter(self.portal_dispatch)
        return self.render()

    def post(self, request):
        if request.POST.get("action") == "acknowledge":
            service.acknowledge(self.portal_dispatch)
            messages.success(request, _("Thank you: we have recorded that you received this letter."))
            return redirect(request.path)
        form = ReplyForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form, status=400)
        replies = list(self.letter.portal_responses.filter(kind=PortalResponse.REPLY))
        if not form.is_repeat_of(replies):  # a repeat has reached us already: recorded once
            if len(replies) >= MAX_REPLIES_PER_LETTER:
                form.add_error("text", _("This letter has received as many replies as it can take. Please "
                                         "contact us another way."))
                return self.render(form, status=429)
            service.reply(self.portal_dispatch, form.cleaned_data["text"], form.cleaned_data.get("attachment"))
        messages.success(request, _("Thank you: your reply has reached us."))
        return redirect(request.path)


class PortalPdfView(PortalView):
    def get(self, request):
        try:
            content = verified_pdf(self.letter)
        except LetterIntegrityError:
            return HttpResponse(_("This letter cannot be shown right now. Please contact us."), status=503)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{self.letter.reference}.pdf"'
        return response
