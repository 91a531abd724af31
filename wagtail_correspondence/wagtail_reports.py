"""Wagtail's own admin reports that export columns, made formula-safe (exports.py): their
cells hold titles and names staff type (a fragment titled ``=HYPERLINK(...)`` by an author
would reach a reviewer's spreadsheet through the workflow report).

Wagtail registers these URLs itself, before any hook could replace them, so a project mounts
``urlpatterns`` under its admin prefix *before* Wagtail's admin URLs::

    path("admin/", include(wagtail_reports.urlpatterns)),
    path("admin/", include(wagtailadmin_urls)),

The reference site does (site/correspondence_site/urls.py). The URL names stay Wagtail's, so
every link Wagtail builds leads here. ``tests/test_exports_formula.py`` fails when a URL of
the site exports columns without the formula-safe mixin.
"""

from django.apps import apps
from django.urls import path
from wagtail.admin.views.reports.aging_pages import AgingPagesView
from wagtail.admin.views.reports.locked_pages import LockedPagesView
from wagtail.admin.views.reports.workflows import WorkflowTasksView, WorkflowView

from .exports import FormulaSafeExportMixin


class FormulaSafeLockedPagesView(FormulaSafeExportMixin, LockedPagesView):
    pass


class FormulaSafeAgingPagesView(FormulaSafeExportMixin, AgingPagesView):
    pass


class FormulaSafeWorkflowView(FormulaSafeExportMixin, WorkflowView):
    pass


class FormulaSafeWorkflowTasksView(FormulaSafeExportMixin, WorkflowTasksView):
    pass


def _listing(route, view_class):
    return [path(route, view_class.as_view()), path(f"{route}results/", view_class.as_view(results_only=True))]


urlpatterns = [
    *_listing("reports/locked/", FormulaSafeLockedPagesView),
    *_listing("reports/aging-pages/", FormulaSafeAgingPagesView),
    *_listing("reports/workflow/", FormulaSafeWorkflowView),
    *_listing("reports/workflow_tasks/", FormulaSafeWorkflowTasksView),
]

if apps.is_installed("wagtail.contrib.redirects"):
    from wagtail.contrib.redirects.views import IndexView as RedirectIndexView

    class FormulaSafeRedirectIndexView(FormulaSafeExportMixin, RedirectIndexView):
        pass

    urlpatterns += _listing("redirects/", FormulaSafeRedirectIndexView)
