"""Letters in the customer's language: the template, layout and fragments are taken in the
letter's language (their approved variants, linked by translation key); a piece without an
approved translation refuses the letter by name, or falls back to the template's language
when the site allows it, and the letter records which. The variants used are pinned."""

import copy

import pytest
from wagtail.models import Locale

from wagtail_correspondence.models import Fragment, Layout, LetterFragmentPin, LetterTemplatePage
from wagtail_correspondence.services import letters as service

from . import factories
from .test_translations import translate

FIELDS = factories.CUSTOMER_FIELDS + [("customer.language", "Language", "text", False)]
FRENCH_GREETING = {"Greeting": "Salutation", "Dear {{ customer.first_name }},": "Chère {{ customer.first_name }},"}
FRENCH_CLOSING = {"Closing": "Formule finale", "Kind regards,": "Cordialement,"}
FRENCH_LAYOUT = {"Standard letterhead": "En-tête standard",
                 "Northwind Mutual · PO Box 1 · 1000 Brussels": "Northwind Mutual · BP 1 · 1000 Bruxelles"}


@pytest.fixture
def locales(db):
    return {code: Locale.objects.get_or_create(language_code=code)[0] for code in ("en", "fr", "nl")}


def published_variant(model, source, locale, strings):
    """The variant of ``source`` in ``locale``, translated from a PO file and approved (set-up:
    published directly; the review path is tests/test_translations.py's)."""
    translate(source, locale, strings)
    variant = model.objects.get(translation_key=source.translation_key, locale=locale)
    variant.latest_revision.publish(skip_permission_checks=True)
    return model.objects.get(pk=variant.pk)


@pytest.fixture
def content(locales):
    dictionary = factories.dictionary(fields=FIELDS)
    greeting = factories.fragment(dictionary, key="greeting", title="Greeting")
    closing = factories.fragment(dictionary, key="closing", title="Closing", html="<p>Kind regards,</p>")
    layout = factories.layout()
    template = factories.letter_template(dictionary, layout, [greeting, closing])
    french_template = template.copy_for_translation(locales["fr"], copy_parents=True)
    french_template.subject = "Votre compte {{ customer.id }}"
    french_template.save_revision().publish()
    return {"dictionary": dictionary, "greeting": greeting, "closing": closing, "layout": layout,
            "template": template, "french_template": LetterTemplatePage.objects.get(pk=french_template.pk)}


def customer(language):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["language"] = language
    return data


def request(template, language_of_customer="fr", **extra):
    return service.LetterRequest(template=template, data=customer(language_of_customer), **extra)


def test_a_french_speaking_customer_gets_the_approved_french_wording(content, locales, agent):
    greeting = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    closing = published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    layout = published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    letter = service.generate_letter(agent, request(content["template"]))
    assert letter.language == "fr" and letter.language_fallbacks == []
    assert "Chère Ada," in letter.html and "Cordialement," in letter.html and "Dear" not in letter.html
    assert "Votre compte C-1001" in letter.html and "BP 1 · 1000 Bruxelles" in letter.html
    # Pinned: the French variants and the revisions used, not the English fragments referenced.
    assert dict(letter.fragment_pins.values_list("fragment_id", "revision_id")) == {
        greeting.pk: greeting.live_revision_id, closing.pk: closing.live_revision_id}
    assert letter.template_revision_id == content["french_template"].live_revision_id
    assert letter.layout_revision_id == layout.live_revision_id
    # Reproducible byte for byte, even once the French wording has changed since.
    greeting.body = factories.fragment_body(factories.rich_text("<p>Bonjour {{ customer.first_name }},</p>"))
    greeting.save_revision().publish(skip_permission_checks=True)
    assert service.rerender_letter(letter).html == letter.html
    assert "Bonjour" in service.preview_letter(agent, request(content["template"])).html


def test_the_customer_language_can_be_overridden_and_unknown_languages_are_refused(content, locales, agent):
    letter = service.generate_letter(agent, request(content["template"], language="en"))
    assert letter.language == "en" and "Dear Ada," in letter.html
    with pytest.raises(service.LetterError) as refused:
        service.preview_letter(agent, request(content["template"], language="xx"))
    assert [problem.field for problem in refused.value.problems] == ["language"]
    # A customer language the site does not write letters in: the template's.
    assert service.generate_letter(agent, request(content["template"], "tlh")).language == "en"


