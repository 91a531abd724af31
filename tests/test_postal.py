"""Addresses written as the post of their country expects (postal.py): the order of the
lines and the capitals from Google's address data, the country named in the reader's
language, no country line for mail within HOME_COUNTRY. The letter's address window, the
``address`` filter, the print room's address file and the register's sender lookup share it."""

import copy
from types import SimpleNamespace

import pytest

from wagtail_correspondence import postal
from wagtail_correspondence.delivery.printing import address_lines as print_address_lines
from wagtail_correspondence.rendering import formatting
from wagtail_correspondence.rendering.sandbox import render_source

from . import factories

BRUSSELS = {"line1": "Rue de la Loi 16", "postal_code": "1000", "city": "Brussels", "country": "Belgium"}
LUXEMBOURG = {"line1": "Rue du Marché-aux-Herbes 9", "postal_code": "1728", "city": "Luxembourg",
              "country": "Luxembourg"}
LONDON = {"line1": "10 Downing Street", "postal_code": "SW1A 2AA", "city": "London", "country": "United Kingdom"}


@pytest.fixture
def abroad(settings):
    """A site whose home country is none of the addresses below: every country is written."""
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "HOME_COUNTRY": ""}


def test_each_country_writes_its_lines_its_way_and_the_country_in_the_reader_language(abroad):
    assert postal.address_lines(BRUSSELS, "fr_BE", name="Ada Peeters") == [
        "Ada Peeters", "Rue de la Loi 16", "1000 BRUSSELS", "BELGIQUE"]
    assert postal.address_lines(BRUSSELS, "nl_BE")[-1] == "BELGIË"
    assert postal.address_lines(BRUSSELS, "en_GB")[-1] == "BELGIUM"
    assert postal.address_lines(LUXEMBOURG, "nl_BE") == ["Rue du Marché-aux-Herbes 9", "L-1728 LUXEMBOURG",
                                                         "LUXEMBURG"]
    # The town above the postcode, each on its own line.
    assert postal.address_lines(LONDON, "fr_BE", name="Ada") == [
        "Ada", "10 Downing Street", "LONDON", "SW1A 2AA", "ROYAUME-UNI"]


@pytest.mark.parametrize("home", ["BE", "be", "Belgium"])
def test_mail_within_the_home_country_has_no_country_line(settings, home):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "HOME_COUNTRY": home}
    assert postal.address_lines(BRUSSELS, "fr_BE") == ["Rue de la Loi 16", "1000 BRUSSELS"]
    assert postal.address_lines(LUXEMBOURG, "fr_BE")[-1] == "LUXEMBOURG"


@pytest.mark.parametrize("country", ["BE", "be", "Belgium", "Belgique", "België", " belgium "])
def test_a_country_is_known_by_its_code_or_its_name_in_the_site_languages(country):
    assert postal.country_code(country) == "BE"


def test_an_address_whose_country_is_not_known_keeps_its_parts_as_given(abroad):
    assert postal.address_lines({**BRUSSELS, "country": "Atlantis"}, "fr_BE") == [
        "Rue de la Loi 16", "1000 Brussels", "Atlantis"]
    assert postal.address_lines({"line1": "1 Main St", "postal_code": "9000", "city": "Ghent"}) == [
        "1 Main St", "9000 Ghent"]
    assert postal.address_lines("PO Box 12, Ghent") == ["PO Box 12, Ghent"]


def test_the_address_filter_follows_the_letter_locale_and_escapes_each_line(abroad):
    data = {"a": {**LUXEMBOURG, "line1": "<b>9 Rue</b>"}}
    with formatting.use_locale("fr_BE"):
        assert render_source("{{ a|address }}", data) == "&lt;b&gt;9 Rue&lt;/b&gt;<br>L-1728 LUXEMBOURG<br>LUXEMBOURG"
    with formatting.use_locale("nl_BE"):
        assert render_source("{{ a|address }}", data).endswith("<br>LUXEMBURG")
        # As text (joined to a string, an SMS): the lines joined with commas, still escaped here.
        assert render_source("{{ a|address ~ '' }}", data) == (
            "&lt;b&gt;9 Rue&lt;/b&gt;, L-1728 LUXEMBOURG, LUXEMBURG")


def test_the_print_room_writes_the_address_in_the_letter_language(abroad):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["address"] = LONDON
    letter = SimpleNamespace(data=data, language="nl")
    assert print_address_lines(letter) == ["Ada Peeters", "10 Downing Street", "LONDON", "SW1A 2AA",
                                           "VERENIGD KONINKRIJK"]


def test_the_letter_address_window_is_written_for_its_country(abroad, db, agent):
    from wagtail_correspondence.services import letters as service

    dictionary = factories.dictionary()
    template = factories.letter_template(dictionary, factories.layout(), [factories.fragment(dictionary)])
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["address"] = LUXEMBOURG
    letter = service.generate_letter(agent, service.LetterRequest(template=template, data=data))
    assert "Ada Peeters<br>Rue du Marché-aux-Herbes 9<br>L-1728 LUXEMBOURG<br>LUXEMBOURG" in letter.html


def test_odd_values_in_customer_data_are_written_not_refused(abroad):
    # Numbers, empty parts and a country given as a number: written as text, never an error.
    assert postal.address_lines({"line1": 16, "postal_code": 1000, "city": None, "country": 32}) == [
        "16", "1000", "32"]
    assert postal.address_lines({"line1": "Rue de la Loi 16", "postal_code": 1000, "city": "Brussels",
                                 "country": "be"}, "fr_BE") == ["Rue de la Loi 16", "1000 BRUSSELS", "BELGIQUE"]
    assert postal.address_lines({}) == [] and postal.address_lines(None) == []
