"""Print runs (one merged PDF, each letter on a new sheet, and a manifest) and the fallback
from a failed email to print."""

import copy
import csv
import io
import json
import subprocess

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from pypdf import PdfReader

from wagtail_correspondence import roles
from wagtail_correspondence.models import Dispatch, DispatchStatus
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services.printing import build_print_run

from . import factories
from .test_dispatch import smtp  # noqa: F401 (a fixture: aiosmtpd on loopback)

pytestmark = pytest.mark.usefixtures("one_customer")


@pytest.fixture
def template(customer_dictionary, standard_layout):
    short = factories.fragment(customer_dictionary, key="short", html="<p>Dear {{ customer.first_name }},</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [short], fallback_channel="print",
                                     channels=["print", "email", "sms"], sms_text="Hello {{ customer.first_name }}")


@pytest.fixture
def long_template(customer_dictionary, standard_layout):
    text = "".join(f"<p>Paragraph {n} for {{{{ customer.first_name }}}}.</p>" for n in range(70))
    long = factories.fragment(customer_dictionary, key="long", html=text)
    return factories.letter_template(customer_dictionary, standard_layout, [long], title="Long letter")


def generate(agent, template, capture, channel="print", **customer):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"].update(customer)
    with capture(execute=True):
        return service.generate_letter(agent, service.LetterRequest(template=template, data=data, channel=channel))


def test_print_run_merges_letters_on_their_own_sheets_with_a_manifest(agent, template, long_template,
                                                                      django_capture_on_commit_callbacks):
    first = generate(agent, template, django_capture_on_commit_callbacks, full_name="Ada Peeters")
    second = generate(agent, long_template, django_capture_on_commit_callbacks, full_name="Bo Janssens")
    assert second.pdf_pages >= 2
    waiting = Dispatch.objects.filter(channel="print")
    assert [dispatch.status for dispatch in waiting] == ["queued", "queued"]  # the worker leaves them to the run
    assert waiting.get(letter=first).recipient == "Ada Peeters, Rue de la Loi 16, 1000 Brussels, Belgium"

    run = build_print_run()
    assert build_print_run() is None  # nothing left
    storage = storages["print"]
    with storage.open(run.pdf_path, "rb") as handle:
        merged = handle.read()
    reader = PdfReader(io.BytesIO(merged))
    padded = first.pdf_pages + first.pdf_pages % 2
    assert len(reader.pages) == padded + second.pdf_pages + second.pdf_pages % 2 == run.page_count + (
        first.pdf_pages % 2 + second.pdf_pages % 2)
    text = subprocess.run(["pdftotext", "-", "-"], input=merged, capture_output=True, check=True).stdout.decode()
    assert text.index(first.reference) < text.index(second.reference)
    second_start = reader.pages[padded].extract_text()
    assert "Bo Janssens" in second_start  # the second letter starts on a sheet of its own

    with storage.open(run.manifest_path) as handle:
        manifest = json.loads(handle.read())
    rows = manifest["letters"]
    assert [row["reference"] for row in rows] == [first.reference, second.reference]
    assert rows[0] == {"reference": first.reference, "recipient": "Ada Peeters",
                       "address": "Rue de la Loi 16 / 1000 Brussels / Belgium", "pages": first.pdf_pages,
                       "sheets": (first.pdf_pages + 1) // 2, "first_page": 1, "sha256": first.pdf_sha256}
    assert rows[1]["first_page"] == padded + 1
    with storage.open(run.manifest_path.replace(".json", ".csv")) as handle:
        assert [row["reference"] for row in csv.DictReader(io.StringIO(handle.read().decode()))] == [
            first.reference, second.reference]
    assert run.sheet_count == sum(row["sheets"] for row in rows) and run.letter_count == 2
    assert {dispatch.status for dispatch in Dispatch.objects.filter(channel="print")} == {DispatchStatus.SENT}
    assert Dispatch.objects.get(letter=second, channel="print").provider_message_id == f"{run.uuid}#{padded + 1}"


def test_failed_email_falls_back_to_print(smtp, settings, agent, template,  # noqa: F811
                                          django_capture_on_commit_callbacks):
    backends = settings.WAGTAIL_CORRESPONDENCE["CHANNEL_BACKENDS"]
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {
        **backends, "print": {"BACKEND": "wagtail_correspondence.delivery.printing.PrintRoomChannel",
                              "OPTIONS": {"storage": "print"}}}}
    smtp.start()
    smtp.mailbox.refuse.add("gone@example.org")
    letter = generate(agent, template, django_capture_on_commit_callbacks, channel="email", email="gone@example.org")
    email_dispatch = Dispatch.objects.get(letter=letter, channel="email")
    fallback = Dispatch.objects.get(letter=letter, channel="print")
    assert email_dispatch.status == DispatchStatus.FAILED
    assert fallback.fallback_of == email_dispatch and fallback.status == DispatchStatus.QUEUED
    run = build_print_run()
    assert run.letter_count == 1
    fallback.refresh_from_db()
    assert fallback.status == DispatchStatus.SENT and fallback.print_run == run


def test_print_run_command(agent, template, django_capture_on_commit_callbacks):
    out = io.StringIO()
    call_command("correspondence_print_run", stdout=out)
    assert "No letter is waiting" in out.getvalue()
    generate(agent, template, django_capture_on_commit_callbacks)
    call_command("correspondence_print_run", stdout=out)
    assert "1 letters" in out.getvalue() and "0 still waiting" in out.getvalue()


def test_print_runs_page(client, agent, template, make_user, django_capture_on_commit_callbacks):
    generate(agent, template, django_capture_on_commit_callbacks)
    client.force_login(agent)
    page = client.get("/admin/correspondence/letters/print-runs/").content.decode()
    assert "1 letter waits for print." in page and "data-build-print-run" in page
    response = client.post("/admin/correspondence/letters/print-runs/")
    assert response.status_code == 302
    run = Dispatch.objects.get(channel="print").print_run
    # The run's PDF holds every department's letters: the print room (users who see every
    # department's letters) downloads it, the agent who sent the run does not.
    assert client.get(f"/admin/correspondence/letters/print-runs/{run.pk}/pdf/").status_code == 302
    assert "print room only" in client.get("/admin/correspondence/letters/print-runs/").content.decode()
    client.force_login(make_user("supervisor", roles.SUPERVISORS))
    pdf = client.get(f"/admin/correspondence/letters/print-runs/{run.pk}/pdf/")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    assert client.get("/admin/correspondence/letters/print-runs/").status_code in (302, 403)


def test_a_channel_without_a_backend_uses_the_fallback(agent, template, django_capture_on_commit_callbacks):
    letter = generate(agent, template, django_capture_on_commit_callbacks, channel="sms")  # no SMS backend here
    assert sorted(letter.dispatches.values_list("channel", flat=True)) == ["archive", "print"]