def test_a_fragment_without_an_approved_translation_refuses_the_letter_by_name(content, locales, agent):
    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    translate(content["closing"], locales["fr"], FRENCH_CLOSING)  # translated, not yet approved
    with pytest.raises(service.LetterError) as refused:
        service.generate_letter(agent, request(content["template"]))
    messages = [problem.message for problem in refused.value.problems]
    assert len(messages) == 1 and "'closing'" in messages[0] and "French" in messages[0], messages
    assert not LetterFragmentPin.objects.exists()


def test_with_fallback_allowed_the_letter_uses_the_template_language_and_records_it(
        content, locales, agent, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "LANGUAGE_FALLBACK": True}
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    letter = service.generate_letter(agent, request(content["template"]))
    assert letter.language == "fr"
    assert "Chère Ada," in letter.html and "Kind regards," in letter.html
    assert letter.language_fallbacks == [
        {"piece": "layout", "name": "Standard letterhead", "language": "fr", "used": "en"},
        {"piece": "fragment", "name": "closing", "language": "fr", "used": "en"}]
    assert service.rerender_letter(letter).html == letter.html


def test_a_template_without_a_translation_refuses_a_dutch_letter(content, locales, agent):
    with pytest.raises(service.LetterError) as refused:
        service.generate_letter(agent, request(content["template"], "nl"))
    [problem] = refused.value.problems
    assert "Payment reminder" in problem.message and "Dutch" in problem.message


def test_an_out_of_date_translation_is_flagged_and_not_used(content, locales, agent, settings):
    from wagtail_correspondence.services.translations import OUT_OF_DATE, SOURCE, UP_TO_DATE, translation_states

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    french_greeting = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    assert service.generate_letter(agent, request(content["template"])).language == "fr"
    greeting = Fragment.objects.get(pk=content["greeting"].pk)
    assert translation_states([greeting, french_greeting]) == {
        greeting.pk: translation_states([greeting])[greeting.pk], french_greeting.pk: translation_states(
            [french_greeting])[french_greeting.pk]}
    assert translation_states([greeting])[greeting.pk].state == SOURCE
    assert translation_states([french_greeting])[french_greeting.pk].state == UP_TO_DATE

    # The English wording changes and is approved: the French one now says what it used to say.
    greeting.body = factories.fragment_body(factories.rich_text("<p>Hello {{ customer.first_name }},</p>"))
    greeting.save_revision().publish(skip_permission_checks=True)
    states = translation_states(Fragment.objects.filter(translation_key=greeting.translation_key))
    assert states[french_greeting.pk].state == OUT_OF_DATE
    assert states[greeting.pk].languages == ("fr",) and states[greeting.pk].out_of_date == ("fr",)
    with pytest.raises(service.LetterError) as refused:
        service.generate_letter(agent, request(content["template"]))
    [problem] = refused.value.problems
    assert "French translation of the fragment 'greeting' is out of date" in problem.message

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "LANGUAGE_FALLBACK": True}
    letter = service.generate_letter(agent, request(content["template"]))
    assert "Hello Ada," in letter.html and "Cordialement," in letter.html
    assert letter.language_fallbacks == [{"piece": "fragment", "name": "greeting", "language": "fr", "used": "en"}]
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "LANGUAGE_FALLBACK": False}

    # Translated again from the new source and approved: up to date, and used.
    french_greeting = published_variant(Fragment, greeting, locales["fr"], {
        "Greeting": "Salutation", "Hello {{ customer.first_name }},": "Bonjour {{ customer.first_name }},"})
    assert translation_states([french_greeting])[french_greeting.pk].state == UP_TO_DATE
    assert "Bonjour Ada," in service.generate_letter(agent, request(content["template"])).html


