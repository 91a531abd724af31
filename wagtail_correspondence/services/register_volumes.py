"""The dashboard's weekly volumes per department, counted in a user's scope and kept between
visits.

``counted(user, first, last)`` answers from the kept counts of the user's scope while they are
younger than ``REGISTER["DASHBOARD_CACHE_SECONDS"]``, else counts (and keeps) them.
``refresh_watched`` is a scheduled job (``SCHEDULED_JOBS``, "dashboard-volumes"): it counts
again the scopes whose dashboard was looked at within ``WATCHED`` and whose counts are getting
old, so that the people who use the dashboard find counts ready, however large the register
is. The counts live in the database (``DashboardVolumes``), not in the cache: the scheduler
and the web processes share them without a shared cache.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from ..conf import get_setting
from ..models import DashboardVolumes, Direction
from . import register_access as access

# A scope is counted again by the scheduler while its dashboard was looked at within this long;
# its row is deleted a day after the last look.
WATCHED = timedelta(hours=1)
FORGOTTEN = timedelta(days=1)
# Looking at the dashboard writes when the row was last looked at, at most this often.
VIEW_RESOLUTION = timedelta(minutes=1)


@dataclass
class Volumes:
    volumes: dict  # department id -> {week (Monday) -> entries registered}
    answered: dict  # department id -> [answered on time, answered]
    open_overdue: int
    counted_at: datetime


def week_start(day):
    return day - timedelta(days=day.weekday())


def count(user, first, last, now=None):
    """Counted by the database in ``user``'s scope, per department and week of ``first`` to
    ``last`` (Mondays), plus the open overdue inbound entries. At a million entries eight
    weeks hold over a hundred thousand: too many to read into Python."""
    now = now or timezone.now()
    since = timezone.make_aware(datetime.combine(first, time.min))
    until = timezone.make_aware(datetime.combine(last + timedelta(days=7), time.min))
    answered_on_time = Q(due_at__isnull=False, done_at__isnull=False, done_at__lte=F("due_at"))
    rows = (access.visible_entries(user)
            .filter(direction=Direction.INBOUND, registered_at__gte=since, registered_at__lt=until,
                    department__isnull=False)
            .annotate(week=TruncWeek("registered_at"), done_at=Coalesce("responded_at", "closed_at"))
            .values("department_id", "week").order_by()
            .annotate(total=Count("pk"), answered=Count("pk", filter=Q(due_at__isnull=False, done_at__isnull=False)),
                      on_time=Count("pk", filter=answered_on_time)))
    volumes = defaultdict(lambda: defaultdict(int))
    answered = defaultdict(lambda: [0, 0])
    for row in rows:
        week = row["week"]
        week = (timezone.localtime(week) if timezone.is_aware(week) else week).date()
        volumes[row["department_id"]][week_start(week)] += row["total"]
        answered[row["department_id"]][0] += row["on_time"]
        answered[row["department_id"]][1] += row["answered"]
    overdue = access.visible_entries(user).overdue(now).filter(~Q(direction=Direction.OUTBOUND)).count()
    return Volumes({department: dict(weeks) for department, weeks in volumes.items()}, dict(answered), overdue, now)


def kept(user, first, last):
    """The kept volumes of ``user``'s scope if younger than ``DASHBOARD_CACHE_SECONDS`` (the look
    is noted, for ``refresh_watched``), else None: nothing is counted."""
    seconds = get_setting("REGISTER")["DASHBOARD_CACHE_SECONDS"]
    if not seconds:
        return None
    now = timezone.now()
    row = DashboardVolumes.objects.filter(scope=scope_digest(user), first_week=first, last_week=last).first()
    if row is None or row.counted_at <= now - timedelta(seconds=seconds):
        return None
    if row.viewed_at < now - VIEW_RESOLUTION or row.user_id != user.pk:
        DashboardVolumes.objects.filter(pk=row.pk).update(viewed_at=now, user=user)
    return unpacked(row)


def counted(user, first, last):
    """The volumes of ``user``'s scope: kept ones younger than ``DASHBOARD_CACHE_SECONDS``, else
    counted now (and kept). With ``DASHBOARD_CACHE_SECONDS`` 0, counted on every visit."""
    found = kept(user, first, last)
    if found is not None:
        return found
    now = timezone.now()
    found = count(user, first, last, now)
    if get_setting("REGISTER")["DASHBOARD_CACHE_SECONDS"]:
        keep(scope_digest(user), first, last, user, found, viewed_at=now)
    return found


def refresh_watched(now=None):
    """Count again the volumes of the scopes looked at within ``WATCHED`` whose counts are older
    than half of ``DASHBOARD_CACHE_SECONDS``; forget the scopes nobody looked at for a day.
    Returns what it did, for the scheduler's log."""
    seconds = get_setting("REGISTER")["DASHBOARD_CACHE_SECONDS"]
    if not seconds:
        return "dashboard counts are not kept (DASHBOARD_CACHE_SECONDS is 0)"
    now = now or timezone.now()
    forgotten, _by_model = DashboardVolumes.objects.filter(viewed_at__lt=now - FORGOTTEN).delete()
    due = (DashboardVolumes.objects.filter(viewed_at__gte=now - WATCHED,
                                           counted_at__lt=now - timedelta(seconds=seconds / 2))
           .select_related("user").order_by("counted_at"))
    recounted = dropped = 0
    for row in due:
        # The person's scope may have changed since (departments, clearances): their new scope
        # is counted on their next visit; this row is no longer anyone's for sure.
        if not row.user.is_active or scope_digest(row.user) != row.scope:
            row.delete()
            dropped += 1
            continue
        keep(row.scope, row.first_week, row.last_week, row.user, count(row.user, row.first_week, row.last_week))
        recounted += 1
    return f"{recounted} counted again, {dropped + forgotten} forgotten"


def scope_digest(user):
    return hashlib.sha256(access.scope_key(user).encode()).hexdigest()


def keep(scope, first, last, user, found, viewed_at=None):
    values = {"user": user, "counted_at": found.counted_at, "counts": {
        "volumes": {str(department): {week.isoformat(): total for week, total in weeks.items()}
                    for department, weeks in found.volumes.items()},
        "answered": {str(department): pair for department, pair in found.answered.items()},
        "open_overdue": found.open_overdue}}
    if viewed_at is not None:
        values["viewed_at"] = viewed_at
    row, created = DashboardVolumes.objects.get_or_create(
        scope=scope, first_week=first, last_week=last, defaults={**values, "viewed_at": viewed_at or found.counted_at})
    if not created:
        DashboardVolumes.objects.filter(pk=row.pk).update(**values)


def unpacked(row):
    counts = row.counts
    return Volumes(
        {int(department): {date.fromisoformat(week): total for week, total in weeks.items()}
         for department, weeks in counts.get("volumes", {}).items()},
        {int(department): list(pair) for department, pair in counts.get("answered", {}).items()},
        counts.get("open_overdue", 0), row.counted_at)
