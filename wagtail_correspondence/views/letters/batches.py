"""Batches in the admin: upload a file for a template, read the dry-run report, start the
run, follow its progress, and resume it if its worker stopped. Thin views over
``services.batches``."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.mixins import Echo

from ...conf import get_setting
from ...exports import formula_safe_csv_writer
from ...models import BatchLease, BatchStatus, LetterBatch
from ...services import batch_leases
from ...services import batches as service
from ...services import letter_access
from ...services import letters as letter_service
from .builder import BuilderPermissionMixin
from .printing import may_download_runs


def batch_url(name, *args):
    return reverse(f"wagtail_correspondence_letters:{name}", args=args)


def visible_batches(user):
    return letter_access.visible_batches(user, LetterBatch.objects.select_related("template", "created_by"))


class BatchForm(forms.Form):
    template = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Template"))
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy(
        "CSV (columns: customer_id, data fields such as balance or customer.address.city, slot.<name>, channel) "
        "or JSON Lines ({\"customer_id\", \"data\", \"slots\", \"channel\"} per line)"))
    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=200)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = letter_service.available_templates()
        self.fields["channel"].choices = [("", _("Each customer's preferred channel"))] + list(
            get_setting("CHANNELS"))


class BatchMixin(WagtailAdminTemplateMixin):
    header_icon = "mail"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": batch_url("index"), "label": _("Letters")},
                                         {"url": batch_url("batches"), "label": _("Batches")},
                                         {"url": "", "label": self.get_page_title()}]


class BatchIndexView(BatchMixin, TemplateView):
    template_name = "wagtail_correspondence/letters/batches/index.html"
    page_title = gettext_lazy("Batches")

    def dispatch(self, request, *args, **kwargs):
        if not letter_access.may_list_letters(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["batches"] = visible_batches(self.request.user)[:100]
        context["can_create"] = letter_service.can_build_letters(self.request.user)
        return context


class BatchCreateView(BuilderPermissionMixin, BatchMixin, FormView):
    template_name = "wagtail_correspondence/letters/batches/create.html"
    form_class = BatchForm
    page_title = gettext_lazy("New batch")

    def form_valid(self, form):
        try:
            batch = service.create_batch(self.request.user, form.cleaned_data["template"].specific,
                                         form.cleaned_data["file"], name=form.cleaned_data["name"],
                                         channel=form.cleaned_data["channel"])
        except service.BatchFileError as exc:
            form.add_error("file", str(exc))
            return self.form_invalid(form)
        messages.success(self.request, _("Batch uploaded: checking %(count)s rows.") % {"count": batch.total_rows})
        return redirect(batch_url("batch", batch.pk))


def worker_text(batch, worker, now=None):
    """The batch's worker in words for the page: whether someone is working on it, or since
    when nobody is. Worker ids and task ids are for the API and the logs."""
    state = worker["state"]
    if state == batch_leases.Liveness.ALIVE.value and worker["worker"]:
        return _("A worker is on it: last progress %(ago)s ago.") % {"ago": timesince(worker["renewed_at"], now)}
    if state == batch_leases.Liveness.ALIVE.value:
        return _("Queued: waiting for a worker to pick it up.")
    if state == batch_leases.Liveness.QUEUED.value:
        return _("Waiting in the task queue: is a worker running?")
    if state == batch_leases.Liveness.STALE.value and worker["renewed_at"]:
        return _("Stalled since %(when)s (no progress for %(ago)s): its worker has stopped. The batch is resumed "
                 "automatically; you can also resume it now.") % {
            "when": date_format(localtime(worker["renewed_at"]), "SHORT_DATETIME_FORMAT"),
            "ago": timesince(worker["renewed_at"], now)}
    if state == batch_leases.Liveness.STALE.value:
        return _("No worker has picked it up: it is resumed automatically; you can also resume it now.")
    return ""


def progress_text(batch, progress):
    if batch.status == BatchStatus.CHECKING:
        return _("Dry run: %(checked)s of %(total)s rows checked (%(percent)s%%)") % progress
    return _("%(generated)s generated, %(errors)s with errors, of %(total)s rows (%(percent)s%%)") % progress


class BatchDetailView(BatchMixin, TemplateView):
    template_name = "wagtail_correspondence/letters/batches/detail.html"

    def dispatch(self, request, *args, **kwargs):
        self.batch = get_object_or_404(visible_batches(request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return str(self.batch)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        owner = self.batch.created_by_id == self.request.user.pk or self.request.user.is_superuser
        worker = batch_leases.describe(self.batch, BatchLease.objects.filter(batch=self.batch).first())
        stuck = self.batch.status == BatchStatus.FAILED or (
            self.batch.status in batch_leases.ACTIVE and worker["state"] == batch_leases.Liveness.STALE.value)
        progress = self.batch.progress()
        finished = self.batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED, BatchStatus.FAILED)
        context.update({
            "batch": self.batch, "progress": progress, "report": self.batch.report,
            "progress_text": progress_text(self.batch, progress), "worker_text": worker_text(self.batch, worker),
            "finished": finished,
            "letters_url": batch_letters_url(self.batch) if progress["generated"] else "",
            "results_url": batch_url("batch_results", self.batch.pk),
            "print_runs": list(service.batch_print_runs(self.batch)[:20]),
            "waiting_for_print": service.waiting_for_print(self.batch).count(),
            "print_runs_url": batch_url("print_runs"),
            "can_download_runs": may_download_runs(self.request.user),
            "can_start": owner and self.batch.status == BatchStatus.CHECKED,
            "can_cancel": owner and self.batch.status in (BatchStatus.CHECKED, BatchStatus.RUNNING),
            "can_resume": owner and letter_service.can_build_letters(self.request.user) and stuck,
            "worker": worker, "stuck": stuck,
            "unknown_outcomes": service.unknown_outcomes(self.batch).count(),
            "void_references": list(self.batch.void_references.order_by("reference")[:200]),
            "void_count": self.batch.void_references.count(),
            "progress_url": batch_url("batch_progress", self.batch.pk),
            "in_progress": self.batch.status in (BatchStatus.CHECKING, BatchStatus.RUNNING),
        })
        return context


def batch_letters_url(batch):
    """The letter list, filtered to the batch's letters."""
    return batch_url("index") + "?" + urlencode({"batch": batch.pk})


