"""The customer portal: the signed link by email, reading, acknowledging and replying with an
attachment checked by content; tampered and expired links refused."""

import copy
import re

import pytest
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile

from wagtail_correspondence.models import Dispatch, DispatchStatus, PortalResponse
from wagtail_correspondence.services import letters as service

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def portal_letter(agent, customer_dictionary, standard_layout, django_capture_on_commit_callbacks):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment],
                                         channels=["print", "portal"])
    with django_capture_on_commit_callbacks(execute=True):
        return service.generate_letter(agent, service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal"))


def link_path(message):
    return re.search(r"http://testserver(/portal/letters/[^/\s]+/)", message.body).group(1)


def test_the_customer_gets_a_link_and_reads_the_letter(client, portal_letter):
    [message] = mail.outbox
    assert message.to == ["ada@example.org"] and portal_letter.reference in message.body
    assert not message.attachments  # the letter itself stays in the portal
    dispatch = Dispatch.objects.get(letter=portal_letter, channel="portal")
    assert dispatch.status == DispatchStatus.SENT

    response = client.get(link_path(message))
    page = response.content.decode()
    assert response.status_code == 200 and portal_letter.reference in page and "Dear Ada," in page
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "same-origin"
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.DELIVERED and dispatch.delivered_at
    pdf = client.get(link_path(message) + "pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_acknowledge_once_and_reply_with_a_pdf(client, portal_letter):
    path = link_path(mail.outbox[0])
    client.post(path, {"action": "acknowledge"})
    client.post(path, {"action": "acknowledge"})
    assert portal_letter.portal_responses.filter(kind=PortalResponse.ACKNOWLEDGEMENT).count() == 1
    response = client.post(path, {"action": "reply", "text": "I paid on Monday <b>already</b>.",
                                  "attachment": SimpleUploadedFile("receipt.pdf", PDF_BYTES)})
    assert response.status_code == 302
    reply = portal_letter.portal_responses.get(kind=PortalResponse.REPLY)
    assert reply.text == "I paid on Monday <b>already</b>." and reply.attachment_type == "application/pdf"
    assert reply.attachment_size == len(PDF_BYTES) and reply.attachment_name == "receipt.pdf"
    page = client.get(path).content.decode()
    assert "I paid on Monday &lt;b&gt;already&lt;/b&gt;." in page and "acknowledged receipt" in page


@pytest.mark.parametrize("name, content, message", [
    ("invoice.pdf", b"MZ\x90\x00 a Windows program", "This type of file is not accepted"),
    ("photo.png", b"<svg onload=alert(1)>", "This type of file is not accepted"),
    ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "larger than 10 MB"),
])
def test_attachments_are_checked_by_content(client, portal_letter, name, content, message):
    response = client.post(link_path(mail.outbox[0]), {"action": "reply", "text": "See attached",
                                                       "attachment": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and message in response.content.decode()
    assert not portal_letter.portal_responses.exists()


def test_a_reply_needs_text(client, portal_letter):
    response = client.post(link_path(mail.outbox[0]), {"action": "reply", "text": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert not portal_letter.portal_responses.exists()


def test_tampered_and_expired_links_are_refused(client, portal_letter, monkeypatch):
    path = link_path(mail.outbox[0])
    token = path.split("/")[-2]
    tampered = path.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    response = client.get(tampered)
    assert response.status_code == 403 and "This link is not valid" in response.content.decode()
    assert portal_letter.reference not in response.content.decode()
    forged = signing.dumps({"d": 999, "l": str(portal_letter.uuid)}, salt="wagtail_correspondence.portal")
    assert client.get(f"/portal/letters/{forged}/").status_code == 403
    other_salt = signing.dumps({"d": 1, "l": str(portal_letter.uuid)})
    assert client.get(f"/portal/letters/{other_salt}/").status_code == 403

    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 31 * 86400)
    response = client.get(path)
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert client.post(path, {"action": "acknowledge"}).status_code == 410
    assert not portal_letter.portal_responses.exists()


def test_staff_see_the_replies_on_the_letter(client, agent, portal_letter):
    client.post(link_path(mail.outbox[0]), {"action": "reply", "text": "Question about my invoice",
                                            "attachment": SimpleUploadedFile("scan.pdf", PDF_BYTES)})
    client.force_login(agent)
    page = client.get(f"/admin/correspondence/letters/inspect/{portal_letter.pk}/").content.decode()
    assert "Question about my invoice" in page and "scan.pdf" in page
    reply = portal_letter.portal_responses.get()
    download = client.get(f"/admin/correspondence/letters/portal-attachments/{reply.pk}/")
    assert download.status_code == 200 and download.content == PDF_BYTES
    assert download["X-Content-Type-Options"] == "nosniff"
