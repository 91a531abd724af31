"""The product's own screens in English, French and Dutch (wagtail_correspondence/locale/fr
and nl): complete catalogues whose placeholders match their source, compiled as shipped, and
the admin in the language each user picks. The portal's language is tested in test_portal.py."""

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.utils import translation

import wagtail_correspondence
from wagtail_correspondence.conf import UI_LANGUAGES

LOCALE = Path(wagtail_correspondence.__file__).parent / "locale"
TRANSLATED = [language for language in UI_LANGUAGES if language != "en"]


def catalogue(language, kind="po"):
    with open(LOCALE / language / "LC_MESSAGES" / f"django.{kind}", "rb") as file:
        return read_po(file, locale=language) if kind == "po" else read_mo(file)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language):
    po = catalogue(language)
    messages = [message for message in po if message.id]
    assert len(messages) > 1500
    untranslated = [message.id for message in messages
                    if not all(message.string if isinstance(message.string, tuple) else [message.string])]
    assert not untranslated, untranslated[:10]
    assert not [message.id for message in messages if message.fuzzy]
    # Babel's python-format checker: the same %(name)s / %s placeholders as the source.
    problems = [(message.id, [str(error) for error in errors]) for message, errors in po.check() if errors]
    assert not problems, problems[:10]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_matches_its_source(language):
    def messages(catalogue):
        def key(value):
            return tuple(value) if isinstance(value, (list, tuple)) else value

        return {(key(m.id), m.context): key(m.string) for m in catalogue if m.id}

    assert messages(catalogue(language)) == messages(catalogue(language, "mo"))


def test_the_admin_speaks_the_language_each_user_picks(client, make_user):
    from wagtail.users.models import UserProfile

    words = "My work"  # the dashboard panel's heading
    for language, expected in (("nl", "Mijn werk"), ("fr", None), ("en", words)):
        user = make_user(f"officer-{language}", superuser=True)
        UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": language})
        client.force_login(user)
        page = client.get("/admin/").content.decode()
        with translation.override(language):
            translated = translation.gettext(words)
        assert translated in page and f'lang="{language}"' in page, language
        if language != "en":
            assert translated != words and words not in page
        if expected:
            assert translated == expected
    account = client.get("/admin/account/").content.decode()
    # The languages a user may pick: the product's three, no other.
    offered = set(re.findall(r'<option value="([a-z-]+)"', account.split('name="locale-preferred_language"')[1]
                             .split("</select>")[0]))
    assert offered == {"en", "fr", "nl"}, offered
