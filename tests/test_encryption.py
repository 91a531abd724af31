"""Customer data at rest: encrypted fields and files, read back transparently, rotated to a
new key by ``correspondence_rotate_keys`` so that the old key can go."""

import copy
import io
import json
import os
import shutil

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import connection

from wagtail_correspondence import roles
from wagtail_correspondence.encryption import FILE_HEADER, TEXT_MARKER, DecryptionError
from wagtail_correspondence.models import Letter, Note
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services import register as register_service

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def keys(settings):
    # Rotation walks the whole letters storage: start it empty. The files earlier tests of
    # this process left there belong to rolled-back rows and were written under other keys.
    location = storages["letters"].location
    shutil.rmtree(location, ignore_errors=True)
    os.makedirs(location)

    def use(*keys):
        settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ENCRYPTION_KEYS": ",".join(keys)}

    use(OLD_KEY)
    return use


@pytest.fixture
def template(customer_dictionary, standard_layout):
    greeting = factories.fragment(customer_dictionary, key="greeting",
                                  html="<p>Dear {{ customer.first_name }} {{ customer.last_name }},</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [greeting], channels=["print"])


def raw(model, pk, *columns):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()


def stored_bytes(field_file):
    with open(field_file.storage.path(field_file.name), "rb") as handle:
        return handle.read()


def letter_and_entry(agent, template, officer):
    letter = service.generate_letter(agent, service.LetterRequest(
        template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="print", slots={}))
    entry = register_service.register_entry(officer, subject="Scan", kind="letter", channel="post",
                                            attachments=[register_service.NewAttachment(PDF, "scan.pdf")])
    register_service.add_note(officer, entry, "Customer called about Peeters' arrears")
    return letter, entry


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS, superuser=False)


def test_customer_data_and_files_are_encrypted_at_rest_and_read_back_plain(keys, agent, template, officer):
    letter, entry = letter_and_entry(agent, template, officer)
    customer = factories.SAMPLE_DATA["customer"]
    stored = raw(Letter, letter.pk, "data", "html", "email_html", "email_text", "slot_values")
    for value in stored:
        assert value.startswith(TEXT_MARKER), value[:40]
        assert customer["last_name"] not in value and customer["id"] not in value
    note = entry.notes.get()
    (note_text,) = raw(Note, note.pk, "text")
    assert note_text.startswith(TEXT_MARKER) and "Peeters" not in note_text

    letter = Letter.objects.get(pk=letter.pk)
    assert letter.data["customer"]["last_name"] == customer["last_name"]
    assert customer["last_name"] in letter.html
    assert Note.objects.get(pk=note.pk).text == "Customer called about Peeters' arrears"

    pdf_on_disk = stored_bytes(letter.pdf)
    assert pdf_on_disk.startswith(FILE_HEADER) and b"%PDF" not in pdf_on_disk
    assert service.verified_pdf(letter).startswith(b"%PDF")
    version = entry.attachments.get().latest
    assert stored_bytes(version.file).startswith(FILE_HEADER)
    with version.file.open("rb") as handle:
        assert handle.read() == PDF
    assert version.file.size == len(PDF)  # the plain size, as recorded


def test_a_wrong_key_is_an_error_not_garbage(keys, agent, template, officer):
    letter, _entry = letter_and_entry(agent, template, officer)
    keys(NEW_KEY)
    with pytest.raises(DecryptionError):
        Letter.objects.get(pk=letter.pk)
    with pytest.raises(service.LetterIntegrityError):
        service.verified_pdf(Letter.objects.only("pk", "pdf", "pdf_sha256", "reference", "status").get(pk=letter.pk))


def test_a_malformed_key_is_named(keys):
    keys("not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS"):
        Note.text.field.get_prep_value("anything")


def test_rotation_moves_everything_to_the_new_key(keys, agent, template, officer):
    letter, entry = letter_and_entry(agent, template, officer)
    version = entry.attachments.get().latest
    before = stored_bytes(letter.pdf)

    keys(NEW_KEY, OLD_KEY)  # the new key first: it encrypts from now on, both decrypt
    with pytest.raises(CommandError, match="Not under the first key yet"):
        call_command("correspondence_rotate_keys", "--check", stdout=io.StringIO())
    out = io.StringIO()
    call_command("correspondence_rotate_keys", stdout=out)
    assert "wagtail_correspondence.Letter: 1 row(s)" in out.getvalue()
    assert "wagtail_correspondence.Note: 1 row(s)" in out.getvalue()
    assert "storage 'letters': 2 file(s)" in out.getvalue()  # the letter's PDF and the scan
    assert stored_bytes(letter.pdf) != before
    out = io.StringIO()
    call_command("correspondence_rotate_keys", "--check", stdout=out)
    assert "Everything is encrypted under the first key." in out.getvalue()

    keys(NEW_KEY)  # the old key is gone: everything still reads
    letter = Letter.objects.get(pk=letter.pk)
    assert letter.data["customer"]["id"] == factories.SAMPLE_DATA["customer"]["id"]
    assert service.verified_pdf(letter).startswith(b"%PDF")
    with version.file.open("rb") as handle:
        assert handle.read() == PDF
    assert entry.notes.get().text.startswith("Customer called")


def test_values_stored_before_encryption_are_read_and_then_encrypted(keys, agent, template, officer):
    letter, _entry = letter_and_entry(agent, template, officer)
    plain = {"customer": {"id": "C-9", "last_name": "Legacy"}}
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Letter._meta.db_table} SET data = %s WHERE id = %s", [json.dumps(plain), letter.pk])
    with open(letter.pdf.storage.path(letter.pdf.name), "wb") as handle:
        handle.write(b"%PDF-1.4 legacy")
    assert Letter.objects.get(pk=letter.pk).data == plain
    out = io.StringIO()
    call_command("correspondence_rotate_keys", stdout=out)
    assert "wagtail_correspondence.Letter: 1 row(s)" in out.getvalue()
    assert raw(Letter, letter.pk, "data")[0].startswith(TEXT_MARKER)
    assert stored_bytes(letter.pdf).startswith(FILE_HEADER)
    assert Letter.objects.get(pk=letter.pk).data == plain
    with letter.pdf.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 legacy"


def test_rotation_without_the_old_key_refuses_and_changes_nothing(keys, agent, template, officer):
    letter, _entry = letter_and_entry(agent, template, officer)
    before = raw(Letter, letter.pk, "data")
    keys(NEW_KEY)  # the old key removed too early
    with pytest.raises(CommandError, match="Put the old key back"):
        call_command("correspondence_rotate_keys", stdout=io.StringIO())
    assert raw(Letter, letter.pk, "data") == before


def test_checks_name_missing_and_malformed_keys(settings):
    from django.core.checks import run_checks

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ENCRYPTION_KEYS": ""}
    assert "wagtail_correspondence.W010" in {message.id for message in run_checks(include_deployment_checks=True)}
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ENCRYPTION_KEYS": NEW_KEY}
    assert "wagtail_correspondence.W010" not in {message.id for message in run_checks(include_deployment_checks=True)}
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ENCRYPTION_KEYS": "short"}
    assert "wagtail_correspondence.E010" in {message.id for message in run_checks()}
