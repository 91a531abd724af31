"""The audit log for auditors: every log entry of the site (Wagtail's site history report,
unfiltered by content type), exportable as CSV or XLSX, with a check of the hash chain.

Wagtail's own site history shows any admin user the entries of every object type they hold a
permission on, which would show officers the history of register entries outside their scope;
the reference site sends that URL here too (``site/correspondence_site/urls.py``)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, Value
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from wagtail.admin.filters import ContentTypeFilter
from wagtail.admin.views.reports.audit_logging import LogEntriesView, SiteHistoryReportFilterSet
from wagtail.log_actions import log
from wagtail.log_actions import registry as log_action_registry

from .. import log_actions
from ..exports import FormulaSafeExportMixin
from ..services.audit import AuditChainBroken, AuditUnverifiable, chain_head, verify

VIEW_AUDIT_LOG = "wagtail_correspondence.view_audit_log"


def can_read_audit_log(user):
    return user.is_active and user.has_perm(VIEW_AUDIT_LOG)


def _whole_log(method):
    """What one question asks of every log model, over the whole log (not what the reader's
    own permissions would show): the union of the answers."""
    found = set()
    for log_model in log_action_registry.get_log_entry_models():
        found.update(getattr(log_model.objects.all(), method)())
    return found


class AuditLogFilterSet(SiteHistoryReportFilterSet):
    """Site history's filters with the whole log's choices: every user, action and object type
    in the log. Wagtail offers only those of the object types the reader holds permissions on
    (an auditor holds almost none), and its user filter looks at page entries only."""

    object_type = ContentTypeFilter(
        label=gettext_lazy("Type"), method="filter_object_type",
        queryset=lambda request: ContentType.objects.filter(pk__in=_whole_log("get_content_type_ids")).order_by(
            "model"))

    def get_action_choices(self):
        used = _whole_log("get_actions")
        return [choice for choice in log_action_registry.get_choices() if choice[0] in used]

    def get_users_queryset(self):
        User = get_user_model()
        return User.objects.filter(pk__in=_whole_log("get_user_ids")).order_by(User.USERNAME_FIELD)


class AuditLogView(FormulaSafeExportMixin, LogEntriesView):
    page_title = gettext_lazy("Audit log")
    filterset_class = AuditLogFilterSet
    index_url_name = "wagtail_correspondence_audit:index"
    index_results_url_name = "wagtail_correspondence_audit:results"
    template_name = "wagtail_correspondence/audit/index.html"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Times as the screens show them (the site's or the reader's zone, to the second), not
        # UTC with microseconds; XLSX keeps a real date cell, in the same zone.
        self.custom_field_preprocess["timestamp"] = {
            self.FORMAT_CSV: lambda value: timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S"),
            self.FORMAT_XLSX: lambda value: timezone.localtime(value).replace(tzinfo=None, microsecond=0),
        }

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
