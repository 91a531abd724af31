"""One date format per language, everywhere: wagtail_correspondence.dates and its filters."""

import copy
import datetime
import re
import zoneinfo

import pytest
from django.core import mail
from django.template import Context, Template
from django.utils import timezone, translation

from tests import factories
from wagtail_correspondence.dates import day, when
from wagtail_correspondence.models import Correspondence, Letter
from wagtail_correspondence.services import letters as letter_service

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


# The same format on the screens people read: the register list and an entry, a letter's page
# in the admin, the portal. ------------------------------------------------------------------

OTHER_FORMATS = ("12/04/2026", "p.m.", "Dec. 4", "December 4", "2026-12-04")


@pytest.fixture
def dated_letter(agent, customer_dictionary, standard_layout, one_customer, django_capture_on_commit_callbacks):
    template = factories.letter_template(customer_dictionary, standard_layout,
                                         [factories.fragment(customer_dictionary)], channels=["print", "portal"])
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_service.generate_letter(agent, letter_service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal"))
    Letter.objects.filter(pk=letter.pk).update(created_at=MOMENT, generated_at=MOMENT)
    Correspondence.objects.filter(reference=letter.reference).update(registered_at=MOMENT, sent_at=MOMENT)
    return letter


def _shows_only_the_one_format(html, expected):
    assert expected in html
    for other in OTHER_FORMATS:
        assert other not in html, other


def test_the_admin_shows_a_letter_and_its_register_entry_in_the_one_format(client, make_user, dated_letter):
    client.force_login(make_user("root", superuser=True))
    letter_page = client.get(f"/admin/correspondence/letters/inspect/{dated_letter.pk}/").content.decode()
    _shows_only_the_one_format(letter_page, "4 Dec 2026, 21:52")

    entry = Correspondence.objects.get(reference=dated_letter.reference)
    listing = client.get("/admin/correspondence/register/entries/").content.decode()
    assert dated_letter.reference in listing
    _shows_only_the_one_format(listing, "4 Dec 2026")
    _shows_only_the_one_format(client.get(entry.get_admin_url()).content.decode(), "4 Dec 2026, 21:52")


def test_the_letter_page_names_channels_languages_and_people_not_codes(client, make_user, dated_letter):
    dated_letter.created_by.first_name, dated_letter.created_by.last_name = "Amir", "Agent"
    dated_letter.created_by.save()
    client.force_login(make_user("root", superuser=True))
    html = client.get(f"/admin/correspondence/letters/inspect/{dated_letter.pk}/").content.decode()
    facts = re.sub(r"\s+", " ", html[html.index("<dt>"):html.index("</dl>")])
    assert "<dt>Channel</dt><dd>Secure portal</dd>" in facts
    assert "<dt>Language</dt><dd data-letter-language=\"en\">English</dd>" in facts
    name = dated_letter.created_by.get_full_name()
    assert name and f"by {name}" in facts and f"by {dated_letter.created_by.username}<" not in facts
    assert '<td>Secure portal</td>' in html and '<td>Archive</td>' in html  # the delivery table


def test_the_portal_shows_the_letters_day_in_the_one_format(client, dated_letter):
    path = re.search(r"http://testserver(/portal/letters/[^/\s]+/)", mail.outbox[0].body).group(1)
    _shows_only_the_one_format(client.get(path).content.decode(), "4 Dec 2026")


def test_a_user_who_reads_french_in_tokyo_sees_their_own_format_and_hour(client, make_user, dated_letter):
    from wagtail.users.models import UserProfile

    user = make_user("root", superuser=True)
    UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": "fr",
                                                              "current_time_zone": "Asia/Tokyo"})
    client.force_login(user)
    letter_page = client.get(f"/admin/correspondence/letters/inspect/{dated_letter.pk}/").content.decode()
    _shows_only_the_one_format(letter_page, "5 déc 2026 05:52")
