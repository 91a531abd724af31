"""The subject access export: a ZIP of exactly one customer's entries, documents, letters (the
PDF as generated), dispatch records and portal responses, with an index listing every file
and escaping what people wrote; the command writes it; the admin view needs the permission,
ignores department scope and logs the export."""

import hashlib
import io
import json
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import AttachmentVersion, Department, PortalResponse
from wagtail_correspondence.services import subject_access

from .privacy import (
    CUSTOMER,
    OTHER_CUSTOMER,
    PDF,
    PDF_V2,
    RECEIPT,
    conversation,
    customer_record,
    register,
)

pytestmark = pytest.mark.django_db

VIEW = "/admin/correspondence/register/subject-access/"


@pytest.fixture
def officer(make_user):
    return make_user("officer", roles.OFFICERS)


@pytest.fixture
def admin_user(make_user):
    return make_user("dpo", roles.ADMINISTRATORS)


@pytest.fixture
def data(officer, customers, django_capture_on_commit_callbacks):
    customers(customer_record(), customer_record(OTHER_CUSTOMER, first="Otto", last="Other",
                                                 email="otto@example.net"))
    conv = conversation(officer, django_capture_on_commit_callbacks,
                        subject="Delay <script>alert('x')</script> & more", closed=False)
    other = register(officer, subject="Otto's own matter", sender_name="Otto Other", customer_id=OTHER_CUSTOMER)
    return conv, other


def read(content):
    archive = zipfile.ZipFile(io.BytesIO(content))
    return archive, json.loads(archive.read("index.json"))


