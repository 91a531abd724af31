"""Translated content (wagtail-localize): fragments and layouts have a variant per content
language, linked by their translation key, made from PO files or the translation editor."""

import polib
import pytest
from django.db import IntegrityError, transaction
from wagtail.models import Locale
from wagtail_localize.models import Translation, TranslationSource

from wagtail_correspondence.models import Fragment, Layout
from wagtail_correspondence.services import translations

from . import factories

FRENCH = {
    "Greeting": "Salutation",
    "Dear {{ customer.first_name }},": "Cher {{ customer.first_name }},",
}


@pytest.fixture
def locales(db):
    return {code: Locale.objects.get_or_create(language_code=code)[0] for code in ("en", "fr", "nl")}


@pytest.fixture
def dictionary(db):
    return factories.dictionary()


def translate(instance, locale, strings, user=None):
    """Translate ``instance`` into ``locale`` as a translator would with a PO file: export,
    fill in, import; then save the variant as a draft (it is reviewed before it is used)."""
    source, _created = TranslationSource.update_or_create_from_instance(instance)  # as "Sync" does
    translation, _created = Translation.objects.get_or_create(source=source, target_locale=locale)
    po = translation.export_po()
    for entry in po:
        entry.msgstr = strings.get(entry.msgid, "")
    translation.import_po(polib.pofile(str(po)), user=user)
    translation.save_target(user=user, publish=False)
    return translation


def test_a_fragment_is_translated_into_a_linked_variant_from_a_po_file(locales, dictionary):
    source = factories.fragment(dictionary, key="greeting")
    assert source.locale == locales["en"] and source.language == "en"

    translation_source = TranslationSource.get_or_create_from_instance(source)[0]
    source_strings = {entry.msgid for entry in Translation.objects.get_or_create(
        source=translation_source, target_locale=locales["fr"])[0].export_po()}
    # What a translator is given: the wording, not the key, the dictionary or the notes, which
    # the translation editor does not offer to change either.
    assert source_strings == {"Greeting", "Dear {{ customer.first_name }},"}
    assert not translation_source.overridablesegment_set.exists()

    translation = translate(source, locales["fr"], FRENCH)
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["fr"])
    assert variant.pk != source.pk and variant.language == "fr"
    assert variant.key == source.key and variant.data_dictionary_id == source.data_dictionary_id
    assert variant.title == "Salutation"
    assert "Cher {{ customer.first_name }}," in str(variant.body[0].value)
    # Not in use until reviewed: saved as a draft of its own, never published by the translation,
    # with none of the source's publication or revisions.
    assert not variant.live and variant.live_revision_id is None and variant.first_published_at is None
    assert variant.latest_revision.object_id == str(variant.pk) and variant.revisions.count() == 1
    assert translation.get_progress() == (2, 2)
    assert source.get_translation(locales["fr"]) == variant and variant.get_translation(locales["en"]) == source


def test_an_untranslated_string_keeps_the_variant_from_being_made(locales, dictionary):
    from wagtail_localize.models import MissingTranslationError

    source = factories.fragment(dictionary, key="greeting")
    with pytest.raises(MissingTranslationError):
        source_translation = TranslationSource.get_or_create_from_instance(source)[0]
        source_translation.create_or_update_translation(locales["nl"], publish=False)
    assert not Fragment.objects.filter(locale=locales["nl"]).exists()


