"""Locale-aware filters for merge fields, through Babel.

The locale is the letter's, set for the duration of a render by ``use_locale``; filters
never consult the request or the server's locale, so output is reproducible.
"""

import contextlib
import contextvars
import datetime
import functools
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from markupsafe import Markup, escape

from .. import postal
from ..conf import get_setting

_current_locale = contextvars.ContextVar("correspondence_locale", default=None)


def current_locale():
    return _current_locale.get() or get_setting("DEFAULT_LOCALE")


@contextlib.contextmanager
def use_locale(locale):
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        locale = get_setting("DEFAULT_LOCALE")
    token = _current_locale.set(locale)
    try:
        yield
    finally:
        _current_locale.reset(token)


def _as_decimal(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# Babel looks the locale's data up again on every call, which made formatting a sixth of a
# letter's cost; a letter uses the same amount and date several times and a batch the same
# few dates thousands of times. The results are remembered, keyed by the value's text (so
# that 1.5 and 1.50, equal as numbers, are never taken for each other).


@functools.lru_cache(maxsize=64)
def _locale(identifier):
    return Locale.parse(identifier)


@functools.lru_cache(maxsize=8192)
def _money(amount_text, currency, locale):
    return format_currency(Decimal(amount_text), currency, locale=_locale(locale))


@functools.lru_cache(maxsize=8192)
def _number(amount_text, format, locale):
    return format_decimal(Decimal(amount_text), format=format, locale=_locale(locale))


@functools.lru_cache(maxsize=8192)
def _date(value, format, locale):
    return format_date(value, format=format, locale=_locale(locale))


def money(value, currency=None):
    amount = _as_decimal(value)
    if amount is None:
        return value
    return _money(str(amount), str(currency or get_setting("DEFAULT_CURRENCY")), current_locale())


def number(value, format=None):
    amount = _as_decimal(value)
    if amount is None:
        return value
    return _number(str(amount), format if format is None else str(format), current_locale())


def date(value, format="long"):
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime.date):
        return value
    if format not in ("short", "medium", "long", "full"):
        format = "long"  # patterns from content are not trusted; only the named styles
    if type(value) is not datetime.date:  # a datetime (or subclass) is formatted as its date
        value = datetime.date(value.year, value.month, value.day)
    return _date(value, format, current_locale())


class AddressLines:
    """A postal address as lines. Shown in HTML, each line is escaped and the lines are joined
    with <br>; as text (an SMS, ``~``, other filters) they are joined with commas.

    Not a string, and not markup while the template works with it: the <br> only exists in
    the output (the sandbox's output step asks for ``__html__``), so no expression can take
    its markup apart to build other tags."""

    __slots__ = ("_lines",)

    def __init__(self, lines):
        self._lines = tuple(str(line) for line in lines if line)

    def __html__(self):
        return Markup("<br>").join(escape(line) for line in self._lines)

    def __str__(self):
        return ", ".join(self._lines)

    def __eq__(self, other):
        return isinstance(other, AddressLines) and other._lines == self._lines

    def __hash__(self):
        return hash(self._lines)


def address(value):
    """A postal address as lines (see AddressLines), as the post of its country expects them,
    the country named in the letter's language (postal.py)."""
    if not isinstance(value, dict):
        return value
    return AddressLines(postal.address_lines(value, current_locale()))


def yesno(value, choices="yes,no"):
    yes, _, no = str(choices).partition(",")
    return yes if value else no


def digits(value):
    """Only the digits: a date of birth 1980-04-12 becomes 19800412 (for PDF passwords)."""
    return "".join(char for char in str(value) if char.isdigit())


FILTERS = {"money": money, "number": number, "date": date, "address": address, "yesno": yesno, "digits": digits}


def locale_for_language(language):
    """The Babel locale for a letter language: LOCALES, else DEFAULT_LOCALE when it is of the
    same language (en → en_GB), else the language code itself."""
    configured = get_setting("LOCALES").get(language)
    if configured:
        return configured
    default = get_setting("DEFAULT_LOCALE")
    if not language or default.split("_")[0] == language:
        return default
    return language
