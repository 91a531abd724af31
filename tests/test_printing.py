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
from wagtail_correspondence.models import Dispatch, DispatchStatus, PrintRun, PrintRunStatus
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services.printing import build_print_run, start_print_run, waiting_for_print

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
    assert waiting.get(letter=first).recipient == "Ada Peeters, Rue de la Loi 16, 1000 BRUSSELS"

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
                       "address": "Rue de la Loi 16 / 1000 BRUSSELS", "pages": first.pdf_pages,
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
    # Agents write letters; the print room (supervisors) sends them: the run's PDF holds the
    # letters of every department.
    client.force_login(agent)
    page = client.get("/admin/correspondence/letters/print-runs/").content.decode()
    assert "1 letter waits for print." in page and "data-build-print-run" not in page
    refused = client.post("/admin/correspondence/letters/print-runs/")
    assert refused.status_code == 302 and refused["Location"] == "/admin/"  # Wagtail's "permission denied"
    assert waiting_for_print().count() == 1 and not PrintRun.objects.exists()
    supervisor = make_user("supervisor", roles.SUPERVISORS)
    client.force_login(supervisor)
    page = client.get("/admin/correspondence/letters/print-runs/").content.decode()
    assert "data-build-print-run" in page and "Send 1 letter to print" in page
    with django_capture_on_commit_callbacks(execute=True):  # the (immediate) task runs on commit
        response = client.post("/admin/correspondence/letters/print-runs/")
    run = Dispatch.objects.get(channel="print").print_run
    assert response.status_code == 302 and response["Location"] == f"/admin/correspondence/letters/print-runs/{run.pk}/"
    assert run.status == PrintRunStatus.DONE and run.created_by == supervisor
    detail = client.get(response["Location"]).content.decode()
    assert "Sent to the print room" in detail and "data-download-print-run" in detail
    assert client.get(f"/admin/correspondence/letters/print-runs/{run.pk}/progress/").json()["status"] == "done"
    pdf = client.get(f"/admin/correspondence/letters/print-runs/{run.pk}/pdf/")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    client.force_login(agent)
    assert "print room only" in client.get("/admin/correspondence/letters/print-runs/").content.decode()
    assert client.get(f"/admin/correspondence/letters/print-runs/{run.pk}/pdf/").status_code == 302
    client.force_login(make_user("author", roles.CONTENT_AUTHORS))
    assert client.get("/admin/correspondence/letters/print-runs/").status_code in (302, 403)


def test_print_run_pages_have_their_titles_in_the_header(client, make_user):
    client.force_login(make_user("admin-user", roles.ADMINISTRATORS))
    for url, title in (("/admin/correspondence/letters/print-runs/", "Print runs"),
                       ("/admin/correspondence/register/subject-access/", "Subject access export")):
        response = client.get(url)
        assert response.status_code == 200, url
        crumbs = response.content.decode().split("w-breadcrumbs", 1)[1].split("</nav>", 1)[0]
        assert title in crumbs, url


def three_letters(agent, template, capture):
    return [generate(agent, template, capture, full_name=name) for name in ("Ada Peeters", "Bo Janssens", "Cy Maes")]


