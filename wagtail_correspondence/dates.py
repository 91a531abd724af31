"""How the product shows a moment or a day to a person: one format per language.

Every screen (admin, portal) and every notice email goes through ``when`` and ``day``, so a
user never sees "12/04/2026 9:52 p.m." on one page and "4 December 2026" on the next. The
formats are Django's named ``DATETIME_FORMAT`` and ``DATE_FORMAT`` of the active language, so
a site sets them once (``FORMAT_MODULE_PATH``, see the README's configuration section); the
moment is shown in the active time zone (the user's own in Wagtail's admin, else TIME_ZONE).

Letters are not formatted here: their dates come from the template's merge fields, in the
letter's language (``rendering.formatting``).
"""

import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format


def _parse(value):
    if isinstance(value, str):
        return parse_datetime(value) or parse_date(value)
    return value


def when(value):
    """A moment, e.g. "4 Dec 2026, 21:52"; a day alone is shown as ``day`` shows it."""
    value = _parse(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return date_format(value, "DATE_FORMAT")
    return ""


def day(value):
    """The day of a moment or a date, e.g. "4 Dec 2026" (the day where the user is)."""
    value = _parse(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        value = value.date()
    if isinstance(value, datetime.date):
        return date_format(value, "DATE_FORMAT")
    return ""
