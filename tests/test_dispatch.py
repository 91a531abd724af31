"""Delivery through the outbox against a real SMTP server on loopback (aiosmtpd): the message
as received, retries while the server is down, exactly one send, and the archive copy."""

import copy
import datetime
import email
import email.policy
import hashlib
import io
import json
import socket

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from pypdf import PdfReader
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions
from wagtail_correspondence.delivery.archive import ArchiveIntegrityError
from wagtail_correspondence.delivery.base import get_channel
from wagtail_correspondence.models import Dispatch, DispatchStatus
from wagtail_correspondence.services import dispatch as outbox
from wagtail_correspondence.services import letters as service

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK queued"


class SmtpServer:
    """aiosmtpd on a free loopback port; can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {"email": {
        "BACKEND": "wagtail_correspondence.delivery.email.EmailChannel",
        "OPTIONS": {"connection": {"backend": "django.core.mail.backends.smtp.EmailBackend", "host": "127.0.0.1",
                                   "port": server.port, "timeout": 5}}}}}
    yield server
    server.stop()


@pytest.fixture
def template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting", html="<p>Dear {{ customer.first_name }},</p>"
                                  "<p>You owe <b>{{ balance|money }}</b>.</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print", "email", "sms"],
                                     email_intro="Hello {{ customer.first_name }}, your letter is attached.",
                                     sms_text="Hello {{ customer.first_name }}")


def generate(agent, template, capture, **data_changes):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"].update(data_changes)
    with capture(execute=True):
        return service.generate_letter(agent, service.LetterRequest(template=template, data=data, channel="email"))


def dispatch_for(letter, channel):
    return Dispatch.objects.get(letter=letter, channel=channel)


def test_email_arrives_with_both_bodies_and_the_pdf(smtp, agent, template, django_capture_on_commit_callbacks):
    smtp.start()
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    sent = dispatch_for(letter, "email")
    assert sent.status == DispatchStatus.SENT and sent.attempts == 1 and sent.recipient == "ada@example.org"
    [message] = smtp.mailbox.messages
    assert message["To"] == "ada@example.org" and message["Subject"] == "Your account C-1001"
    assert message["X-Correspondence-Reference"] == letter.reference
    assert message["Message-ID"] == f"<{letter.uuid}.email@example.org>" == sent.provider_message_id
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hello Ada, your letter is attached." in text and "You owe €250.00." in text
    assert "<b>€250.00</b>" in html and "<style" not in html
    [attachment] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    content = attachment.get_content()
    assert attachment.get_filename() == f"{letter.reference}.pdf"
    assert hashlib.sha256(content).hexdigest() == letter.pdf_sha256
    assert PdfReader(io.BytesIO(content)).metadata.subject == letter.reference
    entry = ModelLogEntry.objects.for_instance(letter).get(action=log_actions.LETTER_DISPATCHED, data__channel="email")
    assert entry.data["recipient"] == "ada@example.org"


def test_smtp_down_is_retried_then_sent_exactly_once(smtp, agent, template, django_capture_on_commit_callbacks):
    letter = generate(agent, template, django_capture_on_commit_callbacks)  # nothing listens yet
    waiting = dispatch_for(letter, "email")
    assert waiting.status == DispatchStatus.QUEUED and waiting.attempts == 1
    assert "could not be reached" in waiting.last_error
    assert waiting.next_attempt_at > timezone.now() + datetime.timedelta(seconds=50)  # back-off, not a hot loop
    assert outbox.process_due() == 0  # not due yet

    later = waiting.next_attempt_at + datetime.timedelta(seconds=1)
    assert outbox.process_due(now=later) == 1  # still down: second attempt, longer back-off
    waiting.refresh_from_db()
    assert waiting.attempts == 2 and waiting.next_attempt_at - later > datetime.timedelta(seconds=110)

    smtp.start()
    assert outbox.process_due(now=waiting.next_attempt_at + datetime.timedelta(seconds=1)) == 1
    waiting.refresh_from_db()
    assert waiting.status == DispatchStatus.SENT and waiting.attempts == 3 and waiting.last_error == ""
    assert outbox.process_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(smtp.mailbox.messages) == 1


def test_retries_stop_at_the_limit(smtp, settings, agent, template, django_capture_on_commit_callbacks):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE,
                                       "DISPATCH_RETRY": {"MAX_ATTEMPTS": 2, "BASE_DELAY": 1, "MAX_DELAY": 1}}
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    outbox.process_due(now=timezone.now() + datetime.timedelta(minutes=1))
    failed = dispatch_for(letter, "email")
    assert failed.status == DispatchStatus.FAILED and failed.attempts == 2 and "gave up after 2" in failed.last_error
    assert ModelLogEntry.objects.for_instance(letter).filter(action=log_actions.LETTER_DISPATCH_FAILED).exists()


def test_refused_address_fails_without_retrying(smtp, agent, template, django_capture_on_commit_callbacks):
    smtp.start()
    smtp.mailbox.refuse.add("nobody@example.org")
    letter = generate(agent, template, django_capture_on_commit_callbacks, email="nobody@example.org")
    refused = dispatch_for(letter, "email")
    assert refused.status == DispatchStatus.FAILED and refused.attempts == 1 and "refused" in refused.last_error
    assert outbox.process_due(now=timezone.now() + datetime.timedelta(days=1)) == 0 and smtp.mailbox.messages == []


def test_a_crash_after_the_server_accepted_never_sends_twice(smtp, agent, template, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    smtp.start()
    real_finish = outbox._finish

    def crash_when_recording_success(dispatch, **changes):
        if changes.get("status") == DispatchStatus.SENT and dispatch.channel == "email":
            raise SystemExit("worker killed")  # after the server accepted, before the status update
        return real_finish(dispatch, **changes)

    monkeypatch.setattr(outbox, "_finish", crash_when_recording_success)
    generate(agent, template, django_capture_on_commit_callbacks)  # the task runner reports the crash
    monkeypatch.setattr(outbox, "_finish", real_finish)
    stuck = Dispatch.objects.get(channel="email")
    assert stuck.status == DispatchStatus.SENDING and len(smtp.mailbox.messages) == 1
    assert outbox.process_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(smtp.mailbox.messages) == 1  # not sent again
    assert list(outbox.stale_dispatches(now=timezone.now() + datetime.timedelta(hours=1))) == [stuck]
    assert list(outbox.stale_dispatches()) == []  # only once it has been stuck for a while


def test_every_generated_letter_is_archived_with_a_sidecar(smtp, agent, template,
                                                           django_capture_on_commit_callbacks):
    smtp.start()
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    archived = dispatch_for(letter, "archive")
    assert archived.status == DispatchStatus.SENT
    archive = get_channel("archive")
    assert hashlib.sha256(archive.read(letter)).hexdigest() == letter.pdf_sha256
    metadata = archive.read_metadata(letter)
    assert metadata["reference"] == letter.reference and metadata["sha256"] == letter.pdf_sha256
    assert metadata["template"]["revision"] == letter.template_revision_id
    assert [fragment["key"] for fragment in metadata["fragments"]] == ["greeting"]
    with archive.storage.open(archive.paths(letter)[0], "wb") as handle:
        handle.write(b"%PDF-1.7 altered")
    with pytest.raises(ArchiveIntegrityError):
        archive.read(letter)
    assert json.loads(json.dumps(metadata))  # the sidecar is plain JSON


def test_only_channels_with_a_backend_get_a_dispatch(agent, template, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        letter = service.generate_letter(agent, service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="sms"))
    assert list(letter.dispatches.values_list("channel", flat=True)) == ["archive"]  # no SMS backend here


def test_requeue_after_a_person_checked(smtp, agent, template, django_capture_on_commit_callbacks):
    smtp.start()
    smtp.mailbox.refuse.add("typo@example.org")
    letter = generate(agent, template, django_capture_on_commit_callbacks, email="typo@example.org")
    failed = dispatch_for(letter, "email")
    smtp.mailbox.refuse.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outbox.requeue(failed, agent)
    failed.refresh_from_db()
    assert failed.status == DispatchStatus.SENT, failed.last_error
    assert len(smtp.mailbox.messages) == 1
    with pytest.raises(ValueError):
        outbox.requeue(failed, agent)


def test_delivery_status_in_the_api_and_on_the_letter_page(client, smtp, agent, template,
                                                           django_capture_on_commit_callbacks):
    smtp.start()
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    client.force_login(agent)
    body = client.get(f"/api/correspondence/v1/letters/{letter.reference}/").json()
    assert body["delivery_status"] == "sent"
    assert {(item["channel"], item["status"]) for item in body["delivery"]} == {("email", "sent"), ("archive", "sent")}
    page = client.get(f"/admin/correspondence/letters/inspect/{letter.pk}/").content.decode()
    assert 'data-dispatch="email"' in page and "ada@example.org" in page


def test_emailed_pdf_can_be_password_protected(smtp, agent, customer_dictionary, standard_layout,
                                               django_capture_on_commit_callbacks):
    from pypdf import PdfReader

    smtp.start()
    fragment = factories.fragment(customer_dictionary, key="secret", html="<p>Dear {{ customer.first_name }},</p>")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment],
                                         email_pdf_password="{{ customer.phone|digits }}")
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    [message] = smtp.mailbox.messages
    [attachment] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    assert reader.is_encrypted
    assert not reader.decrypt("wrong")
    assert reader.decrypt("3225550123")  # +32 2 555 01 23, digits only
    assert reader.metadata.subject == letter.reference
    assert reader.trailer["/Encrypt"].get_object()["/V"] == 5  # version 5: AES-256
    with letter.pdf.open("rb") as handle:
        assert not PdfReader(handle).is_encrypted  # the kept copy stays readable for the archive


class HangUpAfterData:
    """An SMTP server on loopback that takes the whole message, then drops the connection
    before answering: the sender cannot know whether the message was accepted."""

    def __init__(self):
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.messages = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _address = self.sock.accept()
            except OSError:
                return
            with connection, connection.makefile("rb") as incoming:
                connection.sendall(b"220 localhost ESMTP\r\n")
                in_data = False
                for line in incoming:
                    if in_data:
                        if line == b".\r\n":
                            self.messages += 1
                            break  # hang up instead of "250 OK"
                        continue
                    command = line[:4].upper()
                    if command in (b"EHLO", b"HELO"):
                        connection.sendall(b"250 localhost\r\n")
                    elif command == b"DATA":
                        connection.sendall(b"354 go ahead\r\n")
                        in_data = True
                    else:
                        connection.sendall(b"250 OK\r\n")

    def close(self):
        self.sock.close()


def test_a_connection_lost_after_sending_is_never_retried_on_its_own(settings, agent, template,
                                                                     django_capture_on_commit_callbacks):
    server = HangUpAfterData()
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {"email": {
        "BACKEND": "wagtail_correspondence.delivery.email.EmailChannel",
        "OPTIONS": {"connection": {"backend": "django.core.mail.backends.smtp.EmailBackend", "host": "127.0.0.1",
                                   "port": server.port, "timeout": 5}}}}}
    try:
        letter = generate(agent, template, django_capture_on_commit_callbacks)
        unknown = dispatch_for(letter, "email")
        assert unknown.status == DispatchStatus.SENDING and unknown.last_error.startswith("outcome unknown")
        assert server.messages == 1
        assert outbox.process_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
        assert server.messages == 1  # not sent again
        assert list(outbox.stale_dispatches(now=timezone.now() + datetime.timedelta(hours=1))) == [unknown]
    finally:
        server.close()