def test_a_key_is_unique_within_a_language_and_shared_by_the_variants(locales, dictionary):
    source = factories.fragment(dictionary, key="greeting")
    translate(source, locales["fr"], FRENCH)
    assert set(Fragment.objects.filter(key="greeting").values_list("locale__language_code", flat=True)) == {"en", "fr"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Fragment.objects.create(title="Another", key="greeting", data_dictionary=dictionary, body=source.body,
                                channels=["print"], locale=locales["en"])


def test_a_layout_translates_its_letterhead_and_keeps_its_paper(locales):
    source = factories.layout(name="Standard letterhead", footer="<p>Registered in Brussels</p>",
                              margin_top=30, page_number_text="Page {page} of {pages}")
    translate(source, locales["nl"], {"Registered in Brussels": "Ingeschreven in Brussel",
                                      "Northwind Mutual · PO Box 1 · 1000 Brussels":
                                          "Northwind Mutual · Postbus 1 · 1000 Brussel",
                                      "Page {page} of {pages}": "Pagina {page} van {pages}"})
    variant = Layout.objects.get(translation_key=source.translation_key, locale=locales["nl"])
    assert variant.name == source.name and variant.margin_top == 30  # the same paper
    assert "Ingeschreven in Brussel" in variant.footer and variant.page_number_text == "Pagina {page} van {pages}"
    assert variant.sender_block == "Northwind Mutual · Postbus 1 · 1000 Brussel"
    assert not variant.live and variant.live_revision_id is None
    # Of the layout, only the logo may differ per language.
    overridable = TranslationSource.get_or_create_from_instance(source)[0].overridablesegment_set
    assert {segment.context.path for segment in overridable.all()} <= {"logo"}


def test_publishing_in_the_translation_editor_sends_the_variant_to_review(client, locales, dictionary, make_user):
    """wagtail-localize's editor offers "Publish in French" to those who hold the publish
    permission (superusers too). Under the review rules that saves the variant with its
    translated strings as a draft and sends it to review; someone else approves it."""
    from django.urls import reverse
    from wagtail.models import TaskState

    from wagtail_correspondence import roles

    source = factories.fragment(dictionary, key="greeting")
    translation = translate(source, locales["fr"], {"Greeting": "Salutation"})  # the body not yet
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["fr"])
    assert translations.untranslated_count(translation) == 1
    # The translator finishes in the editor (strings are saved one by one as they are typed).
    po = translation.export_po()
    for entry in po:
        entry.msgstr = FRENCH[entry.msgid]
    translation.import_po(polib.pofile(str(po)))

    superuser = make_user("root", superuser=True)
    client.force_login(superuser)
    edit = reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[variant.pk])
    assert "js-translation-editor" in client.get(edit).content.decode()  # wagtail-localize's editor
    response = client.post(edit, {"action": "publish"}, follow=True)
    assert response.status_code == 200 and "sent for review" in response.content.decode()
    # Reviewed in Wagtail's own editor (wagtail-localize's offers no review), where the
    # translation can be started again for later changes of the source.
    assert "Start Synced translation" in response.content.decode()
    variant.refresh_from_db()
    assert not variant.live and variant.live_revision_id is None  # not published
    assert variant.workflow_in_progress
    assert "Cher {{ customer.first_name }}," in str(variant.latest_revision.as_object().body[0].value)

    # Another person approves the French wording; then it is live. The submitter may not.
    task_state = variant.current_workflow_state.current_task_state
    approve = reverse("wagtailsnippets_wagtail_correspondence_fragment:workflow_action",
                      args=[variant.pk, "approve", task_state.pk])
    client.post(approve, {"comment": ""})
    variant.refresh_from_db()
    assert not variant.live
    client.force_login(make_user("reviewer", roles.CONTENT_REVIEWERS))
    client.post(approve, {"comment": "Checked"})
    variant.refresh_from_db()
    assert variant.live and TaskState.objects.get(pk=task_state.pk).status == TaskState.STATUS_APPROVED
    assert "Cher {{ customer.first_name }}," in str(variant.live_object().body[0].value)
    source.refresh_from_db()
    assert "Dear" in str(source.live_object().body[0].value)  # the source is untouched


def test_an_author_stops_the_synced_translation_and_submits_the_variant_for_review(client, locales, dictionary,
                                                                                   make_user):
    """Authors may not publish, so wagtail-localize's editor offers them no "Publish". Stopping
    the synced translation keeps what they translated as the variant's draft; they submit it
    for review in Wagtail's editor."""
    from django.urls import reverse

    from wagtail_correspondence import roles

    source = factories.fragment(dictionary, key="greeting")
    translation = translate(source, locales["nl"], {"Greeting": "Greeting"})  # begun, wording not yet
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["nl"])
    po = translation.export_po()
    for entry in po:
        entry.msgstr = {"Greeting": "Aanhef", "Dear {{ customer.first_name }},": "Beste {{ customer.first_name }},"}[
            entry.msgid]
    author = make_user("author", roles.CONTENT_AUTHORS)
    translation.import_po(polib.pofile(str(po)), user=author)

    client.force_login(author)
    edit = reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[variant.pk])
    editor = client.get(edit).content.decode()
    assert "js-translation-editor" in editor and "&quot;canPublish&quot;: false" in editor
    stop = reverse("wagtail_localize:stop_translation", args=[translation.pk])
    response = client.post(stop, {"next": edit}, follow=True)
    page = response.content.decode()
    assert "kept as a draft" in page and "Submit to Legal review" in page  # Wagtail's own editor now
    assert "not translated yet" not in page  # both strings were
    variant.refresh_from_db()
    translation.refresh_from_db()
    assert not translation.enabled and not variant.live
    kept = variant.latest_revision
    assert kept.user == author and "Beste {{ customer.first_name }}," in str(kept.as_object().body[0].value)
    assert kept.as_object().title == "Aanhef"

    # Someone who may not change fragments stops nothing and writes nothing.
    agent = make_user("agent", roles.AGENTS)
    translation.enabled = True
    translation.save()
    client.force_login(agent)
    assert client.post(stop, {"next": edit}).status_code in (302, 403)
    translation.refresh_from_db()
    assert translation.enabled and Fragment.objects.get(pk=variant.pk).latest_revision_id == kept.pk


