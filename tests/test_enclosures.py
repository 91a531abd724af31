"""Enclosures: approved PDFs a template sends (always, or offered ticked or not), appended to the
letter's PDF after the letter, pinned by revision and bytes; the agent's choice is checked
(unknown, mandatory left out, too many, not approved), through the services, the builder, the
API and batches."""

import copy
import hashlib
import subprocess

import pytest
from correspondence_demo.register import tiny_pdf
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from wagtail_correspondence import roles
from wagtail_correspondence.models import Enclosure, Letter, LetterTemplatePage, TemplateEnclosure
from wagtail_correspondence.models.letters import letter_storage
from wagtail_correspondence.services import letters as service

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")
API = "/api/correspondence/v1/"


def replace_file(item, *lines):
    item.file = ContentFile(tiny_pdf(lines), name="upload.pdf")
    item.full_clean()
    item.save()
    item.save_revision().publish()
    item.refresh_from_db()
    return item


@pytest.fixture
def library(db):
    return {
        "terms": factories.enclosure("terms", "Terms and conditions", "TERMS AND CONDITIONS 2026"),
        "mandate": factories.enclosure("mandate", "Direct debit mandate", "DIRECT DEBIT MANDATE FORM"),
        "leaflet": factories.enclosure("leaflet", "Budget help leaflet", "BUDGET HELP LEAFLET"),
    }


@pytest.fixture
def template(customer_dictionary, standard_layout, library):
    greeting = factories.fragment(customer_dictionary, key="greeting")
    return factories.letter_template(customer_dictionary, standard_layout, [greeting], channels=["print", "email"],
                                     enclosures=[
                                         TemplateEnclosure(enclosure=library["terms"], inclusion="mandatory"),
                                         TemplateEnclosure(enclosure=library["mandate"], inclusion="preselected"),
                                         TemplateEnclosure(enclosure=library["leaflet"], inclusion="optional")])


def request_for(template, **kwargs):
    return service.LetterRequest(template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print",
                                 **kwargs)


def pdf_text(letter):
    with letter.pdf.open("rb") as handle:
        content = handle.read()
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def problems(agent, template, **kwargs):
    with pytest.raises(service.LetterError) as caught:
        service.generate_letter(agent, request_for(template, **kwargs))
    return {problem.field: problem.message for problem in caught.value.problems}


def test_an_enclosure_is_a_readable_pdf_stored_under_its_hash(db):
    for content, message in ((b"hello", "not a PDF"), (b"%PDF-1.4 broken", "cannot be read")):
        with pytest.raises(ValidationError) as caught:
            Enclosure(title="Bad", key="bad", file=ContentFile(content, name="bad.pdf")).full_clean()
        assert message in " ".join(caught.value.message_dict["file"])
    item = factories.enclosure("terms", "Terms", "Line one")
    content = tiny_pdf(["Line one"])
    assert item.file_sha256 == hashlib.sha256(content).hexdigest() and item.pages == 1
    assert item.file.name.endswith(f"{item.file_sha256}.pdf")
    assert not Letter.objects.exists()


def test_a_letter_carries_its_enclosures_after_its_own_pages(agent, template, library):
    letter = service.generate_letter(agent, request_for(template))
    text = pdf_text(letter)
    # The template's choice: the mandatory one and the ticked one, in the template's order.
    assert text.index("Dear Ada") < text.index("TERMS AND CONDITIONS") < text.index("DIRECT DEBIT MANDATE")
    assert "BUDGET HELP" not in text
    pins = list(letter.enclosure_pins.order_by("position"))
    assert [(pin.enclosure.key, pin.position) for pin in pins] == [("terms", 1), ("mandate", 2)]
    assert pins[0].revision_id == library["terms"].live_revision_id
    assert pins[0].file_sha256 == library["terms"].file_sha256
    letter_pages = letter.pdf_pages - 2
    assert letter_pages >= 1
    with letter.pdf.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == letter.pdf_sha256


