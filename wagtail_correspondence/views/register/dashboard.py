"""Dashboard panels: the user's own work, and per department the weekly volume and how
much of it was answered on time."""

import hashlib
from datetime import date, timedelta
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from wagtail.admin.ui.components import Component

from ...conf import get_setting
from ...models import Department, Direction, SlaNotice
from ...services import register_access as access
from ...services import register_volumes
from ...services.register_volumes import week_start

WEEKS = 8
MAX_WEEKS = 53
# "My work" counts up to here and says "999+" above: the counts are for knowing where one
# stands, the list has the exact number. Counting a supervisor's 20,000 open entries read
# 20,000 index entries on every visit (7 ms each count at a million).
COUNTED_UP_TO = 999


class MoreThan:
    """A count that stopped at its limit: shown as "999+", and true (there is work)."""

    def __init__(self, limit):
        self.limit = limit

    def __str__(self):
        return f"{self.limit}+"

    def __bool__(self):
        return True


def count_up_to(queryset, limit=None):
    limit = COUNTED_UP_TO if limit is None else limit
    counted = queryset.order_by()[:limit + 1].count()
    return counted if counted <= limit else MoreThan(limit)


class RegisterPanel(Component):
    class Media:
        css = {"all": ["wagtail_correspondence/css/register.css"]}


class MyWorkPanel(RegisterPanel):
    name = "correspondence_my_work"
    order = 50
    template_name = "wagtail_correspondence/register/panels/my_work.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        now = timezone.now()
        soon = now + timedelta(hours=get_setting("REGISTER")["DUE_SOON_HOURS"])
        mine = access.visible_entries(self.user).open().filter(assignee=self.user)
        # Three counts, not one aggregate with filters: each is answered from a partial index
        # of open entries (migration 0029), where one pass had to read every row of the user's
        # open entries (78 ms for a supervisor with 20,000 of them, against 2 ms).
        return {
            "assigned": count_up_to(mine),
            "overdue": count_up_to(mine.overdue(now)),
            "due_soon": count_up_to(mine.filter(due_at__gte=now, due_at__lt=soon, sla_paused_at__isnull=True)),
            "entries": mine.select_related("department").order_by("due_at", "pk")[:10],
            "unassigned": count_up_to(access.visible_entries(self.user).open().filter(
                assignee__isnull=True, department__in=Department.objects.filter(
                    access.department_scope(self.user)))),
            "notices": self.notices(now),
            "now": now,
        }

    def notices(self, now, days=7, limit=8):
        """Reminders, overdue alerts and escalations sent to this user lately: the same
        notices as the emails, for those who live in the admin."""
        if not (self.user.email or "").strip():
            return []
        since = now - timedelta(days=days)
        candidates = [(pk, entry) for pk, entry, created_at in addressed_notices(self.user.email, now, days)
                      if created_at >= since]
        # Whether the user may see their entries is asked on every visit: entries move between
        # departments and people while the notices stay.
        visible = set(access.visible_entries(self.user).filter(
            pk__in={entry for _pk, entry in candidates}).values_list("pk", flat=True))
        shown = [pk for pk, entry in candidates if entry in visible][:limit]
        notices = SlaNotice.objects.select_related("correspondence").in_bulk(shown)
        return [notices[pk] for pk in shown if pk in notices]


def addressed_notices(email, now, days, candidates=200):
    """(pk, entry id, created) of the newest notices sent to ``email`` in the last ``days``,
    newest first, at most ``candidates``.

    Notices are only ever added (by the sweep, every few minutes), and whom a notice was sent
    to never changes; so the list is kept per address until a newer notice exists. Finding
    them afresh means reading every recent notice that may name the address and sorting them
    (16 ms for a supervisor sent 13,000 notices in a week); the newest notice is one index
    read. Entries the user may no longer see are left out by the caller, on every visit."""
    newest = SlaNotice.objects.order_by("-pk").values_list("pk", "created_at").first()
    if newest is None:
        return []
    address = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    key = f"correspondence-notices-to:{address}:{newest[0]}:{newest[1].timestamp()}:{days}"
    found = cache.get(key)
    if found is None:
        # The notices that may name the address, then the exact address checked here.
        recent = (SlaNotice.objects.filter(created_at__gte=now - timedelta(days=days))
                  .filter(addressed_to(email, SlaNotice.objects.db)).order_by("-created_at")
                  .values_list("pk", "correspondence_id", "recipients", "created_at")[:candidates])
        wanted = email.lower()
        found = [(pk, entry, created_at) for pk, entry, recipients, created_at in recent
                 if wanted in (address.lower() for address in recipients)]
        cache.set(key, found, 24 * 3600)
    return found


def addressed_to(email, using):
    """Notices whose recipients may include ``email``: on PostgreSQL by containment, which the
    recipients' GIN index (migration 0030) serves, as typed and in lower case; elsewhere by a
    text match. Either way a narrowing: the caller checks the exact address."""
    if connections[using].vendor == "postgresql":
        return Q(recipients__contains=[email]) | Q(recipients__contains=[email.lower()])
    return Q(recipients__icontains=email.lower())


def _parse_day(value):
    try:
        return date.fromisoformat((value or "").strip()) if (value or "").strip() else None
    except ValueError:
        return False


