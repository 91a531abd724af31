"""Print runs in the admin: what waits for print, the runs sent, their merged PDF and manifest."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...delivery.base import get_channel
from ...models import PrintRun
from ...services import letter_access
from ...services import letters as letter_service
from ...services.printing import PRINT, build_print_run, waiting_for_print


def may_print(user):
    return letter_access.may_list_letters(user)


def may_download_runs(user):
    # A run's merged PDF holds the letters of every department.
    return user.is_active and user.has_perm(letter_access.VIEW_ALL_LETTERS)


class PrintRunIndexView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_correspondence/letters/print_runs.html"
    page_title = gettext_lazy("Print runs")
    header_icon = "doc-full-inverse"

    def dispatch(self, request, *args, **kwargs):
        if not may_print(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update({"runs": PrintRun.objects.all()[:50], "waiting": waiting_for_print().count(),
                        "can_send": letter_service.can_build_letters(self.request.user),
                        "can_download": may_download_runs(self.request.user)})
        return context

    def post(self, request):
        if not letter_service.can_build_letters(request.user):
            raise PermissionDenied
        try:
            run = build_print_run(user=request.user)
        except (OSError, ValueError) as exc:
            messages.error(request, _("The print run failed; the letters wait for the next one: %(error)s") % {
                "error": exc})
        else:
            if run is None:
                messages.info(request, _("No letter is waiting for print."))
            else:
                messages.success(request, _("Print run of %(count)s letters written.") % {"count": run.letter_count})
        return redirect(reverse("wagtail_correspondence_letters:print_runs"))


class PrintRunFileView(View):
    def get(self, request, pk, kind):
        if not may_download_runs(request.user):
            raise PermissionDenied
        run = get_object_or_404(PrintRun, pk=pk)
        path = {"pdf": run.pdf_path, "manifest": run.manifest_path}.get(kind)
        if path is None:
            raise Http404
        storage = storages[get_channel(PRINT).storage_alias]
        return FileResponse(storage.open(path, "rb"), as_attachment=True, filename=path.rsplit("/", 1)[-1])