def test_the_agent_chooses_within_the_templates_bounds(agent, template, library):
    letter = service.generate_letter(agent, request_for(template, enclosures=["terms", "leaflet"]))
    assert [pin.enclosure.key for pin in letter.enclosure_pins.order_by("position")] == ["terms", "leaflet"]
    # The template's order holds unless it lets agents change it.
    letter = service.generate_letter(agent, request_for(template, enclosures=["leaflet", "terms"]))
    assert [pin.enclosure.key for pin in letter.enclosure_pins.order_by("position")] == ["terms", "leaflet"]
    LetterTemplatePage.objects.filter(pk=template.pk).update(enclosures_reorderable=True)
    template.enclosures_reorderable = True
    template.save_revision().publish()
    template = LetterTemplatePage.objects.get(pk=template.pk)
    letter = service.generate_letter(agent, request_for(template, enclosures=["leaflet", "terms"]))
    assert [pin.enclosure.key for pin in letter.enclosure_pins.order_by("position")] == ["leaflet", "terms"]
    assert pdf_text(letter).index("BUDGET HELP") < pdf_text(letter).index("TERMS AND CONDITIONS")


def test_choices_out_of_bounds_are_refused_naming_the_enclosures(agent, template, library):
    count = Letter.objects.count()
    assert "cannot be left out" in problems(agent, template, enclosures=["mandate"])["enclosures"]
    assert "no enclosure 'forged'" in problems(agent, template, enclosures=["terms", "forged"])["enclosures"]
    assert "listed twice" in problems(agent, template, enclosures=["terms", "terms"])["enclosures"]
    assert "list of enclosure keys" in problems(agent, template, enclosures="terms")["enclosures"]
    template.max_enclosures = 2
    template.save_revision().publish()
    template = LetterTemplatePage.objects.get(pk=template.pk)
    assert "At most 2" in problems(agent, template, enclosures=["terms", "mandate", "leaflet"])["enclosures"]
    library["leaflet"].unpublish()
    assert "not approved" in problems(agent, template, enclosures=["terms", "leaflet"])["enclosures"]
    assert Letter.objects.count() == count, "nothing is saved"


def test_a_letter_pins_the_approved_bytes_it_carried(agent, template, library):
    first = service.generate_letter(agent, request_for(template))
    old_name, old_sha = library["terms"].file.name, library["terms"].file_sha256
    replace_file(library["terms"], "TERMS AND CONDITIONS 2027")
    second = service.generate_letter(agent, request_for(template))
    assert "2027" in pdf_text(second) and "2026" in pdf_text(first)
    first_pin = first.enclosure_pins.get(enclosure__key="terms")
    assert first_pin.file_sha256 == old_sha and letter_storage().exists(old_name)
    assert second.enclosure_pins.get(enclosure__key="terms").revision_id != first_pin.revision_id


def test_an_enclosure_altered_in_storage_stops_generation(agent, template, library):
    name = library["mandate"].file.name
    storage = letter_storage()
    storage.delete(name)
    storage.save(name, ContentFile(tiny_pdf(["FORGED MANDATE"])))
    assert "not the one approved" in problems(agent, template)["enclosures"]


def test_a_template_cannot_require_more_enclosures_than_its_maximum(template, library):
    template = LetterTemplatePage.objects.get(pk=template.pk)
    template.max_enclosures = 0
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert "max_enclosures" in caught.value.message_dict
    template.max_enclosures = None
    template.enclosures.add(TemplateEnclosure(enclosure=library["terms"], inclusion="optional"))
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert "listed twice" in " ".join(caught.value.message_dict["enclosures"])


