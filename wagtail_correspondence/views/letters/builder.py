"""The letter builder: choose a template, load customer data, fill the slots, preview live,
save a draft or generate. Views are thin over ``services.letters``."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...content_security import framed_document, uses_policy, without_inline_script
from ...customers import CustomerNotFound, get_customer_source
from ...models import Letter, LetterTemplatePage, TemplateFolderPage
from ...services import letters as service
from ...services.customer_records import read_customer_record
from ...services.letters import deep_merge
from ...services.register_links import reply_target
from .forms import BASED_ON_PREFIX, LetterBuilderForm, tailoring_initial

URL_NAMESPACE = "wagtail_correspondence_letters"


def letters_url(name, *args):
    return reverse(f"{URL_NAMESPACE}:{name}", args=args)


class BuilderPermissionMixin:
    def dispatch(self, request, *args, **kwargs):
        if not service.can_build_letters(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ChooseTemplateView(BuilderPermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """Step 1: pick a published template, by folder or by searching."""

    template_name = "wagtail_correspondence/letters/choose_template.html"
    header_icon = "mail"
    page_title = gettext_lazy("New letter")
    page_subtitle = gettext_lazy("Choose a template")

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": letters_url("index"), "label": _("Letters")},
                                         {"url": "", "label": _("New letter")}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.get("q", "").strip()
        templates = list(service.available_templates())
        if query:
            matches = {page.pk for page in LetterTemplatePage.objects.live().search(query)}
            templates = [page for page in templates if page.pk in matches or query.casefold() in page.title.casefold()]
        folders = {folder.pk: folder for folder in TemplateFolderPage.objects.all()}
        groups = {}
        for template in templates:
            parent = template.get_parent()
            trail = [folder.title for folder in parent.get_ancestors(inclusive=True) if folder.pk in folders]
            groups.setdefault(" / ".join(trail) or _("Templates"), []).append(template)
        # A reply started from a register entry keeps its entry and customer through the choice.
        carry = {name: self.request.GET[name] for name in ("in_reply_to", "customer") if self.request.GET.get(name)}
        labels = dict(service.channel_choices())
        for template in templates:
            template.channel_labels = [str(labels.get(code, code)) for code in template.channels or []]
        context.update({"groups": sorted(groups.items()), "query": query, "carry": urlencode(carry),
                        "carry_fields": sorted(carry.items()), "in_reply_to": carry.get("in_reply_to", "")})
        return context


@method_decorator(without_inline_script, name="dispatch")
class LetterBuilderView(BuilderPermissionMixin, WagtailAdminTemplateMixin, View):
    """Step 2: build a letter from a template (new) or resume a draft."""

    reports_deep_json = True  # the form names the field inline (middleware.py)

    template_name = "wagtail_correspondence/letters/builder.html"
    header_icon = "mail"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.letter = None
        if "pk" in kwargs:
            self.letter = get_object_or_404(Letter.objects.select_related("template"), pk=kwargs["pk"])
            self.template = self.letter.template.specific
        else:
            self.template = get_object_or_404(service.available_templates(), pk=kwargs["template_id"])

    def dispatch(self, request, *args, **kwargs):
        if self.letter is not None and self.letter.status not in service.EDITABLE_STATUSES:
            return redirect(letters_url("inspect", self.letter.pk))
        if self.letter is not None and not service.can_edit_draft(request.user, self.letter):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return str(self.letter) if self.letter else _("New letter")

    def get_page_subtitle(self):
        return self.template.title

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": letters_url("index"), "label": _("Letters")},
                                         {"url": letters_url("add"), "label": _("New letter")},
                                         {"url": "", "label": self.template.title}]

    def draft_values(self):
        """The form's starting values: the draft's data with the customer record read afresh."""
        if self.letter is None:
            return self.reply_values()
        record = {}
        if self.letter.customer_id:
            try:
                record = self.customer_record(self.letter.customer_id)
            except CustomerNotFound:
                record = {}
        values = deep_merge(record, self.letter.data_overrides or {})
        initial = {"customer_id": self.letter.customer_id,
                   "channel": self.letter.channel or service.default_channel(self.template, values),
                   "language": self.letter.language_requested,
                   "in_reply_to": self.letter.in_reply_to.reference if self.letter.in_reply_to_id else ""}
        for name, text in (self.letter.slot_values or {}).items():
            initial[f"slot:{name}"] = text
        if self.letter.enclosure_keys is not None:
            initial["enclosures"] = list(self.letter.enclosure_keys)
        initial.update(tailoring_initial(self.template, self.letter.fragment_edits, self.letter.zone_choices))
        if self.letter.optional_fragments is not None:
            for group in self.template.optional_groups():
                initial[f"optional:{group['name']}"] = group["name"] in self.letter.optional_fragments
        return values, initial

    def reply_values(self):
        """A new letter opened from a register entry: its customer and the entry it answers."""
        customer_id = self.request.GET.get("customer", "")
        record = {}
        if customer_id:
            try:
                record = self.customer_record(customer_id)
            except CustomerNotFound:
                customer_id = ""
        # The customer's preferred channel, as when the agent picks the customer in the builder.
        channel = service.default_channel(self.template, record) if record else ""
        return record, {"customer_id": customer_id, "channel": channel,
                        "in_reply_to": self.request.GET.get("in_reply_to", "")}

    def customer_record(self, customer_id):
        """The record the builder shows: a read when the page is opened (GET); a post only
        checks the form against a record the agent has on screen already."""
        if self.request.method == "GET":
            return read_customer_record(self.request.user, customer_id, via="admin")
        return get_customer_source().get(customer_id)

    def get_form(self, data=None):
        values, initial = self.draft_values()
        return LetterBuilderForm(data, template=self.template, values=values, initial=initial)

    def reply_entry(self, form):
        """The register entry the letter answers, shown above the form, and why not when the
        user may not see it (or it does not exist)."""
        try:
            return reply_target(self.request.user, form["in_reply_to"].value()), []
        except ValidationError as exc:
            return None, exc.message_dict["in_reply_to"]

    def render(self, form, problems=None, status=200):
        reply_entry, reply_errors = self.reply_entry(form)
        context = self.get_context_data(form=form, problems=problems or [], letter=self.letter,
                                        reply_entry=reply_entry, reply_errors=form.errors.get("in_reply_to")
                                        or reply_errors,
                                        template=self.template, preview_url=letters_url("preview", self.template.pk),
                                        pdf_preview_url=letters_url("preview_pdf", self.template.pk),
                                        customer_search_url=letters_url("customer_search"),
                                        customer_record_url=letters_url("customer_record", "__id__"))
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render(form, status=400)
        letter_request = form.letter_request()
        try:
            letter_request.in_reply_to = reply_target(request.user, form.cleaned_data.get("in_reply_to"))
        except ValidationError as exc:
            form.add_error("in_reply_to", exc.message_dict["in_reply_to"])
            return self.render(form, status=400)
        try:
            if request.POST.get("action") == "generate":
                letter = service.generate_letter(request.user, letter_request, draft=self.letter,
                                                 idempotency_key=form.cleaned_data.get("idempotency_key") or None)
                if letter.is_awaiting_approval:
                    messages.warning(request, _("Letter %(reference)s is waiting for a second person to approve it "
                                                "(%(reasons)s). It will be sent once approved.") % {
                        "reference": letter.reference, "reasons": "; ".join(letter.approval_reasons)})
                else:
                    messages.success(request, _("Letter %(reference)s generated.") % {"reference": letter.reference})
                return redirect(letters_url("inspect", letter.pk))
            letter = service.save_draft(request.user, letter_request, self.letter)
        except service.LetterError as exc:
            messages.error(request, _("The letter cannot be generated yet: %(count)s problem(s) to fix.") % {
                "count": len(exc.problems)})
            # An edit made on approved wording that changed since: the agent has been told, and
            # what they submit next is based on the wording they now see.
            stale = form.stale_edits()
            if stale:
                form.data = form.data.copy()
                for name, revision in stale:
                    form.data[f"{BASED_ON_PREFIX}{name}"] = revision
            return self.render(form, problems=exc.problems, status=400)
        except service.IdempotencyConflict as exc:
            messages.error(request, str(exc))
            return self.render(form, status=409)
        if letter.is_returned:
            messages.success(request, _("Changes saved. Submit the letter again when it is ready."))
            return redirect(letters_url("edit", letter.pk))
        messages.success(request, _("Draft saved. You can resume it from the letters list."))
        return redirect(letters_url("edit", letter.pk))


class PreviewMixin(BuilderPermissionMixin):
    reports_deep_json = True  # in the preview's own answer (middleware.py)

    def letter_request_or_errors(self, request, template_id):
        template = get_object_or_404(service.available_templates(), pk=template_id)
        form = LetterBuilderForm(request.POST, template=template)
        if not form.is_valid():
            return None, form
        letter_request = form.letter_request()
        # The preview quotes the entry being answered, exactly as the generated letter will.
        try:
            letter_request.in_reply_to = reply_target(request.user, form.cleaned_data.get("in_reply_to"))
        except ValidationError as exc:
            form.add_error("in_reply_to", exc.message_dict["in_reply_to"])
            return None, form
        return letter_request, form


@method_decorator(uses_policy("RENDERED"), name="dispatch")
class LetterPreviewView(PreviewMixin, View):
    """The live preview: the builder posts its form here as fields change. The builder shows
    ``frames`` (the letter and the email as documents for its sandboxed frame, each with the
    frame's own policy first); the answer itself carries the policy for rendered content."""

    def post(self, request, template_id):
        letter_request, form = self.letter_request_or_errors(request, template_id)
        if letter_request is None:
            return JsonResponse({"can_generate": False, "missing": [
                {"field": name, "message": " ".join(errors), "kind": "form"} for name, errors in form.errors.items()]},
                status=400)
        try:
            letter = service.preview_letter(request.user, letter_request)
        except service.LetterError as exc:
            return JsonResponse({"can_generate": False, "missing": [p.as_dict() for p in exc.problems]}, status=400)
        payload = service.preview_payload(letter)
        payload["frames"] = {"print": framed_document(payload["html"], title=payload["subject"]) if payload["html"] else "",
                             "email": framed_document(payload["email"]["html"], title=payload["email"]["subject"])
                             if payload["email"]["html"] else ""}
        return JsonResponse(payload)


class LetterPdfPreviewView(PreviewMixin, View):
    def post(self, request, template_id):
        letter_request, _form = self.letter_request_or_errors(request, template_id)
        if letter_request is None:
            return HttpResponse(_("The form has errors; fix them in the builder."), status=400,
                                content_type="text/plain; charset=utf-8")
        try:
            pdf = service.preview_pdf(request.user, letter_request)
        except service.LetterError as exc:
            return HttpResponse("\n".join(f"{p.field}: {p.message}" for p in exc.problems), status=400,
                                content_type="text/plain; charset=utf-8")
        response = HttpResponse(pdf.content, content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="preview.pdf"'
        return response


class CustomerSearchView(BuilderPermissionMixin, View):
    def get(self, request):
        results = get_customer_source().search(request.GET.get("q", ""), limit=15)
        return JsonResponse({"results": results})


class CustomerRecordView(BuilderPermissionMixin, View):
    """The record the builder loads when the agent chooses a customer; each read is logged."""

    def get(self, request, customer_id):
        try:
            return JsonResponse({"record": read_customer_record(request.user, customer_id, via="admin")})
        except CustomerNotFound:
            raise Http404 from None


class DiscardDraftView(BuilderPermissionMixin, View):
    def post(self, request, pk):
        letter = get_object_or_404(Letter, pk=pk)
        service.discard_draft(request.user, letter)
        messages.success(request, _("Draft discarded."))
        return redirect(letters_url("index"))


__all__ = ["ChooseTemplateView", "LetterBuilderView", "LetterPreviewView", "LetterPdfPreviewView",
           "CustomerSearchView", "CustomerRecordView", "LetterTemplatePage"]