def test_a_variant_kept_with_strings_untranslated_says_so(client, locales, dictionary, make_user):
    from django.urls import reverse

    from wagtail_correspondence import roles

    source = factories.fragment(dictionary, key="greeting")
    translation = translate(source, locales["fr"], {"Greeting": "Salutation"})
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["fr"])
    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    edit = reverse("wagtailsnippets_wagtail_correspondence_fragment:edit", args=[variant.pk])
    page = client.post(reverse("wagtail_localize:stop_translation", args=[translation.pk]), {"next": edit},
                       follow=True).content.decode()
    assert "1 string is not translated yet: the variant keeps it in the source language (English)." in page
    variant.refresh_from_db()
    assert "Dear {{ customer.first_name }}," in str(variant.latest_revision.as_object().body[0].value)


def test_a_fragment_with_translations_keeps_the_key_they_share(locales, dictionary):
    from django.core.exceptions import ValidationError

    source = factories.fragment(dictionary, key="greeting")
    translate(source, locales["fr"], FRENCH)
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["fr"])
    for fragment in (source, variant):
        fragment.key = "salutation"
        with pytest.raises(ValidationError) as refused:
            fragment.full_clean()
        assert "the key is the same in every language" in str(refused.value.message_dict["key"])
    variant.key = "greeting"
    variant.full_clean()  # unchanged: fine
    alone = factories.fragment(dictionary, key="closing")
    alone.key = "sign-off"
    alone.full_clean()  # no translations: the key may change


def test_translators_get_the_words_never_the_conditions_data_names_or_bare_merge_fields(locales, dictionary):
    from wagtail.rich_text import RichText

    invoices = ("repeating_list", {
        "source": "invoices", "item_name": "item", "style": "table", "empty_text": "No open invoices.",
        "columns": [{"heading": "Invoice", "value": "{{ item.number }}"},
                    {"heading": "Amount", "value": "{{ item.amount|money }} due"}],
        "item_text": RichText("")})
    table = ("table", {"data": [["Balance", "{{ balance|money }}"]], "first_row_is_table_header": False,
                       "first_col_is_header": True, "table_caption": "Your account"})
    conditional = ("conditional", {"condition": "balance > 100", "otherwise": [],
                                   "content": [factories.rich_text("<p>Please pay soon.</p>"), invoices, table]})
    source = factories.fragment(dictionary, key="dunning", title="Dunning", body=factories.fragment_body(conditional))
    strings = {"Dunning": "Relance", "Please pay soon.": "Veuillez payer rapidement.", "Invoice": "Facture",
               "Amount": "Montant", "{{ item.amount|money }} due": "{{ item.amount|money }} dus",
               "No open invoices.": "Aucune facture ouverte.", "Balance": "Solde", "Your account": "Votre compte"}
    translation_source = TranslationSource.get_or_create_from_instance(source)[0]
    offered = {entry.msgid for entry in Translation.objects.get_or_create(
        source=translation_source, target_locale=locales["fr"])[0].export_po()}
    assert offered == set(strings)  # not "balance > 100", "invoices", "item", "{{ item.number }}"...

    translate(source, locales["fr"], strings)
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["fr"])
    block = variant.body[0].value
    assert block["condition"] == "balance > 100"
    listed, cells = block["content"][1].value, block["content"][2].value
    assert (listed["source"], listed["item_name"], listed["empty_text"]) == ("invoices", "item",
                                                                             "Aucune facture ouverte.")
    assert [(column["heading"], column["value"]) for column in listed["columns"]] == [
        ("Facture", "{{ item.number }}"), ("Montant", "{{ item.amount|money }} dus")]
    assert cells["data"] == [["Solde", "{{ balance|money }}"]] and cells["table_caption"] == "Votre compte"


def test_machine_translation_fills_the_editor_and_the_result_is_still_reviewed(
        client, locales, dictionary, make_user, settings, agent):
    """With a machine translator configured (here the tests' fake one, never an outside
    service), the editor's "Translate with ..." fills the strings; the variant is a draft like
    any translation, sent to review by its author, and nobody without the right to change
    wording may run it."""
    from django.urls import reverse

    from wagtail_correspondence import roles

    settings.WAGTAILLOCALIZE_MACHINE_TRANSLATOR = {"CLASS": "tests.fake_translator.FakeTranslator", "OPTIONS": {}}
    source = factories.fragment(dictionary, key="greeting")
    translation_source = TranslationSource.update_or_create_from_instance(source)[0]
    translation = Translation.objects.create(source=translation_source, target_locale=locales["fr"])
    translation.save_target(publish=False)  # what "Translate" does: the variant starts as a copy
    machine = reverse("wagtail_localize:machine_translate", args=[translation.pk])

    client.force_login(agent)
    refused = client.post(machine)  # Wagtail answers a refusal in the admin with its dashboard
    assert (refused.status_code, refused.url) == (302, "/admin/") and translation.get_progress() == (2, 0)

    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    client.post(machine)
    assert translation.get_progress() == (2, 2)
    client.post(reverse("wagtail_localize:stop_translation", args=[translation.pk]))
    variant = Fragment.objects.get(translation_key=source.translation_key, locale=locales["fr"])
    assert not variant.live and "Cher {{ customer.first_name }}," in str(
        variant.latest_revision.as_object().body[0].value)
