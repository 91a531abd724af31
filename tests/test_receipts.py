"""Email through SES (moto_server) and delivery receipts through signed SNS notifications:
a bounce marks the dispatch and falls back to print; a delivery marks it delivered; a message
whose signature does not check out changes nothing."""

import base64
import copy
import datetime
import http.server
import json
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.delivery import receipts
from wagtail_correspondence.models import Dispatch, DispatchStatus
from wagtail_correspondence.services import letters as service

from . import factories

pytestmark = pytest.mark.usefixtures("one_customer")
RECEIPTS = "/api/correspondence/v1/delivery-receipts/sns/"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"


class CertificateServer(http.server.BaseHTTPRequestHandler):
    pem = b""
    requests = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        CertificateServer.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(CertificateServer.pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>")

    def log_message(self, *args):
        pass


@pytest.fixture
def signer(settings):
    """A key and certificate standing in for AWS's, served on loopback, and SNS-style signing."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    CertificateServer.pem = certificate.public_bytes(serialization.Encoding.PEM)
    CertificateServer.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CertificateServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "DELIVERY_RECEIPTS": {
        "SNS_URL_PATTERN": r"^http://127\.0\.0\.1:\d+/", "TOPIC_ARNS": [TOPIC], "CONFIRM_SUBSCRIPTIONS": True}}
    receipts.signing_certificate.cache_clear()

    def sign(message, version="2"):
        # The string to sign, as AWS documents it: these keys, in this order, when present.
        keys = (["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"] if message["Type"] == "Notification"
                else ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"])
        text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()
        return {**message, "SignatureVersion": version, "SigningCertURL": f"{base}/SimpleNotificationService.pem",
                "Signature": base64.b64encode(key.sign(text, padding.PKCS1v15(), digest)).decode()}

    sign.base = base
    yield sign
    server.shutdown()
    server.server_close()


@pytest.fixture
def ses(aws, settings):
    aws.client("ses").verify_email_identity(EmailAddress="correspondence@example.org")
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {
        "email": {"BACKEND": "wagtail_correspondence.delivery.email.SesEmailChannel",
                  "OPTIONS": {"endpoint_url": aws.url, "region_name": "eu-west-1"}},
        "print": {"BACKEND": "wagtail_correspondence.delivery.printing.PrintRoomChannel",
                  "OPTIONS": {"storage": "print"}}}}
    return aws


@pytest.fixture
def letter(ses, make_user, customer_dictionary, standard_layout, django_capture_on_commit_callbacks):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment], fallback_channel="print")
    with django_capture_on_commit_callbacks(execute=True):
        return service.generate_letter(make_user("agent", roles.AGENTS), service.LetterRequest(
            template=template, data=copy.deepcopy(factories.SAMPLE_DATA), channel="email"))


def ses_event(kind, message_id, **details):
    event = {"notificationType": kind, "mail": {"messageId": message_id, "destination": ["ada@example.org"]}}
    event.update(details)
    return {"Type": "Notification", "MessageId": "a1b2", "TopicArn": TOPIC, "Timestamp": "2026-11-23T10:00:00.000Z",
            "Message": json.dumps(event)}


def post(client, message):
    return client.post(RECEIPTS, data=json.dumps(message), content_type="text/plain; charset=UTF-8")


def test_email_goes_out_through_ses(ses, letter):
    sent = Dispatch.objects.get(letter=letter, channel="email")
    assert sent.status == DispatchStatus.SENT and sent.provider_message_id
    [raw] = ses.data()["ses"]["RawMessage"]
    assert raw["id"] == sent.provider_message_id and raw["source"] == "correspondence@example.org"
    assert f"X-Correspondence-Reference: {letter.reference}" in raw["raw_data"]
    assert "application/pdf" in raw["raw_data"]


def test_a_signed_bounce_marks_the_dispatch_and_falls_back_to_print(client, signer, letter):
    sent = Dispatch.objects.get(letter=letter, channel="email")
    bounce = ses_event("Bounce", sent.provider_message_id, bounce={
        "bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "ada@example.org",
                                                          "diagnosticCode": "550 5.1.1 user unknown"}]})
    response = post(client, signer(bounce))
    assert response.status_code == 200 and response.json() == {"result": "bounced"}
    sent.refresh_from_db()
    assert sent.status == DispatchStatus.BOUNCED and "user unknown" in sent.last_error
    fallback = Dispatch.objects.get(letter=letter, channel="print")
    assert fallback.fallback_of == sent and fallback.status == DispatchStatus.QUEUED
    assert ModelLogEntry.objects.for_instance(letter).filter(action=log_actions.LETTER_BOUNCED).exists()
    assert post(client, signer(bounce)).json() == {"result": "bounced"}  # repeated: nothing more
    assert Dispatch.objects.filter(letter=letter, channel="print").count() == 1


def test_a_signed_delivery_marks_it_delivered(client, signer, letter):
    sent = Dispatch.objects.get(letter=letter, channel="email")
    assert post(client, signer(ses_event("Delivery", sent.provider_message_id), version="1")).status_code == 200
    sent.refresh_from_db()
    assert sent.status == DispatchStatus.DELIVERED and sent.delivered_at


def test_unsigned_tampered_or_foreign_messages_change_nothing(client, signer, letter):
    sent = Dispatch.objects.get(letter=letter, channel="email")
    bounce = ses_event("Bounce", sent.provider_message_id, bounce={"bounceType": "Permanent",
                                                                   "bouncedRecipients": []})
    signed = signer(bounce)
    tampered = {**signed, "Message": signed["Message"].replace("Permanent", "Permanent ")}
    foreign_certificate = {**signed, "SigningCertURL": "http://198.51.100.7/SimpleNotificationService.pem"}
    other_topic = signer({**bounce, "TopicArn": "arn:aws:sns:eu-west-1:999999999999:other"})
    for message in (bounce, tampered, foreign_certificate, other_topic, {**signed, "Signature": "bm9wZQ=="}):
        assert post(client, message).status_code == 403
    assert client.post(RECEIPTS, data="not json", content_type="text/plain").status_code == 400
    sent.refresh_from_db()
    assert sent.status == DispatchStatus.SENT
    assert all(path.endswith(".pem") for path in CertificateServer.requests)  # never the foreign host


def test_subscription_is_confirmed_on_the_sns_address(client, signer):
    message = signer({"Type": "SubscriptionConfirmation", "MessageId": "m1", "Token": "t0k3n", "TopicArn": TOPIC,
                      "Message": "You have chosen to subscribe", "Timestamp": "2026-11-23T10:00:00.000Z",
                      "SubscribeURL": f"{signer.base}/?Action=ConfirmSubscription&Token=t0k3n"})
    assert post(client, message).json() == {"result": "subscription confirmed"}
    assert "/?Action=ConfirmSubscription&Token=t0k3n" in CertificateServer.requests
