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
import functools

from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format as django_date_format


@functools.lru_cache(maxsize=8192)
def _formatted(stamp, zone, format_name, language, value):
    """``value`` formatted; cached by what the result depends on: the moment as written
    (``stamp``: the ISO form, with its offset), its zone's name, the format and the active
    language. A list page shows the same days many times over."""
    return django_date_format(value, format_name)


def forget_formats():
    """After a change of the format settings (tests, ``signal_handlers.date_formats_changed``)."""
    _formatted.cache_clear()


def date_format(value, format_name):
    return _formatted(value.isoformat(), str(getattr(value, "tzinfo", None)), format_name,
                      translation.get_language(), value)


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