def test_an_out_of_date_template_translation_refuses_the_letter(content, locales, agent):
    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    template = LetterTemplatePage.objects.get(pk=content["template"].pk)
    template.subject = "About your account {{ customer.id }}"
    template.save_revision().publish()
    with pytest.raises(service.LetterError) as refused:
        service.generate_letter(agent, request(LetterTemplatePage.objects.get(pk=template.pk)))
    assert "translation of the template 'Payment reminder' is out of date" in refused.value.problems[0].message


def test_translators_see_out_of_date_translations_in_the_lists_and_on_their_dashboard(content, locales, client,
                                                                                      make_user, agent):
    from wagtail_correspondence import roles

    french = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    greeting = Fragment.objects.get(pk=content["greeting"].pk)
    greeting.body = factories.fragment_body(factories.rich_text("<p>Hello {{ customer.first_name }},</p>"))
    greeting.save_revision().publish(skip_permission_checks=True)

    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    listing = client.get("/admin/correspondence/fragments/", {"locale": "fr"}).content.decode()
    assert "Out of date" in listing and "Up to date" in listing  # the French greeting; the French closing
    listing = client.get("/admin/correspondence/fragments/", {"locale": "en"}).content.decode()
    assert "Translated: FR · out of date: FR" in listing and "Translated: FR" in listing
    dashboard = client.get("/admin/").content.decode()
    assert "Translations out of date" in dashboard
    assert 'data-translation="fr:greeting"' in dashboard and "fr:closing" not in dashboard
    assert f"/admin/correspondence/fragments/edit/{french.pk}/" in dashboard
    # On the edit pages of the source and of the stale translation: a warning and what to do.
    source_page = client.get(f"/admin/correspondence/fragments/edit/{greeting.pk}/").content.decode()
    assert "Translations out of date (French)" in source_page and "Sync translated snippets" in source_page
    french_page = client.get(f"/admin/correspondence/fragments/edit/{french.pk}/").content.decode()
    assert "This translation is out of date" in french_page and "a letter in French cannot use it" in french_page
    closing = Fragment.objects.get(translation_key=content["closing"].translation_key, locale=locales["fr"])
    assert "out of date" not in client.get(f"/admin/correspondence/fragments/edit/{closing.pk}/").content.decode()

    client.force_login(agent)  # agents do not translate: no panel
    assert "Translations out of date" not in client.get("/admin/").content.decode()


TEMPLATE_FRENCH = {"Payment reminder": "Rappel de paiement",
                   "Your account {{ customer.id }}": "Votre compte {{ customer.id }}"}


def test_a_template_is_translated_in_its_own_words_and_reviewed_like_any_change(content, locales, client, make_user):
    """A template's variant translates its title and subject (never its body: slot names,
    conditions and the fragments it references are the source's); its language's library gets
    the review workflow and the authors' permissions; "Publish in French" in wagtail-localize's
    editor sends it to review instead."""
    from django.urls import reverse
    from wagtail_localize.models import Translation, TranslationSource

    from wagtail_correspondence import roles
    from wagtail_correspondence.models import TemplateLibraryPage
    from wagtail_correspondence.services.letters import available_templates
    from wagtail_correspondence.services.setup import review_workflow, serves_web_pages

    template = content["template"]
    source = TranslationSource.update_or_create_from_instance(template)[0]
    translation = Translation.objects.get_or_create(source=source, target_locale=locales["nl"])[0]
    assert {entry.msgid for entry in translation.export_po()} == set(TEMPLATE_FRENCH)  # no body strings
    dutch = {"Payment reminder": "Betalingsherinnering",
             "Your account {{ customer.id }}": "Uw rekening {{ customer.id }}"}
    po = translation.export_po()
    for entry in po:
        entry.msgstr = dutch[entry.msgid]
    translation.import_po(po)
    translation.save_target(publish=False)
    variant = LetterTemplatePage.objects.get(translation_key=template.translation_key, locale=locales["nl"])
    assert variant.language == "nl" and list(variant.body.raw_data) == list(template.body.raw_data)
    library = TemplateLibraryPage.objects.get(locale=locales["nl"])
    assert variant.get_workflow() == review_workflow() and library.get_workflow() == review_workflow()
    author = make_user("author", roles.CONTENT_AUTHORS)
    assert variant.permissions_for_user(author).can_edit()
    assert not serves_web_pages(TemplateLibraryPage.objects.get(locale=locales["en"]))
    assert list(available_templates()) == [template]  # not its French and Dutch variants

    # A publisher's "Publish in Dutch" in the translation editor: to review, not live.
    client.force_login(make_user("root", superuser=True))
    edit = reverse("wagtailadmin_pages:edit", args=[variant.pk])
    assert "js-translation-editor" in client.get(edit).content.decode()
    response = client.post(edit, {"action": "publish"}, follow=True)
    assert response.status_code == 200 and "sent for review" in response.content.decode()
    variant = LetterTemplatePage.objects.get(pk=variant.pk)
    assert not variant.live and variant.workflow_in_progress
    assert variant.latest_revision.as_object().subject == "Uw rekening {{ customer.id }}"


