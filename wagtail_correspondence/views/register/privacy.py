"""Privacy in the register admin: the subject access export (a form that downloads the ZIP).
The legal hold form on the entry page is an entry action in entries.py."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...services import subject_access


class SubjectAccessForm(forms.Form):
    customer_id = forms.CharField(label=gettext_lazy("Customer number"), max_length=100,
                                  help_text=gettext_lazy("Exactly as register entries and letters carry it"))


class SubjectAccessView(WagtailAdminTemplateMixin, FormView):
    """Everything held about one customer, as a ZIP. A legal disclosure: it ignores
    department scope, needs its own permission and is audited."""

    template_name = "wagtail_correspondence/register/subject_access.html"
    form_class = SubjectAccessForm
    page_title = gettext_lazy("Subject access export")
    header_icon = "download"

    def get_breadcrumbs_items(self):
        # Wagtail's slim header shows the breadcrumbs, not page_title: without this it reads "Home".
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def dispatch(self, request, *args, **kwargs):
        if not subject_access.can_export_subject_access(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        customer_id = form.cleaned_data["customer_id"].strip()
        try:
            content = subject_access.export_subject(customer_id, self.request.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
            return self.form_invalid(form)
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="{subject_access.export_filename(customer_id)}"')
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response

    def form_invalid(self, form):
        messages.error(self.request, gettext_lazy("Check the customer number."))
        return super().form_invalid(form)
