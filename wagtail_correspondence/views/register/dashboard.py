"""Dashboard panels: the user's own work, and per department the weekly volume and how
much of it was answered on time."""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from wagtail.admin.ui.components import Component

from ...conf import get_setting
from ...models import Department, Direction, SlaNotice
from ...services import register_access as access

WEEKS = 8


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
        recent = (SlaNotice.objects.filter(created_at__gte=now - timedelta(days=days),
                                           correspondence__in=access.visible_entries(self.user))
                  .select_related("correspondence").order_by("-created_at")[:200])
        return [notice for notice in recent if email in (address.lower() for address in notice.recipients)][:limit]


def _week_start(moment):
    day = timezone.localtime(moment).date()
    return day - timedelta(days=day.weekday())


class DepartmentVolumesPanel(RegisterPanel):
    name = "correspondence_department_volumes"
    order = 200
    template_name = "wagtail_correspondence/register/panels/department_volumes.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context=None):
        now = timezone.now()
        this_week = _week_start(now)
        weeks = [this_week - timedelta(weeks=offset) for offset in range(WEEKS - 1, -1, -1)]
        since = timezone.make_aware(timezone.datetime.combine(weeks[0], timezone.datetime.min.time()))
        entries = access.visible_entries(self.user).filter(
            direction=Direction.INBOUND, registered_at__gte=since, department__isnull=False).values_list(
            "department_id", "registered_at", "due_at", "responded_at", "closed_at")
        volumes = defaultdict(lambda: defaultdict(int))
        answered = defaultdict(lambda: [0, 0])  # on time, answered
        for department_id, registered_at, due_at, responded_at, closed_at in entries:
            volumes[department_id][_week_start(registered_at)] += 1
            done = responded_at or closed_at
            if done and due_at:
                answered[department_id][1] += 1
                answered[department_id][0] += done <= due_at
        departments = Department.objects.filter(pk__in=volumes.keys()).order_by("path")
        peak = max([count for weekly in volumes.values() for count in weekly.values()] or [1])
        rows = []
        for department in departments:
            counts = [volumes[department.pk].get(week, 0) for week in weeks]
            on_time, total = answered[department.pk]
            rows.append({
                "department": department,
                "bars": [{"week": week, "count": count, "height": round(40 * count / peak),
                          "x": index * 14, "y": 42 - round(40 * count / peak)}
                         for index, (week, count) in enumerate(zip(weeks, counts))],
                "total": sum(counts),
                "compliance": round(100 * on_time / total) if total else None,
                "answered": total,
            })
        overdue = access.visible_entries(self.user).overdue(now).filter(~Q(direction=Direction.OUTBOUND)).count()
        return {"rows": rows, "weeks": weeks, "chart_width": WEEKS * 14, "open_overdue": overdue}
