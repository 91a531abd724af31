"""The Exports page: the user's own background exports of the register (services/register_exports.py),
their progress while a worker writes them, and their files once written."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...conf import get_setting
from ...services import register_access, register_exports

# The newest exports shown; older ones stay as records (their files are long deleted).
SHOWN = 50


def _require_export_permission(user):
    if not register_access.can_export(user):
        raise PermissionDenied


class ExportListView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_correspondence/register/exports.html"
    page_title = gettext_lazy("Exports")
    header_icon = "download"

    def dispatch(self, request, *args, **kwargs):
        _require_export_permission(request.user)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        exports = list(register_exports.exports_of(self.request.user)[:SHOWN])
        context.update({"exports": exports, "any_active": any(export.is_active for export in exports),
                        "keep_hours": get_setting("REGISTER")["EXPORT_KEEP_HOURS"],
                        "inline_limit": register_exports.inline_limit()})
        return context


def progress_view(request):
    """The progress of the user's exports still being written, for the page to follow."""
    _require_export_permission(request.user)
    exports = register_exports.exports_of(request.user)[:SHOWN]
    return JsonResponse({"exports": [export.progress() for export in exports]})


def download_view(request, pk):
    export = get_object_or_404(register_exports.exports_of(request.user), pk=pk)
    try:
        chunks = register_exports.open_download(request.user, export)
    except register_exports.ExportUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("wagtail_correspondence_register:exports")
    response = StreamingHttpResponse(chunks, content_type=register_exports.CONTENT_TYPES[export.format])
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    response["Content-Length"] = str(export.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["X-Content-SHA256"] = export.sha256
    return response