def test_the_builder_writes_in_the_customer_language_unless_the_agent_picks_another(content, locales, client,
                                                                                    agent):
    import json

    from django.urls import reverse

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    client.force_login(agent)
    preview = reverse("wagtail_correspondence_letters:preview", args=[content["template"].pk])
    form = {"channel": "print", "data_json": json.dumps(customer("fr")), "idempotency_key": "form-1"}
    builder = client.get(reverse("wagtail_correspondence_letters:build", args=[content["template"].pk]))
    assert 'name="language"' in builder.content.decode() and "The customer&#x27;s language" in builder.content.decode()

    french = client.post(preview, form).json()
    assert french["language"] == "fr" and "Chère Ada," in french["html"]
    english = client.post(preview, {**form, "language": "en"}).json()
    assert english["language"] == "en" and "Dear Ada," in english["html"]
    dutch = client.post(preview, {**form, "language": "nl"}).json()  # nothing is in Dutch here
    assert dutch["can_generate"] is False
    assert any("Dutch" in problem["message"] for problem in dutch["missing"])
    refused = client.post(preview, {**form, "language": "xx"})
    assert refused.status_code == 400 and [problem["field"] for problem in refused.json()["missing"]] == ["language"]

    # A draft written in a language the agent picked offers that language again when resumed;
    # one left to the customer's language stays so.
    from wagtail_correspondence.models import Letter

    build = reverse("wagtail_correspondence_letters:build", args=[content["template"].pk])
    for picked, key in (("en", "draft-en"), ("", "draft-auto")):
        saved = client.post(build, {**form, "language": picked, "idempotency_key": key, "action": "save"})
        assert saved.status_code == 302, saved.content.decode()[:300]
        draft = Letter.objects.get(pk=int(saved["Location"].rstrip("/").split("/")[-1]))
        assert draft.language == (picked or "fr") and draft.language_requested == picked
        resumed = client.get(saved["Location"]).content.decode()
        assert ('<option value="en" selected>' in resumed) == (picked == "en")
        assert ('<option value="" selected>' in resumed) == (picked == "")


