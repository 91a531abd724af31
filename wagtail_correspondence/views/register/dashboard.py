"""Dashboard panels: the user's own work, and per department the weekly volume and how
much of it was answered on time."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail.admin.ui.components import Component

from ...conf import get_setting
from ...models import Department, Direction, SlaNotice
from ...services import register_access as access

WEEKS = 8
MAX_WEEKS = 53


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
            "assigned": mine.count(),
            "overdue": mine.overdue(now).count(),
            "due_soon": mine.filter(due_at__gte=now, due_at__lt=soon, sla_paused_at__isnull=True).count(),
            "entries": mine.select_related("department").order_by("due_at", "pk")[:10],
            "unassigned": access.visible_entries(self.user).open().filter(
                assignee__isnull=True, department__in=Department.objects.filter(
                    access.department_scope(self.user))).count(),
            "notices": self.notices(now),
            "now": now,
        }

    def notices(self, now, days=7, limit=8):
        """Reminders, overdue alerts and escalations sent to this user lately: the same
        notices as the emails, for those who live in the admin."""
        email = (self.user.email or "").lower()
        if not email:
            return []
        # The notices that name the address (the exact address is checked here), then only those
        # of entries the user may see: testing every recent notice against the user's scope cost
        # a third of a second at a million. Their entries are read for the few shown, after the
        # newest have been picked (a supervisor is sent thousands of notices a week).
        # Only the columns that decide are read for the 200 candidates; the few shown are read
        # whole afterwards.
        recent = (SlaNotice.objects.filter(created_at__gte=now - timedelta(days=days))
                  .filter(addressed_to(self.user.email, SlaNotice.objects.db)).order_by("-created_at")
                  .values_list("pk", "correspondence_id", "recipients")[:200])
        mine = [(pk, entry) for pk, entry, recipients in recent
                if email in (address.lower() for address in recipients)]
        visible = set(access.visible_entries(self.user).filter(
            pk__in={entry for _pk, entry in mine}).values_list("pk", flat=True))
        shown = [pk for pk, entry in mine if entry in visible][:limit]
        notices = SlaNotice.objects.select_related("correspondence").in_bulk(shown)
        return [notices[pk] for pk in shown]


def addressed_to(email, using):
    """Notices whose recipients may include ``email``: on PostgreSQL by containment, which the
    recipients' GIN index (migration 0030) serves, as typed and in lower case; elsewhere by a
    text match. Either way a narrowing: the caller checks the exact address."""
    if connections[using].vendor == "postgresql":
        return Q(recipients__contains=[email]) | Q(recipients__contains=[email.lower()])
    return Q(recipients__icontains=email.lower())


def _week_start(day):
    return day - timedelta(days=day.weekday())


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
    end = _week_start(end or today)
    start = _week_start(start) if start else end - timedelta(weeks=WEEKS - 1)
    if start > end:
        error = _("The range starts after it ends; the dates were swapped.")
        start, end = end, start
    if (end - start).days // 7 + 1 > MAX_WEEKS:
        error = _("At most %(weeks)s weeks are shown at once.") % {"weeks": MAX_WEEKS}
        start = end - timedelta(weeks=MAX_WEEKS - 1)
    return start, end, error


def register_list_url(path=None, **params):
    from django.urls import reverse

    return (path or reverse("correspondence_register_entries_modeladmin_index")) + "?" + urlencode(params)


def week_range(week):
    return {"registered_at_from": week.isoformat(), "registered_at_to": (week + timedelta(days=6)).isoformat()}


class DepartmentVolumesPanel(RegisterPanel):
    """Inbound entries registered per week and department, as a bar chart (Chart.js, fed by
    ``json_script``; js/register-dashboard.js draws it): one bar per department and week, each
    opening the register list with that department's entries of that week. The counts come from
    the same scoped queryset as the list, so a bar never counts what its list would hide."""

    name = "correspondence_department_volumes"
    order = 200
    template_name = "wagtail_correspondence/register/panels/department_volumes.html"

    class Media:
        css = {"all": ["wagtail_correspondence/css/register.css"]}
        js = ["wagtail_correspondence/vendor/chartjs/chart.umd.min.js",
              "wagtail_correspondence/js/register-dashboard.js"]

    def __init__(self, user, params=None):
        self.user = user
        self.params = params or {}

    def counted(self, first, last):
        """(volumes, answered, open overdue, when counted) for this user's scope, counted at
        most every ``DASHBOARD_CACHE_SECONDS`` (the panel says when)."""
        seconds = get_setting("REGISTER")["DASHBOARD_CACHE_SECONDS"]
        key = f"correspondence-volumes:{access.scope_key(self.user)}:{first.isoformat()}:{last.isoformat()}"
        found = cache.get(key) if seconds else None
        if found is None:
            volumes, answered = self.volumes(first, last)
            overdue = access.visible_entries(self.user).overdue(timezone.now()).filter(
                ~Q(direction=Direction.OUTBOUND)).count()
            found = ({department: dict(weeks) for department, weeks in volumes.items()}, dict(answered), overdue,
                     timezone.now())
            if seconds:
                cache.set(key, found, seconds)
        return found

    def volumes(self, first, last):
        """Counted by the database, per department and week: at a million entries eight weeks
        hold some fifty thousand, too many to read into Python on every visit."""
        since = timezone.make_aware(datetime.combine(first, time.min))
        until = timezone.make_aware(datetime.combine(last + timedelta(days=7), time.min))
        answered_on_time = Q(due_at__isnull=False, done_at__isnull=False, done_at__lte=F("due_at"))
        rows = (access.visible_entries(self.user)
                .filter(direction=Direction.INBOUND, registered_at__gte=since, registered_at__lt=until,
                        department__isnull=False)
                .annotate(week=TruncWeek("registered_at"), done_at=Coalesce("responded_at", "closed_at"))
                .values("department_id", "week").order_by()
                .annotate(total=Count("pk"), answered=Count("pk", filter=Q(due_at__isnull=False, done_at__isnull=False)),
                          on_time=Count("pk", filter=answered_on_time)))
        volumes = defaultdict(lambda: defaultdict(int))
        answered = defaultdict(lambda: [0, 0])  # on time, answered
        for row in rows:
            week = row["week"]
            week = (timezone.localtime(week) if timezone.is_aware(week) else week).date()
            volumes[row["department_id"]][_week_start(week)] += row["total"]
            answered[row["department_id"]][0] += row["on_time"]
            answered[row["department_id"]][1] += row["answered"]
        return volumes, answered

    def get_context_data(self, parent_context=None):
        first, last, range_error = volume_range(self.params)
        weeks = [first + timedelta(weeks=offset) for offset in range((last - first).days // 7 + 1)]
        volumes, answered, overdue, counted_at = self.counted(first, last)
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
        return {"rows": rows, "weeks": weeks, "chart": chart, "open_overdue": overdue, "counted_at": counted_at,
                "first": first,
                "last": last + timedelta(days=6), "range_error": range_error,
                "has_data": any(row["total"] for row in rows)}