def test_a_print_run_is_a_task_that_reports_its_progress(agent, template, client, make_user, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    from wagtail_correspondence import tasks
    from wagtail_correspondence.delivery.printing import PrintRoomChannel
    from wagtail_correspondence.services import printing

    letters = three_letters(agent, template, django_capture_on_commit_callbacks)
    run = start_print_run(enqueue=False)
    # Reserved for the run, not yet sent: no second run takes them.
    assert run.status == PrintRunStatus.QUEUED and run.letter_count == 3
    assert set(Dispatch.objects.filter(channel="print").values_list("status", "print_run")) == {("queued", run.pk)}
    assert start_print_run(enqueue=False) is None
    client.force_login(make_user("supervisor", roles.SUPERVISORS))
    progress_url = f"/admin/correspondence/letters/print-runs/{run.pk}/progress/"
    assert client.get(progress_url).json() == {"status": "queued", "status_display": "Waiting for a worker",
                                               "merged": 0, "total": 3, "percent": 0, "pages": 0, "error": ""}

    seen = []
    merge = PrintRoomChannel.merge

    def watched_merge(channel, letters, progress=None):
        def report(count):
            progress(count)
            seen.append(client.get(progress_url).json())
        return merge(channel, letters, progress=report)

    monkeypatch.setattr(PrintRoomChannel, "merge", watched_merge)
    monkeypatch.setattr(printing, "PROGRESS_EVERY", 1)
    result = tasks.print_run_task.enqueue(run.pk)  # the real task, on the (immediate) test backend
    assert result.return_value == "done"
    assert [(item["status"], item["merged"], item["percent"]) for item in seen] == [
        ("running", 1, 33), ("running", 2, 67), ("running", 3, 100)]
    run.refresh_from_db()
    assert run.status == PrintRunStatus.DONE and run.letters_merged == 3 and run.started_at and run.finished_at
    assert run.pdf_path.endswith(f"{run.folder}/letters.pdf") and run.lease_expires_at is None
    assert {dispatch.status for dispatch in Dispatch.objects.filter(channel="print")} == {DispatchStatus.SENT}
    assert [row["reference"] for row in json.loads(storages["print"].open(run.manifest_path).read())["letters"]] == [
        letter.reference for letter in letters]
    # Run again (a duplicate task): nothing changes.
    assert tasks.print_run_task.enqueue(run.pk).return_value == "done"
    assert len(list(storages["print"].listdir(run.folder)[1])) == 3


def test_a_run_whose_worker_died_after_writing_is_recorded_without_printing_twice(
        agent, template, settings, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    from wagtail_correspondence.delivery.base import get_channel
    from wagtail_correspondence.services.recovery import recover

    three_letters(agent, template, django_capture_on_commit_callbacks)
    run = start_print_run(enqueue=False)
    channel = get_channel("print")
    # The worker merged and wrote the run, then died before recording it.
    dispatches = list(run.dispatches.select_related("letter").order_by("letter__reference"))
    merged, rows = channel.merge([dispatch.letter for dispatch in dispatches])
    channel.write(run.folder, merged, rows)
    storage = storages["print"]
    written = {name: storage.get_modified_time(f"{run.folder}/{name}") for name in storage.listdir(run.folder)[1]}
    expired = timezone.now() - datetime.timedelta(seconds=1)
    PrintRun.objects.filter(pk=run.pk).update(status=PrintRunStatus.RUNNING, lease_expires_at=expired,
                                              worker_id="host:4242", letters_merged=3)
    assert waiting_for_print().count() == 0  # still reserved by the run: no other run prints them

    summary = recover()
    assert summary.print_runs_resumed == [run.pk]
    run.refresh_from_db()
    assert run.status == PrintRunStatus.DONE and run.resumes == 1 and run.letter_count == 3
    # Its files were not written again, and no second set of files exists.
    assert {name: storage.get_modified_time(f"{run.folder}/{name}") for name in storage.listdir(run.folder)[1]} == \
        written
    assert storage.listdir("")[0] == [run.folder]
    assert {dispatch.status for dispatch in Dispatch.objects.filter(channel="print")} == {DispatchStatus.SENT}
    assert recover().print_runs_resumed == []


def test_a_run_whose_worker_died_while_merging_is_merged_again_in_place(
        agent, template, django_capture_on_commit_callbacks):
    import datetime

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from wagtail_correspondence.services.recovery import recover

    three_letters(agent, template, django_capture_on_commit_callbacks)
    run = start_print_run(enqueue=False)
    storage = storages["print"]
    storage.save(f"{run.folder}/letters.pdf", ContentFile(b"%PDF-1.7 half a file"))  # no manifest: not taken
    PrintRun.objects.filter(pk=run.pk).update(status=PrintRunStatus.RUNNING, letters_merged=1,
                                              lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert recover().print_runs_resumed == [run.pk]
    run.refresh_from_db()
    assert run.status == PrintRunStatus.DONE and run.pdf_path == f"{run.folder}/letters.pdf"
    with storage.open(run.pdf_path, "rb") as handle:
        assert len(PdfReader(handle).pages) == run.page_count + sum(
            row_pages % 2 for row_pages in Dispatch.objects.filter(channel="print").values_list(
                "letter__pdf_pages", flat=True))
    assert sorted(storage.listdir(run.folder)[1]) == ["letters.pdf", "manifest.csv", "manifest.json"]


def test_a_failed_run_gives_its_letters_back(agent, template, client, make_user, django_capture_on_commit_callbacks):
    from wagtail_correspondence.models import Letter

    [letter, *_others] = three_letters(agent, template, django_capture_on_commit_callbacks)
    Letter.objects.filter(pk=letter.pk).update(pdf_sha256="0" * 64)  # its PDF no longer matches
    run = start_print_run(enqueue=False)
    from wagtail_correspondence.services.printing import execute_print_run

    assert execute_print_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == PrintRunStatus.FAILED and letter.reference in run.error
    assert waiting_for_print().count() == 3  # back in the outbox for the next run
    assert not storages["print"].exists(f"{run.folder}/manifest.json")
    client.force_login(make_user("supervisor", roles.SUPERVISORS))
    page = client.get(f"/admin/correspondence/letters/print-runs/{run.pk}/").content.decode()
    assert "data-print-run-error" in page and "does not match its SHA-256" in page


def test_a_channel_without_a_backend_uses_the_fallback(agent, template, django_capture_on_commit_callbacks):
    letter = generate(agent, template, django_capture_on_commit_callbacks, channel="sms")  # no SMS backend here
    assert sorted(letter.dispatches.values_list("channel", flat=True)) == ["archive", "print"]
