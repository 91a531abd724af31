"""The product's own screens in English, French and Dutch (wagtail_correspondence/locale/fr
and nl): complete catalogues whose placeholders match their source, compiled as shipped, and
the admin in the language each user picks. The portal's language is tested in test_portal.py."""

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.urls import reverse
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


@pytest.mark.parametrize("script, name", [("letter-builder.js", "builder"), ("register-form.js", "register_form")])
def test_scripts_write_only_words_they_are_given(script, name):
    """Every key a script asks t() for is one of its translated words, and no English sentence
    is left in the script itself (a word the server does not hand over would show as its key)."""
    from wagtail_correspondence.script_strings import STRINGS

    source = (Path(wagtail_correspondence.__file__).parent / "static" / "wagtail_correspondence" / "js"
              / script).read_text()
    asked = set(re.findall(r"\bt\('([a-z_]+)'", source)) | set(re.findall(r"'(sms_meta_[a-z]+)'", source))
    assert asked and asked <= set(STRINGS[name]), asked - set(STRINGS[name])
    assert not re.findall(r"textContent = '[A-Z]", source)


def test_the_builders_words_reach_it_in_the_users_language(client, make_user, customer_dictionary, standard_layout):
    import json

    from wagtail.users.models import UserProfile

    from tests import factories

    template = factories.letter_template(customer_dictionary, standard_layout,
                                         [factories.fragment(customer_dictionary, key="greeting")])
    user = make_user("agent-nl", superuser=True)
    UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": "nl"})
    client.force_login(user)
    page = client.get(reverse("wagtail_correspondence_letters:build", args=[template.pk])).content.decode()
    words = json.loads(re.search(r'<script id="cc-strings-builder" type="application/json">(.*?)</script>',
                                 page, re.S).group(1))
    assert words["move_up"] != "Move up" and words["add"] == "Toevoegen"
    assert words["ready"] == "Klaar om te genereren" and words["no_customer"] == "Geen klant gevonden."
    register = client.get("/admin/correspondence/register/entries/create/").content.decode()
    assert 'id="cc-strings-register_form"' in register and "Afzender: %(name)s (%(id)s)" in register
    assert ">Registreren</button>" in register  # the verb, not the register's name ("Register")


def eager_calls(node, eager, in_function=False):
    """Lines of calls to ``eager`` names outside any function body."""
    import ast

    for child in ast.iter_child_nodes(node):
        if (not in_function and isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
                and child.func.id in eager):
            yield child.lineno
        yield from eager_calls(child, eager, in_function or isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))


def test_no_words_are_translated_at_import():
    """A message translated by gettext() in a module's or a class's body is translated once, when
    the module is imported, in whatever language the first request speaks: every later reader
    sees it in that one. Such messages must be lazy (gettext_lazy)."""
    import ast

    package = Path(wagtail_correspondence.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = path.read_text()
        tree = ast.parse(source)
        eager = {alias.asname or alias.name for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
                 for alias in node.names if alias.name in ("gettext", "ngettext", "pgettext", "npgettext")}

        found += [f"{path.relative_to(package)}:{line}" for line in eager_calls(tree, eager)]
    assert not found, found


def test_the_fragment_list_speaks_dutch_in_its_columns_and_counts(
        client, make_user, customer_dictionary, standard_layout):
    from wagtail.users.models import UserProfile

    from tests import factories

    fragment = factories.fragment(customer_dictionary, key="greeting")
    factories.letter_template(customer_dictionary, standard_layout, [fragment])
    user = make_user("author-nl", superuser=True)
    UserProfile.objects.update_or_create(user=user, defaults={"preferred_language": "nl"})
    client.force_login(user)
    page = client.get(reverse("wagtailsnippets_wagtail_correspondence_fragment:list")).content.decode()
    assert "1 sjabloon · 0 concepten · 0 brieven" in page and "template(s)" not in page
    compact = page.replace("\n", "").replace(" ", "")
    assert "Bijgewerkt" in page and ">Updated<" not in compact
