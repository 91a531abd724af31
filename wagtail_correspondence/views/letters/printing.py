"""Print runs in the admin: what waits for print, the button that sends it (a background
task), a run's progress, and the runs' merged PDF and manifest."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...delivery.base import get_channel
from ...models import PrintRun
from ...permissions.letters import print_run_policy
from ...services import letter_access
from ...services.printing import PRINT, can_send_print_runs, start_print_run, waiting_for_print


def may_print(user):
    return letter_access.may_list_letters(user) or can_send_print_runs(user)


def may_download_runs(user):
    # A run's merged PDF holds the letters of every department.
    return user.is_active and user.has_perm(letter_access.VIEW_ALL_LETTERS)


def runs_url(name="print_runs", *args):
    return reverse(f"wagtail_correspondence_letters:{name}", args=args)


class PrintRunIndexView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_correspondence/letters/print_runs.html"
    page_title = gettext_lazy("Print runs")
    header_icon = "doc-full-inverse"

    def dispatch(self, request, *args, **kwargs):
        if not may_print(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({"runs": PrintRun.objects.select_related("created_by")[:50],
                        "waiting": waiting_for_print().count(),
                        "can_send": can_send_print_runs(self.request.user),
                        "can_open": print_run_policy.user_has_permission(self.request.user, "view"),
                        "can_download": may_download_runs(self.request.user)})
        return context

    def post(self, request):
        if not can_send_print_runs(request.user):
            raise PermissionDenied
        run = start_print_run(user=request.user)
        if run is None:
            messages.info(request, _("No letter is waiting for print."))
            return redirect(runs_url())
        messages.success(request, ngettext(
            "Print run of %(count)s letter started: it is being merged.",
            "Print run of %(count)s letters started: they are being merged.", run.letter_count) % {
            "count": run.letter_count})
        if print_run_policy.user_has_permission(request.user, "view"):
            return redirect(runs_url("print_run", run.pk))
        return redirect(runs_url())


class PrintRunDetailView(WagtailAdminTemplateMixin, TemplateView):
    """One run: its status and progress while a worker merges it, then its files."""

    template_name = "wagtail_correspondence/letters/print_run.html"
    header_icon = "doc-full-inverse"

    def dispatch(self, request, pk, *args, **kwargs):
        self.run = get_object_or_404(PrintRun.objects.select_related("created_by"), pk=pk)
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Print run of %(date)s") % {
            "date": date_format(timezone.localtime(self.run.created_at), "SHORT_DATETIME_FORMAT")}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": runs_url(), "label": _("Print runs")},
                                         {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({"run": self.run, "progress": self.run.progress(),
                        "progress_url": runs_url("print_run_progress", self.run.pk),
                        "can_download": may_download_runs(self.request.user)})
        return context


class PrintRunProgressView(View):
    def get(self, request, pk):
        run = get_object_or_404(PrintRun, pk=pk)
        return JsonResponse(run.progress())


class PrintRunFileView(View):
    def get(self, request, pk, kind):
        if not may_download_runs(request.user):
            raise PermissionDenied
        run = get_object_or_404(PrintRun, pk=pk)
        path = {"pdf": run.pdf_path, "manifest": run.manifest_path}.get(kind)
        if not path:  # an unknown kind, or a run whose files are not written yet
            raise Http404
        storage = storages[get_channel(PRINT).storage_alias]
        return FileResponse(storage.open(path, "rb"), as_attachment=True, filename=path.rsplit("/", 1)[-1])