def test_the_api_offers_and_takes_enclosures(client, agent, template):
    client.force_login(agent)
    offered = client.get(f"{API}templates/{template.pk}/").json()
    assert [(item["key"], item["inclusion"]) for item in offered["enclosures"]] == [
        ("terms", "mandatory"), ("mandate", "preselected"), ("leaflet", "optional")]
    payload = {"template": template.pk, "data": factories.SAMPLE_DATA, "channel": "print",
               "enclosures": ["terms", "leaflet"]}
    created = client.post(f"{API}letters/", payload, content_type="application/json")
    assert created.status_code == 201
    assert [item["key"] for item in created.json()["enclosures"]] == ["terms", "leaflet"]
    refused = client.post(f"{API}letters/", {**payload, "enclosures": ["leaflet"]}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "enclosures"
    preview = client.post(f"{API}letters/preview/", payload, content_type="application/json").json()
    assert [item["key"] for item in preview["enclosures"]] == ["terms", "leaflet"]


def test_the_builder_offers_the_optional_enclosures(client, agent, template):
    client.force_login(agent)
    page = client.get(f"/admin/correspondence/letters/new/{template.pk}/?customer=C-1001").content.decode()
    assert 'name="enclosures" value="mandate"' in page and 'name="enclosures" value="leaflet"' in page
    assert 'value="terms"' not in page and "data-mandatory-enclosures" in page
    form = {"customer_id": "C-1001", "channel": "print", "enclosures": ["leaflet"], "action": "generate"}
    response = client.post(f"/admin/correspondence/letters/new/{template.pk}/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    letter = Letter.objects.get()
    assert letter.enclosure_keys == ["terms", "leaflet"]
    page = client.get(f"/admin/correspondence/letters/inspect/{letter.pk}/").content.decode()
    assert 'data-enclosure-pin="terms"' in page and 'data-enclosure-pin="leaflet"' in page


def test_batch_letters_carry_the_templates_enclosures(agent, template, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wagtail_correspondence.services import batches

    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.create_batch(agent, template, SimpleUploadedFile("rows.csv", b"customer_id\nC-1001\nC-1001\n"),
                                     channel="print")
    with django_capture_on_commit_callbacks(execute=True):
        batches.start_batch(agent, batch)
    letters = list(Letter.objects.filter(batch_row__batch=batch))
    assert len(letters) == 2
    for letter in letters:
        assert [pin.enclosure.key for pin in letter.enclosure_pins.order_by("position")] == ["terms", "mandate"]
        assert "DIRECT DEBIT MANDATE" in pdf_text(letter)


def test_authors_write_enclosures_and_only_the_review_publishes_them(client, make_user):
    author = make_user("author", roles.CONTENT_AUTHORS)
    client.force_login(author)
    upload = ContentFile(tiny_pdf(["NEW LEAFLET"]), name="leaflet.pdf")
    response = client.post("/admin/correspondence/enclosures/add/", {
        "title": "New leaflet", "key": "new-leaflet", "description": "", "file": upload, "notes": "",
        "action-publish": "action-publish"})
    assert response.status_code in (200, 302)
    item = Enclosure.objects.get(key="new-leaflet")
    assert not item.live, "an author's save is a draft, never published"
    refused = client.post("/admin/correspondence/enclosures/add/", {
        "title": "Not a PDF", "key": "not-a-pdf", "file": ContentFile(b"MZ...", name="x.pdf"), "notes": ""})
    assert refused.status_code == 200 and "This file is not a PDF." in refused.content.decode()
    assert not Enclosure.objects.filter(key="not-a-pdf").exists()


def test_an_enclosure_a_letter_carried_cannot_be_deleted(client, agent, template, library, make_user):
    service.generate_letter(agent, request_for(template))
    client.force_login(make_user("root", roles.ADMINISTRATORS, superuser=True))
    url = f"/admin/correspondence/enclosures/delete/{library['terms'].pk}/"
    assert "references to this enclosure prevent it from being deleted" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302  # Wagtail refuses it (its "no permission" redirect)
    assert Enclosure.objects.filter(pk=library["terms"].pk).exists()


def test_a_new_pdf_for_a_live_enclosure_waits_in_a_draft_and_opens_from_the_editor(client, library, make_user):
    author = make_user("author", roles.CONTENT_AUTHORS)
    client.force_login(author)
    terms = library["terms"]
    editor = client.get(f"/admin/correspondence/enclosures/edit/{terms.pk}/").content.decode()
    assert f"/admin/correspondence/enclosures/pdf/{terms.pk}/" in editor and "data-current-enclosure-pdf" in editor
    opened = client.get(f"/admin/correspondence/enclosures/pdf/{terms.pk}/")
    assert opened.status_code == 200 and opened["Content-Type"] == "application/pdf"
    assert hashlib.sha256(opened.content).hexdigest() == terms.file_sha256
    response = client.post(f"/admin/correspondence/enclosures/edit/{terms.pk}/", {
        "title": terms.title, "key": terms.key, "description": "", "notes": "",
        "file": ContentFile(tiny_pdf(["TERMS 2027 DRAFT"]), name="terms.pdf")})
    assert response.status_code == 302, response.content.decode()[:3000]
    terms = Enclosure.objects.get(pk=terms.pk)
    draft = terms.latest_revision.as_object()
    assert terms.file_sha256 == library["terms"].file_sha256, "the live PDF is unchanged until approved"
    assert draft.file_sha256 != terms.file_sha256
    with letter_storage().open(draft.file.name, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == draft.file_sha256, "the draft's upload is stored"
    client.logout()
    assert client.get(f"/admin/correspondence/enclosures/pdf/{terms.pk}/").status_code in (302, 403)


def test_an_email_attaches_each_enclosure_as_its_own_file_checked_against_its_pin(agent, template, library):
    from wagtail_correspondence.delivery.base import PermanentDeliveryError
    from wagtail_correspondence.delivery.email import EmailChannel
    from wagtail_correspondence.models import Dispatch

    letter = service.generate_letter(agent, request_for(template, enclosures=["terms", "leaflet"]))
    letter = Letter.objects.get(pk=letter.pk)
    dispatch = Dispatch(letter=letter, channel="email", recipient="ada@example.org", idempotency_key="k1")
    message = EmailChannel().build_message(dispatch)
    names = [name for name, _content, _mimetype in message.attachments if isinstance(name, str)]
    assert names == [f"{letter.reference}.pdf", "Terms and conditions.pdf", "Budget help leaflet.pdf"]
    assert dict((name, content) for name, content, _type in message.attachments if isinstance(name, str))[
        "Terms and conditions.pdf"] == tiny_pdf(["TERMS AND CONDITIONS 2026"])
    # A stored file that is not the approved one is never sent.
    storage = letter_storage()
    name = library["leaflet"].file.name
    storage.delete(name)
    storage.save(name, ContentFile(tiny_pdf(["SOMETHING ELSE"])))
    with pytest.raises(PermanentDeliveryError, match="leaflet is not the one approved"):
        EmailChannel().build_message(dispatch)


def test_the_builder_lets_agents_arrange_enclosures_where_the_template_allows(client, agent, template):
    template.enclosures_reorderable = True
    template.save_revision().publish()
    client.force_login(agent)
    url = f"/admin/correspondence/letters/new/{template.pk}/"
    page = client.get(f"{url}?customer=C-1001").content.decode()
    assert 'data-zone="enclosures"' in page and 'value="terms,mandate"' in page
    assert "data-mandatory-enclosures" not in page  # they are in the list, placed
    form = {"customer_id": "C-1001", "channel": "print", "action": "generate"}
    refused = client.post(url, {**form, "enclosures": "leaflet,mandate"})
    assert refused.status_code == 400 and "Terms and conditions" in refused.content.decode()
    response = client.post(url, {**form, "enclosures": "leaflet,terms"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    letter = Letter.objects.get()
    assert letter.enclosure_keys == ["leaflet", "terms"]
    text = pdf_text(letter)
    assert text.index("BUDGET HELP LEAFLET") < text.index("TERMS AND CONDITIONS 2026")
