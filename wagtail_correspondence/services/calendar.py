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
        """Working seconds from ``start`` to ``end`` (0 when ``end`` is not later): the office
        hours of the first and the last day that fall inside, and every whole working day in
        between, counted from a table per year rather than day by day (a sweep asks this for
        every open entry, some of them overdue for months)."""
        if end <= start:
            return 0.0
        first, last = (timezone.localtime(moment, self.tz).date() for moment in (start, end))
        if (last - first).days < 2:
            return self._day_by_day(start, end)
        return (self._within(first, start, end) + self._within(last, start, end)
                + self.working_days_between(first + datetime.timedelta(days=1), last) * self.day_seconds)

    def _within(self, day, start, end):
        """Working seconds of ``day`` between ``start`` and ``end``."""
        hours = self._office_hours(day)
        if hours is None:
            return 0.0
        begin, finish = max(hours[0], start), min(hours[1], end)
        return (finish - begin).total_seconds() if finish > begin else 0.0

    def _day_by_day(self, start, end):
        total = 0.0
        for day in self._days_from(start):
            total += self._within(day, start, end)
            if datetime.datetime.combine(day, datetime.time.max, tzinfo=self.tz) >= end:
                return total
        return total

    def working_days_between(self, first, last):
        """How many working days from ``first`` up to, not including, ``last``."""
        if last <= first:
            return 0
        if first.year == last.year:
            return _running_count(self, last.year)[_day_of_year(last)] - _running_count(self, first.year)[
                _day_of_year(first)]
        total = _running_count(self, first.year)[-1] - _running_count(self, first.year)[_day_of_year(first)]
        for year in range(first.year + 1, last.year):
            total += _running_count(self, year)[-1]
        return total + _running_count(self, last.year)[_day_of_year(last)]


def _day_of_year(day):
    return day.timetuple().tm_yday - 1


@functools.lru_cache(maxsize=512)
def _running_count(calendar, year):
    """For each day of ``year`` (by its index from 1 January): how many days of the year before
    it are working days; the last item is the year's total."""
    counts, day, total = [], datetime.date(year, 1, 1), 0
    while day.year == year:
        counts.append(total)
        total += calendar.is_working_day(day)
        day += datetime.timedelta(days=1)
    counts.append(total)
    return counts


def calendar_for(department):
    """The calendar of a department (its own, or the nearest ancestor's), else the default."""
    calendar = department.effective_calendar() if department is not None else None
    return WorkingCalendar.from_model(calendar) if calendar is not None else WorkingCalendar.default()