def test_french_and_dutch_pdfs_write_amounts_and_dates_as_their_readers_do(locales, agent):
    """pdftotext of a generated French and Dutch letter: the translated wording, and Babel's
    formats of each language for money and dates (the letter's locale, not the template's)."""
    import subprocess

    dictionary = factories.dictionary(fields=FIELDS)
    amount = factories.fragment(dictionary, key="amount", title="Amount",
                                html="<p>Please pay {{ balance|money }} by {{ due_date|date }}.</p>")
    layout = factories.layout()
    template = factories.letter_template(dictionary, layout, [amount], subject="Reminder")
    wording = {
        "fr": {"Amount": "Montant", "Please pay {{ balance|money }} by {{ due_date|date }}.":
               "Veuillez payer {{ balance|money }} avant le {{ due_date|date }}.", "Reminder": "Rappel",
               "Payment reminder": "Rappel de paiement", **FRENCH_LAYOUT},
        "nl": {"Amount": "Bedrag", "Please pay {{ balance|money }} by {{ due_date|date }}.":
               "Gelieve {{ balance|money }} te betalen vóór {{ due_date|date }}.", "Reminder": "Herinnering",
               "Payment reminder": "Betalingsherinnering", "Standard letterhead": "Standaardbriefhoofd",
               "Northwind Mutual · PO Box 1 · 1000 Brussels": "Northwind Mutual · Postbus 1 · 1000 Brussel"},
    }
    texts = {}
    for code, strings in wording.items():
        published_variant(Fragment, amount, locales[code], strings)
        published_variant(Layout, layout, locales[code], strings)
        published_variant(LetterTemplatePage, template, locales[code], strings)
        letter = service.generate_letter(agent, request(LetterTemplatePage.objects.get(pk=template.pk), code))
        assert letter.language == code
        pdf = service.verified_pdf(letter)
        texts[code] = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                                              check=True).stdout.decode().split())
    assert "Veuillez payer 250,00 € avant le 15 décembre 2026." in texts["fr"], texts["fr"]
    assert "Rappel" in texts["fr"] and "BP 1 · 1000 Bruxelles" in texts["fr"]
    assert "Gelieve € 250,00 te betalen vóór 15 december 2026." in texts["nl"], texts["nl"]
    assert "Herinnering" in texts["nl"] and "Postbus 1 · 1000 Brussel" in texts["nl"]


def test_the_letters_list_says_each_letter_language(content, locales, agent, client):
    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    french = service.generate_letter(agent, request(content["template"]))
    english = service.generate_letter(agent, request(content["template"], "en"))
    client.force_login(agent)
    listing = client.get("/admin/correspondence/letters/").content.decode()
    rows = {reference: listing.split(reference, 1)[1].split("</tr>", 1)[0] for reference in (french.reference,
                                                                                             english.reference)}
    assert "French" in rows[french.reference] and "English" in rows[english.reference]  # in the reader's words


def test_a_batch_writes_each_row_in_its_customer_language_and_its_dry_run_says_which_cannot_be(
        content, locales, agent, django_capture_on_commit_callbacks):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    from wagtail_correspondence.models import BatchRowStatus, BatchStatus
    from wagtail_correspondence.services import batches

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    lines = [json.dumps({"data": customer(language)}) for language in ("fr", "en", "nl")]
    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.create_batch(agent, LetterTemplatePage.objects.get(pk=content["template"].pk),
                                     SimpleUploadedFile("rows.jsonl", "\n".join(lines).encode()))
    rows = list(batch.rows.order_by("row_number"))
    assert [row.status for row in rows] == [BatchRowStatus.VALID, BatchRowStatus.VALID, BatchRowStatus.ERROR]
    assert "Dutch" in rows[2].errors[0]["message"]  # no Dutch template: said by the dry run, before any letter

    with django_capture_on_commit_callbacks(execute=True):
        batches.start_batch(agent, batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    french, english = (batch.rows.get(row_number=number).letter for number in (1, 2))
    assert (french.language, english.language) == ("fr", "en")
    assert "Chère Ada," in french.html and "Dear Ada," in english.html
    assert set(french.fragment_pins.values_list("fragment__locale__language_code", flat=True)) == {"fr"}
    assert service.rerender_letter(french).html == french.html


def test_the_api_takes_a_language_and_names_the_field_when_it_is_not_one(content, locales, client, agent):
    import json

    from rest_framework.authtoken.models import Token

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=agent).key}"

    def preview(**extra):
        return client.post("/api/correspondence/v1/letters/preview/", content_type="application/json", data=json.dumps(
            {"template": content["template"].pk, "data": customer("fr"), **extra}))

    assert preview().json()["language"] == "fr" and "Chère Ada," in preview().json()["html"]
    assert preview(language="en").json()["language"] == "en"
    refused = preview(language="xx")
    assert refused.status_code == 400 and "language" in refused.json(), refused.content
    # German is a letter language of the site, but no content is written in it: refused by name.
    refused = preview(language="de")
    assert refused.status_code == 400 and [error["field"] for error in refused.json()["errors"]] == ["language"]
    created = client.post("/api/correspondence/v1/letters/", content_type="application/json", data=json.dumps(
        {"template": content["template"].pk, "data": customer("fr")}))
    assert created.status_code == 201 and created.json()["language"] == "fr"
    assert created.json()["language_fallbacks"] == []


