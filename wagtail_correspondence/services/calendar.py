"""Business-time arithmetic for deadlines: office hours on working days, minus public
holidays (from the ``holidays`` package) and the organisation's own closed days.

Everything is measured in *working seconds*. "3 working days" is three office days' worth
of working seconds, so an entry received on Monday at 14:00 is due on Thursday at 14:00, and
mail that arrives on Saturday starts its clock on Monday morning.
"""

import datetime
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone

from ..conf import get_setting


@functools.lru_cache(maxsize=256)
def public_holidays(country, subdivision, year):
    if not country:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


def _time(value):
    return value if isinstance(value, datetime.time) else datetime.time.fromisoformat(value)


@dataclass(frozen=True)
class WorkingCalendar:
    working_days: frozenset
    day_start: datetime.time
    day_end: datetime.time
    time_zone: str = ""
    country: str = ""
    subdivision: str = ""
    closed_days: frozenset = frozenset()

    @classmethod
    def from_model(cls, calendar):
        return cls(frozenset(calendar.working_days), _time(calendar.day_start), _time(calendar.day_end),
                   calendar.time_zone, calendar.country.upper(), calendar.subdivision.upper(),
                   frozenset(datetime.date.fromisoformat(str(day)) for day in calendar.extra_closed_days or []))

    @classmethod
    def default(cls):
        config = get_setting("REGISTER")["DEFAULT_CALENDAR"]
        return cls(frozenset(config.get("working_days", [0, 1, 2, 3, 4])), _time(config.get("day_start", "09:00")),
                   _time(config.get("day_end", "17:00")), config.get("time_zone", ""),
                   config.get("country", "").upper(), config.get("subdivision", "").upper(),
                   frozenset(datetime.date.fromisoformat(str(day)) for day in config.get("closed_days", [])))

    @property
    def tz(self):
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)

    @property
    def day_seconds(self):
        start = datetime.datetime.combine(datetime.date(2000, 1, 3), self.day_start)
        end = datetime.datetime.combine(datetime.date(2000, 1, 3), self.day_end)
        return (end - start).total_seconds()

    def is_working_day(self, day):
        return (day.weekday() in self.working_days and day not in self.closed_days
                and day not in public_holidays(self.country, self.subdivision, day.year))

    def _office_hours(self, day):
        """(opening, closing) of ``day`` as aware datetimes, or None on a closed day."""
        if not self.is_working_day(day):
            return None
        tz = self.tz
        return (datetime.datetime.combine(day, self.day_start, tzinfo=tz),
                datetime.datetime.combine(day, self.day_end, tzinfo=tz))

    def _days_from(self, moment):
        day = timezone.localtime(moment, self.tz).date()
        # A year without one working day means a misconfigured calendar, not an endless loop.
        for offset in range(3660):
            yield day + datetime.timedelta(days=offset)
        raise ValueError("The business calendar has no working days")

    def add(self, start, seconds):
        """The moment ``seconds`` working seconds after ``start``."""
        remaining = float(seconds)
        for day in self._days_from(start):
            hours = self._office_hours(day)
            if hours is None:
                continue
            opening, closing = hours
            begin = max(opening, start)
            if begin >= closing:
                continue
            available = (closing - begin).total_seconds()
            if remaining <= available:
                return begin + datetime.timedelta(seconds=remaining)
            remaining -= available
        raise AssertionError("unreachable")

    def between(self, start, end):
        """Working seconds from ``start`` to ``end`` (0 when ``end`` is not later)."""
        if end <= start:
            return 0.0
        total = 0.0
        for day in self._days_from(start):
            hours = self._office_hours(day)
            if hours is not None:
                opening, closing = hours
                begin, finish = max(opening, start), min(closing, end)
                if finish > begin:
                    total += (finish - begin).total_seconds()
            if datetime.datetime.combine(day, datetime.time.max, tzinfo=self.tz) >= end:
                return total
        return total


def calendar_for(department):
    """The calendar of a department (its own, or the nearest ancestor's), else the default."""
    calendar = department.effective_calendar() if department is not None else None
    return WorkingCalendar.from_model(calendar) if calendar is not None else WorkingCalendar.default()
