"""The audit log for auditors: every log entry of the site (Wagtail's site history report,
unfiltered by content type), exportable as CSV or XLSX, with a check of the hash chain.

Wagtail's own site history shows any admin user the entries of every object type they hold a
permission on, which would show officers the history of register entries outside their scope;
the reference site sends that URL here too (``site/correspondence_site/urls.py``)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, Value
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin.views.reports.audit_logging import LogEntriesView
from wagtail.log_actions import log
from wagtail.log_actions import registry as log_action_registry

from .. import log_actions
from ..exports import FormulaSafeExportMixin
from ..services.audit import AuditChainBroken, AuditUnverifiable, chain_head, verify

VIEW_AUDIT_LOG = "wagtail_correspondence.view_audit_log"


def can_read_audit_log(user):
    return user.is_active and user.has_perm(VIEW_AUDIT_LOG)


class AuditLogView(FormulaSafeExportMixin, LogEntriesView):
    page_title = gettext_lazy("Audit log")
    index_url_name = "wagtail_correspondence_audit:index"
    index_results_url_name = "wagtail_correspondence_audit:results"
    template_name = "wagtail_correspondence/audit/index.html"

    def dispatch(self, request, *args, **kwargs):
        if not can_read_audit_log(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_filtered_queryset(self):
        # As LogEntriesView, but every entry: auditors read the whole log, whatever object
        # types their role holds permissions on.
        self.log_models = list(log_action_registry.get_log_entry_models())
        queryset = None
        for index, log_model in enumerate(self.log_models):
            rows = log_model.objects.all().values("pk", "timestamp").annotate(
                log_model_index=Value(index, output_field=IntegerField()))
            rows = self.filter_queryset(rows).order_by()
            queryset = rows if queryset is None else queryset.union(rows, all=True)
        return queryset.order_by("-timestamp")

    def as_spreadsheet(self, queryset, spreadsheet_format):
        # An export of the log is a disclosure of its own: it is logged (on the chain head,
        # the one object the whole log hangs from).
        log(chain_head(), log_actions.AUDIT_LOG_EXPORTED, user=self.request.user, data={
            "format": spreadsheet_format, "filters": {key: value for key, value in self.request.GET.items()
                                                      if key != "export"}})
        return super().as_spreadsheet(queryset, spreadsheet_format)


class VerifyAuditChainView(View):
    """The same check as correspondence_verify_audit: seals, chain, head and every checkpoint."""

    def post(self, request):
        if not can_read_audit_log(request.user):
            raise PermissionDenied
        try:
            result = verify()
        except AuditChainBroken as exc:
            messages.error(request, _("The audit log is NOT intact: %(error)s") % {"error": exc})
        except AuditUnverifiable as exc:
            messages.error(request, _("The audit log could not be verified: %(error)s") % {"error": exc})
        else:
            messages.success(request, _("The audit log is intact: %(count)s entries, each sealed and chained; "
                                        "%(checkpoints)s.") % {"count": result.entries,
                                                               "checkpoints": result.checkpoint_summary()})
        return redirect("wagtail_correspondence_audit:index")