def test_the_zip_holds_exactly_the_customers_items_with_an_index(data, admin_user):
    conv, other = data
    content = subject_access.export_subject(CUSTOMER, admin_user)
    archive, index = read(content)
    names = set(archive.namelist())
    complaint, outbound, reply, letter = conv.complaint.reference, conv.outbound.reference, conv.reply.reference, \
        conv.letter.reference
    assert names == {
        "index.json", "index.html",
        f"entries/{complaint}/entry.json",
        f"entries/{complaint}/documents/1-Scan_Quirinus/v1-Quirinus-scan.pdf",
        f"entries/{complaint}/documents/1-Scan_Quirinus/v2-Quirinus-scan-2.pdf",
        f"entries/{outbound}/entry.json",
        f"entries/{reply}/entry.json",
        f"entries/{reply}/documents/1-receipt.pdf/v1-receipt.pdf",
        f"letters/{letter}/letter.json",
        f"letters/{letter}/{letter}.pdf",
        f"letters/{letter}/dispatches.json",
        f"letters/{letter}/portal-responses.json",
        f"letters/{letter}/portal/{str(PortalResponse.objects.get().uuid)[:8]}-receipt.pdf",
    }
    # Nothing of the other customer.
    assert other.reference not in content.decode("latin-1")
    assert not any(b"Otto" in archive.read(name) for name in names)
    # The index lists every file, with its SHA-256.
    listed = {item["file"]: item for item in index["items"]}
    assert set(listed) == names - {"index.json", "index.html"}
    for name, item in listed.items():
        assert item["sha256"] == hashlib.sha256(archive.read(name)).hexdigest() and item["kind"]
    html = archive.read("index.html").decode()
    assert all(f'href="{name}"' in html for name in listed)
    assert index["customer_id"] == CUSTOMER and index["generated_by"] == "dpo"
    assert index["summary"] == {"entries": 3, "documents": 3, "letters": 1, "dispatches": 2,
                                "portal_responses": 1, "files": 11}
    # What people wrote is escaped in the HTML.
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    # The files are the stored ones: the PDF as generated, every document version.
    assert hashlib.sha256(archive.read(f"letters/{letter}/{letter}.pdf")).hexdigest() == conv.letter.pdf_sha256
    documents = f"entries/{complaint}/documents/1-Scan_Quirinus/"
    assert archive.read(documents + "v1-Quirinus-scan.pdf") == PDF
    assert archive.read(documents + "v2-Quirinus-scan-2.pdf") == PDF_V2
    assert archive.read(f"letters/{letter}/portal/{str(PortalResponse.objects.get().uuid)[:8]}-receipt.pdf") == RECEIPT
    entry = json.loads(archive.read(f"entries/{complaint}/entry.json"))
    assert entry["sender_email"] == "zoe.quirinus@example.net" and entry["customer_id"] == CUSTOMER
    assert entry["notes"][0]["text"] == "Called Zoë Quirinus on +32 2 555 77 01"
    assert entry["thread"] == {"first_entry": complaint, "in_reply_to": None, "replies": [outbound],
                               "letter": None}
    assert [(step["from"], step["to"]) for step in entry["status_history"]][-2:] == [
        ("assigned", "in_progress"), ("in_progress", "responded")]
    assert [document["version"] for document in entry["documents"]] == [1, 2]
    letter_json = json.loads(archive.read(f"letters/{letter}/letter.json"))
    assert letter_json["data"]["customer"]["last_name"] == "Quirinus" and letter_json["channel"] == "portal"
    assert letter_json["generated_at"] and letter_json["pdf"] == f"letters/{letter}/{letter}.pdf"
    dispatches = json.loads(archive.read(f"letters/{letter}/dispatches.json"))
    assert {item["channel"] for item in dispatches} == {"portal", "archive"} and all(item["status"] for item in
                                                                                     dispatches)
    responses = json.loads(archive.read(f"letters/{letter}/portal-responses.json"))
    assert responses[0]["text"] == "Here is my receipt. Zoë Quirinus"
    # Audited: who exported which customer, how many files.
    logged = ModelLogEntry.objects.get(action=log_actions.SUBJECT_ACCESS_EXPORTED)
    assert logged.user == admin_user and logged.object_id == str(admin_user.pk)
    assert logged.data["customer_id"] == CUSTOMER and logged.data["items"] == 11
    assert logged.data["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_lost_file_is_listed_as_missing_and_an_unknown_customer_gives_an_empty_index(data, admin_user):
    conv, _other = data
    version = AttachmentVersion.objects.filter(attachment__correspondence=conv.complaint).get(number=1)
    version.file.storage.delete(version.file.name)
    archive, index = read(subject_access.export_subject(CUSTOMER, admin_user))
    missing = [item for item in index["items"] if item["missing"]]
    assert [item["file"] for item in missing] == [
        f"entries/{conv.complaint.reference}/documents/1-Scan_Quirinus/v1-Quirinus-scan.pdf"]
    assert missing[0]["file"] not in archive.namelist()
    archive, index = read(subject_access.export_subject("C-0000", admin_user))
    assert index["items"] == [] and set(archive.namelist()) == {"index.json", "index.html"}
    assert "Nothing is held about this customer." in archive.read("index.html").decode()


def test_the_export_needs_its_permission_and_ignores_department_scope(data, make_user, officer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        subject_access.export_subject(CUSTOMER, officer)
    with pytest.raises(PermissionDenied):
        subject_access.export_subject(CUSTOMER, make_user("sue", roles.SUPERVISORS))
    # A data protection officer with only this permission, in no department, sees everything.
    dpo = make_user("privacy-officer")
    Permission.objects.get(codename="export_subject_access").user_set.add(dpo)
    Department.add_root(name="Elsewhere", code="elsewhere").members.add(dpo)
    _archive, index = read(subject_access.export_subject(CUSTOMER, dpo))
    assert index["summary"]["entries"] == 3 and index["summary"]["letters"] == 1


def test_the_command_writes_the_zip(data, admin_user, officer, tmp_path):
    path = tmp_path / "sar.zip"
    out = io.StringIO()
    call_command("correspondence_subject_access", CUSTOMER, "--output", str(path), "--user", "dpo", stdout=out)
    assert f"Wrote {path}" in out.getvalue()
    archive, index = read(path.read_bytes())
    assert index["customer_id"] == CUSTOMER and len(index["items"]) == 11
    with pytest.raises(CommandError, match="may not export"):
        call_command("correspondence_subject_access", CUSTOMER, "--output", str(tmp_path / "no.zip"),
                     "--user", officer.username)
    with pytest.raises(CommandError, match="--user"):
        call_command("correspondence_subject_access", CUSTOMER, "--output", str(tmp_path / "no.zip"))
    assert not (tmp_path / "no.zip").exists()
    assert ModelLogEntry.objects.filter(action=log_actions.SUBJECT_ACCESS_EXPORTED).count() == 1


def test_the_admin_view_needs_the_permission_and_logs_the_export(client, data, admin_user, make_user):
    supervisor = make_user("sue", roles.SUPERVISORS)
    client.force_login(supervisor)
    response = client.get(VIEW)
    assert response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")
    assert client.post(VIEW, {"customer_id": CUSTOMER}).status_code in (302, 403)
    assert "subject-access" not in client.get("/admin/").content.decode()  # no menu item either
    assert not ModelLogEntry.objects.filter(action=log_actions.SUBJECT_ACCESS_EXPORTED).exists()

    client.force_login(admin_user)
    assert "/admin/correspondence/register/subject-access/" in client.get("/admin/").content.decode()
    assert client.get(VIEW).status_code == 200
    assert client.post(VIEW, {"customer_id": " "}).status_code == 200  # the form again, with the error
    response = client.post(VIEW, {"customer_id": CUSTOMER})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(f'attachment; filename="subject-access-{CUSTOMER}-')
    _archive, index = read(response.content)
    assert index["customer_id"] == CUSTOMER and index["summary"]["entries"] == 3
    logged = ModelLogEntry.objects.get(action=log_actions.SUBJECT_ACCESS_EXPORTED)
    assert logged.user == admin_user and logged.data["customer_id"] == CUSTOMER