def volume_range(params, today=None):
    """The weeks the volumes chart covers: ``volumes_from`` / ``volumes_to`` (ISO dates) of the
    dashboard's query, whole weeks, at most ``MAX_WEEKS``; by default the last ``WEEKS``.
    Returns (first Monday, last Monday, error)."""
    today = today or timezone.localdate()
    start, end = _parse_day(params.get("volumes_from")), _parse_day(params.get("volumes_to"))
    error = ""
    if start is False or end is False:
        error = _("Dates are written YYYY-MM-DD; the last %(weeks)s weeks are shown.") % {"weeks": WEEKS}
        start = end = None
    end = week_start(end or today)
    start = week_start(start) if start else end - timedelta(weeks=WEEKS - 1)
    if start > end:
        error = _("The range starts after it ends; the dates were swapped.")
        start, end = end, start
    if (end - start).days // 7 + 1 > MAX_WEEKS:
        error = _("At most %(weeks)s weeks are shown at once.") % {"weeks": MAX_WEEKS}
        start = end - timedelta(weeks=MAX_WEEKS - 1)
    return start, end, error


def register_list_url(path=None, **params):
    return (path or reverse("correspondence_register_entries_modeladmin_index")) + "?" + urlencode(params)


def week_range(week):
    return {"registered_at_from": week.isoformat(), "registered_at_to": (week + timedelta(days=6)).isoformat()}


class DepartmentVolumesPanel(RegisterPanel):
    """Inbound entries registered per week and department, as a bar chart (Chart.js, fed by
    ``json_script``; js/register-dashboard.js draws it): one bar per department and week, each
    opening the register list with that department's entries of that week. The counts come from
    the same scoped queryset as the list, so a bar never counts what its list would hide.

    The dashboard shows counts kept for the user's scope (register_volumes). When there are none
    (the scope's first look in a while), the page does not wait for them: the panel says they
    are being counted and the script asks ``volumes_view`` for its body (at a million entries
    counting reads 120,000 index entries, some 60 ms). ``count_now`` counts while rendering
    (the endpoint, and the link offered without JavaScript)."""

    name = "correspondence_department_volumes"
    order = 200
    template_name = "wagtail_correspondence/register/panels/department_volumes.html"
    body_template_name = "wagtail_correspondence/register/panels/department_volumes_body.html"

    class Media:
        css = {"all": ["wagtail_correspondence/css/register.css"]}
        js = ["wagtail_correspondence/vendor/chartjs/chart.umd.min.js",
              "wagtail_correspondence/js/register-dashboard.js"]

    def __init__(self, user, params=None, count_now=False):
        self.user = user
        self.params = params or {}
        self.count_now = count_now or bool(self.params.get("volumes_count"))

    def get_context_data(self, parent_context=None):
        first, last, range_error = volume_range(self.params)
        found = (register_volumes.counted if self.count_now else register_volumes.kept)(self.user, first, last)
        if found is None:
            weeks = {"volumes_from": first.isoformat(), "volumes_to": (last + timedelta(days=6)).isoformat()}
            return {"pending": True, "first": first, "last": last + timedelta(days=6), "range_error": range_error,
                    "load_url": reverse("wagtail_correspondence_register:dashboard_volumes") + "?" + urlencode(weeks),
                    "count_url": "?" + urlencode({**weeks, "volumes_count": "1"}),
                    "body_template": self.body_template_name}
        return {**self.counted_context(found, first, last), "range_error": range_error,
                "body_template": self.body_template_name}

    def counted_context(self, found, first, last):
        weeks = [first + timedelta(weeks=offset) for offset in range((last - first).days // 7 + 1)]
        volumes, answered = found.volumes, found.answered
        departments = Department.objects.filter(pk__in=volumes.keys()).order_by("path")
        path = register_list_url().split("?")[0]  # reversed once for every bar's link
        rows, datasets = [], []
        for department in departments:
            counts = [volumes[department.pk].get(week, 0) for week in weeks]
            on_time, total = answered[department.pk]
            period = {"direction__exact": Direction.INBOUND, "department": department.code,
                      "department_only": "1"}
            rows.append({
                "department": department,
                "total": sum(counts),
                "compliance": round(100 * on_time / total) if total else None,
                "answered": total,
                "url": register_list_url(path, **period, registered_at_from=first.isoformat(),
                                         registered_at_to=(last + timedelta(days=6)).isoformat()),
            })
            links = [register_list_url(path, **period, **week_range(week)) for week in weeks]
            # No names in the JSON: the script takes each department's name from the table's row,
            # so text people typed reaches the page only as escaped HTML text.
            datasets.append({"code": department.code, "data": counts, "links": links})
        chart = {
            "labels": [date_format(week, "SHORT_DATE_FORMAT") for week in weeks],
            "datasets": datasets,
            "x_title": str(_("Week starting")),
            "y_title": str(_("Entries registered")),
            "hint": str(_("Click a bar to open those entries in the register.")),
        }
        return {"rows": rows, "weeks": weeks, "chart": chart, "open_overdue": found.open_overdue,
                "counted_at": found.counted_at, "first": first, "last": last + timedelta(days=6),
                "has_data": any(row["total"] for row in rows)}


@require_GET
def volumes_view(request):
    """The volumes panel's body, counted now in the user's scope and kept: what the dashboard
    asks for when it has no counts kept (js/register-dashboard.js)."""
    if not (request.user.is_active and request.user.has_perm(access.VIEW)):
        raise PermissionDenied
    panel = DepartmentVolumesPanel(request.user, request.GET, count_now=True)
    return TemplateResponse(request, panel.body_template_name, panel.get_context_data())