# Which source revision a translation was made from ------------------------------------------

def source_revision_of(variant):
    from wagtail_correspondence.models.translation_state import translated_from_revisions

    return translated_from_revisions(type(variant), {variant.pk: variant.live_revision_id}).get(variant.pk)


def test_a_translation_records_the_source_revision_it_was_made_from(content, locales):
    from wagtail_correspondence.models import TranslatedRevision, TranslationCapture

    greeting = content["greeting"]
    translation = translate(greeting, locales["fr"], FRENCH_GREETING)
    # What wagtail-localize read is the approved wording: the source's live revision.
    assert TranslationCapture.objects.get(translation_source=translation.source).source_revision_id == \
        greeting.live_revision_id
    french = Fragment.objects.get(translation_key=greeting.translation_key, locale=locales["fr"])
    assert TranslatedRevision.objects.get(revision=french.latest_revision).source_revision_id == \
        greeting.live_revision_id
    french.latest_revision.publish(skip_permission_checks=True)
    assert source_revision_of(Fragment.objects.get(pk=french.pk)) == greeting.live_revision_id


def test_a_correction_in_the_editor_does_not_bring_a_stale_translation_up_to_date(content, locales, agent,
                                                                                  make_user, client):
    from django.urls import reverse
    from wagtail_localize.models import TranslationSource

    from wagtail_correspondence.services.translations import OUT_OF_DATE, UP_TO_DATE, translation_states

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    french = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    first_source_revision = content["greeting"].live_revision_id
    greeting = Fragment.objects.get(pk=content["greeting"].pk)
    greeting.body = factories.fragment_body(factories.rich_text("<p>Hello {{ customer.first_name }},</p>"))
    greeting.save_revision().publish(skip_permission_checks=True)
    assert translation_states([french])[french.pk].state == OUT_OF_DATE

    # A translator fixes a typo in the French variant, in Wagtail's editor, and it is approved
    # (after the English change): it still translates the old English.
    french.title = "Salutations"
    french.save_revision().publish(skip_permission_checks=True)
    french = Fragment.objects.get(pk=french.pk)
    assert source_revision_of(french) == first_source_revision
    assert translation_states([french])[french.pk].state == OUT_OF_DATE
    with pytest.raises(service.LetterError) as refused:
        service.generate_letter(agent, request(content["template"]))
    assert "French translation of the fragment 'greeting' is out of date" in refused.value.problems[0].message

    # "Update translations" in wagtail-localize reads the new English; the changed string is
    # translated and the result approved: up to date, from the new source revision.
    client.force_login(make_user("localiser", superuser=True))
    translation_source = TranslationSource.objects.get(object_id=greeting.translation_key, locale=locales["en"])
    response = client.post(reverse("wagtail_localize:update_translations", args=[translation_source.pk]), {})
    assert response.status_code == 302, response.content.decode()[:500]
    french = published_variant(Fragment, greeting, locales["fr"], {
        "Greeting": "Salutation", "Hello {{ customer.first_name }},": "Bonjour {{ customer.first_name }},"})
    assert source_revision_of(french) == Fragment.objects.get(pk=greeting.pk).live_revision_id
    assert translation_states([french])[french.pk].state == UP_TO_DATE
    assert "Bonjour Ada," in service.generate_letter(agent, request(content["template"])).html


def test_strings_translated_from_an_older_capture_of_the_source_stay_out_of_date(content, locales, agent):
    from wagtail_correspondence.services.translations import OUT_OF_DATE, translation_states

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    translation = translate(content["greeting"], locales["fr"], FRENCH_GREETING)
    greeting = Fragment.objects.get(pk=content["greeting"].pk)
    greeting.body = factories.fragment_body(factories.rich_text("<p>Hello {{ customer.first_name }},</p>"))
    greeting.save_revision().publish(skip_permission_checks=True)
    # The translator saves again what was captured before the English changed, and it is
    # approved: written after the change, yet it translates the old English.
    translation.save_target(publish=False)
    french = Fragment.objects.get(translation_key=greeting.translation_key, locale=locales["fr"])
    french.latest_revision.publish(skip_permission_checks=True)
    french = Fragment.objects.get(pk=french.pk)
    assert french.live_revision.created_at > greeting.last_published_at
    assert translation_states([french])[french.pk].state == OUT_OF_DATE
    with pytest.raises(service.LetterError):
        service.generate_letter(agent, request(content["template"]))


