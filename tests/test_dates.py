"""The dates screens show (dates.py) are kept once formatted, yet always written in the active
language and time zone; a change of the format settings forgets them."""

import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone, translation

from wagtail_correspondence import dates

MOMENT = datetime.datetime(2026, 12, 4, 21, 52, tzinfo=datetime.timezone.utc)


def test_one_moment_kept_per_time_zone_and_language():
    shown = []
    for zone in ("Europe/Brussels", "America/New_York", "Europe/Brussels"):
        with timezone.override(ZoneInfo(zone)):
            shown.append(dates.when(MOMENT))
            with translation.override("fr"):
                shown.append(dates.when(MOMENT))
    assert shown == ["4 Dec 2026, 22:52", "4 déc 2026 22:52", "4 Dec 2026, 16:52", "4 déc 2026 16:52",
                     "4 Dec 2026, 22:52", "4 déc 2026 22:52"]
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert dates.day(MOMENT) == "5 Dec 2026"


def test_a_change_of_the_format_settings_forgets_what_was_kept(settings):
    dates.day(datetime.date(2026, 12, 4))
    assert dates._formatted.cache_info().currsize > 0
    settings.FORMAT_MODULE_PATH = settings.FORMAT_MODULE_PATH  # fires setting_changed
    assert dates._formatted.cache_info().currsize == 0