class BatchProgressView(View):
    def get(self, request, pk):
        batch = get_object_or_404(visible_batches(request.user), pk=pk)
        progress = batch.progress()
        worker = batch_leases.describe(batch, BatchLease.objects.filter(batch=batch).first())
        return JsonResponse({"status": batch.status, "status_display": batch.get_status_display(), **progress,
                             "text": progress_text(batch, progress), "worker_text": worker_text(batch, worker)})


class BatchResultsView(View):
    """Every row's outcome as CSV (formula-safe): status, reference, the channel planned and
    why, the channel taken and its delivery, the print run, the errors."""

    def get(self, request, pk):
        batch = get_object_or_404(visible_batches(request.user), pk=pk)
        writer = formula_safe_csv_writer(Echo(), service.RESULT_COLUMNS)

        def lines():
            yield writer.writerow({column: column for column in service.RESULT_COLUMNS})
            for row in service.result_rows(batch):
                yield writer.writerow(row)

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-results.csv"'
        return response


class BatchActionView(BuilderPermissionMixin, View):
    """A button on the batch page: one service operation, its success message, back to the
    page. A refusal the service explains (ValueError) is shown as it says."""

    operation = None  # staticmethod(a function of services.batches taking (user, batch))
    success_message = ""

    def post(self, request, pk):
        batch = get_object_or_404(visible_batches(request.user), pk=pk)
        try:
            self.operation(request.user, batch)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, self.success_message)
        return redirect(batch_url("batch", batch.pk))


class BatchStartView(BatchActionView):
    operation = staticmethod(service.start_batch)
    success_message = gettext_lazy("Batch started.")


class BatchResumeView(BatchActionView):
    """Put a batch whose worker stopped back to work; refused, with the reason, while it is alive."""

    operation = staticmethod(service.resume_batch)
    success_message = gettext_lazy("Batch resumed: a worker picks it up where it stopped.")


class BatchCancelView(BatchActionView):
    operation = staticmethod(service.cancel_batch)
    success_message = gettext_lazy("Batch cancelled; letters already generated stay.")