def test_existing_translations_get_their_source_revision_where_it_is_certain(content, locales):
    import importlib

    from django.apps import apps

    from wagtail_correspondence.models import TranslatedRevision, TranslationCapture

    migration = importlib.import_module("wagtail_correspondence.migrations.0042_translation_sources")
    french_closing = published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    french_greeting = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    greeting = Fragment.objects.get(pk=content["greeting"].pk)  # approved again since its capture
    greeting.save_revision().publish(skip_permission_checks=True)
    TranslationCapture.objects.all().delete()
    TranslatedRevision.objects.all().delete()

    migration.record_what_is_certain(apps, None)
    assert source_revision_of(french_closing) == content["closing"].live_revision_id
    assert source_revision_of(french_greeting) is None  # not known: the dates decide
    assert not TranslatedRevision.objects.filter(revision__object_id=str(french_greeting.pk)).exists()


def test_the_letter_templates_list_says_each_template_language_and_translations(
        content, locales, client, make_user):
    from wagtail_correspondence import roles

    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    listing = client.get("/admin/correspondence/letter-templates/").content.decode()
    # (Each title carries its locale's badge, Wagtail's own: no language column of ours.)
    assert "Translated: FR" in listing and "Up to date" in listing
    template = LetterTemplatePage.objects.get(pk=content["template"].pk)
    template.subject = "About your account {{ customer.id }}"
    template.save_revision().publish()
    listing = client.get("/admin/correspondence/letter-templates/").content.decode()
    assert "Translated: FR · out of date: FR" in listing and "Out of date" in listing


def test_a_fragment_and_its_translation_name_the_templates_they_are_used_in_once(content, locales, agent):
    from wagtail_correspondence.services.usage import fragment_usage

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    french = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    service.generate_letter(agent, request(content["template"]))
    # The English template and its French variant both reference the English greeting: one
    # template each, in the fragment's own language; the French letter counts for the French one.
    english_usage = fragment_usage(Fragment.objects.get(pk=content["greeting"].pk))
    assert [page.pk for page in english_usage.templates] == [content["template"].pk]
    assert english_usage.generated_letters == 0
    french_usage = fragment_usage(french)
    assert [page.pk for page in french_usage.templates] == [content["french_template"].pk]
    assert french_usage.generated_letters == 1


def test_a_source_approved_again_with_the_same_wording_leaves_its_translations_up_to_date(
        content, locales, agent):
    from wagtail_correspondence.services.translations import OUT_OF_DATE, UP_TO_DATE, translation_states

    published_variant(Layout, content["layout"], locales["fr"], FRENCH_LAYOUT)
    published_variant(Fragment, content["closing"], locales["fr"], FRENCH_CLOSING)
    french = published_variant(Fragment, content["greeting"], locales["fr"], FRENCH_GREETING)
    greeting = Fragment.objects.get(pk=content["greeting"].pk)
    greeting.notes = "Reviewed with Legal in December"  # the same in every language: not wording
    greeting.save_revision().publish(skip_permission_checks=True)
    greeting = Fragment.objects.get(pk=greeting.pk)
    assert source_revision_of(french) != greeting.live_revision_id
    assert translation_states([french])[french.pk].state == UP_TO_DATE
    assert "Chère Ada," in service.generate_letter(agent, request(content["template"])).html

    greeting.body = factories.fragment_body(factories.rich_text("<p>Hello {{ customer.first_name }},</p>"))
    greeting.save_revision().publish(skip_permission_checks=True)
    assert translation_states([french])[french.pk].state == OUT_OF_DATE
    with pytest.raises(service.LetterError):
        service.generate_letter(agent, request(content["template"]))
