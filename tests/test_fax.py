"""Fax through an email-to-fax gateway (local SMTP) and through an HTTP fax API (a local HTTP
server that records what it receives)."""

import base64
import copy
import datetime
import hashlib
import http.server
import json
import threading

import pytest
from django.utils import timezone

from wagtail_correspondence.models import Dispatch, DispatchStatus
from wagtail_correspondence.services import dispatch as outbox
from wagtail_correspondence.services import letters as service

from . import factories
from .test_dispatch import smtp  # noqa: F401 (a fixture: aiosmtpd on loopback)

pytestmark = pytest.mark.usefixtures("one_customer")


@pytest.fixture
def template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print", "fax"])


def use_fax(settings, backend, **options):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {"fax": {
        "BACKEND": f"wagtail_correspondence.delivery.fax.{backend}",
        "OPTIONS": {"fax_field": "customer.phone", **options}}}}


def generate(agent, template, capture):
    with capture(execute=True):
        return service.generate_letter(agent, service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="fax"))


def test_email_to_fax_gateway(smtp, settings, agent, template, django_capture_on_commit_callbacks):  # noqa: F811
    smtp.start()
    use_fax(settings, "EmailToFaxChannel", address_pattern="{digits}@fax.example.net",
            connection={"backend": "django.core.mail.backends.smtp.EmailBackend", "host": "127.0.0.1",
                        "port": smtp.port})
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    [message] = smtp.mailbox.messages
    assert message["To"] == "3225550123@fax.example.net" and message["Subject"] == letter.reference
    [pdf] = list(message.iter_attachments())
    assert hashlib.sha256(pdf.get_content()).hexdigest() == letter.pdf_sha256
    assert Dispatch.objects.get(channel="fax").status == DispatchStatus.SENT


class FaxApi(http.server.BaseHTTPRequestHandler):
    received = []
    answers = []

    def do_POST(self):  # noqa: N802 (the standard library's name)
        length = int(self.headers["Content-Length"])
        FaxApi.received.append({"headers": dict(self.headers), "body": json.loads(self.rfile.read(length))})
        status, answer = FaxApi.answers.pop(0) if FaxApi.answers else (202, {"id": "fax-1"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def fax_api():
    FaxApi.received, FaxApi.answers = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FaxApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/faxes"
    server.shutdown()
    server.server_close()


def test_http_fax_api(settings, agent, template, fax_api, django_capture_on_commit_callbacks):
    use_fax(settings, "HttpFaxChannel", url=fax_api, token="secret-token")
    FaxApi.answers = [(503, {"error": "busy"}), (202, {"id": "fax-42"})]
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    dispatch = Dispatch.objects.get(channel="fax")
    assert dispatch.status == DispatchStatus.QUEUED and "503" in dispatch.last_error  # retried later
    outbox.process_due(now=dispatch.next_attempt_at + datetime.timedelta(seconds=1))
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT and dispatch.provider_message_id == "fax-42"
    first, second = FaxApi.received
    assert second["headers"]["Authorization"] == "Bearer secret-token"
    assert second["headers"]["Idempotency-Key"] == dispatch.idempotency_key == first["body"]["idempotency_key"]
    body = second["body"]
    assert body["to"] == "+3225550123" and body["reference"] == letter.reference
    assert hashlib.sha256(base64.b64decode(body["document"])).hexdigest() == letter.pdf_sha256
    assert outbox.process_due(now=timezone.now() + datetime.timedelta(days=1)) == 0 and len(FaxApi.received) == 2


def test_http_fax_api_refusal_is_final(settings, agent, template, fax_api, django_capture_on_commit_callbacks):
    use_fax(settings, "HttpFaxChannel", url=fax_api)
    FaxApi.answers = [(422, {"error": "not a fax number"})]
    generate(agent, template, django_capture_on_commit_callbacks)
    dispatch = Dispatch.objects.get(channel="fax")
    assert dispatch.status == DispatchStatus.FAILED and "422" in dispatch.last_error
