"""One date format per language, everywhere: wagtail_correspondence.dates and its filters."""

import datetime
import zoneinfo

from django.template import Context, Template
from django.utils import timezone, translation

from wagtail_correspondence.dates import day, when

# 20:52 UTC is 21:52 in Brussels (TIME_ZONE of the reference site) in December.
MOMENT = datetime.datetime(2026, 12, 4, 20, 52, 7, 123456, tzinfo=datetime.timezone.utc)


def test_a_moment_in_english_is_day_month_name_year_and_24_hour_time_in_the_site_time_zone():
    with translation.override("en"):
        assert when(MOMENT) == "4 Dec 2026, 21:52"
        assert day(MOMENT) == "4 Dec 2026"
        assert day(datetime.date(2026, 5, 1)) == "1 May 2026"


def test_the_users_time_zone_decides_the_hour_and_the_day():
    with translation.override("en"), timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        assert when(MOMENT) == "5 Dec 2026, 05:52"
        assert day(MOMENT) == "5 Dec 2026"


def test_each_language_has_its_own_format():
    with translation.override("fr"):
        assert when(MOMENT) == "4 déc 2026 21:52"
    with translation.override("nl"):
        assert when(MOMENT) == "4 dec 2026 21:52"
    with translation.override("de"):
        assert when(MOMENT) == "4. Dez 2026, 21:52"


def test_stored_iso_strings_are_shown_like_moments_and_nothing_gives_an_empty_string():
    with translation.override("en"):
        # The raw value the register's version panel used to show.
        assert when("2026-12-18T17:00:00.123456+01:00") == "18 Dec 2026, 17:00"
        assert day("2026-12-18") == "18 Dec 2026"
        assert when(None) == "" and day("") == "" and when("not a date") == ""


def test_the_template_filters_and_djangos_named_formats_agree():
    template = Template('{% load correspondence_format %}{{ m|when }}|{{ m|day }}|{{ m|date:"SHORT_DATETIME_FORMAT" }}'
                        '|{{ none|when|default:"—" }}')
    with translation.override("en"):
        assert template.render(Context({"m": MOMENT, "none": None})) == (
            "4 Dec 2026, 21:52|4 Dec 2026|4 Dec 2026, 21:52|—")
