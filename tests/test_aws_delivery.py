"""S3 archive with Object Lock and SMS through SNS, against moto_server on loopback: objects
present, locked and encrypted; a locked object cannot be deleted; S3 down means the letter is
still recorded and the archive retried; SMS text and number as the provider received them."""

import copy
import datetime
import hashlib
import json

import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from wagtail_correspondence.delivery.base import get_channel
from wagtail_correspondence.delivery.sms import to_e164
from wagtail_correspondence.models import Dispatch, DispatchStatus, Letter
from wagtail_correspondence.services import dispatch as outbox
from wagtail_correspondence.services import letters as service

from . import factories
from .aws import MotoServer

pytestmark = pytest.mark.usefixtures("one_customer")
BUCKET = "letters-archive"


@pytest.fixture
def template(customer_dictionary, standard_layout):
    fragment = factories.fragment(customer_dictionary, key="greeting")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment],
                                     channels=["print", "email", "sms"],
                                     sms_text="Northwind: {{ balance|money }} due. Ref {{ customer.id }}")


def s3_archive_settings(settings, endpoint_url, **options):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ARCHIVE": {
        "BACKEND": "wagtail_correspondence.delivery.archive.S3Archive",
        "OPTIONS": {"bucket": BUCKET, "prefix": "letters", "endpoint_url": endpoint_url, "region_name": "eu-west-1",
                    "object_lock_mode": "COMPLIANCE", "retention_days": 3650, "server_side_encryption": "AES256",
                    "connect_timeout": 1, "read_timeout": 5, **options}}}


def generate(agent, template, capture, channel="print", **customer):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"].update(customer)
    with capture(execute=True):
        return service.generate_letter(agent, service.LetterRequest(template=template, data=data, channel=channel))


def test_archive_to_s3_with_object_lock_and_encryption(aws, settings, agent, template,
                                                       django_capture_on_commit_callbacks):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3_archive_settings(settings, aws.url)
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    archived = Dispatch.objects.get(letter=letter, channel="archive")
    key = f"letters/{letter.generated_at:%Y/%m}/{letter.reference}.pdf"
    assert archived.status == DispatchStatus.SENT, archived.last_error
    assert archived.recipient == f"s3://{BUCKET}/{key}"

    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ServerSideEncryption"] == "AES256"
    retain_until = head["ObjectLockRetainUntilDate"]
    assert retain_until - letter.generated_at > datetime.timedelta(days=3649)
    assert head["Metadata"]["letter-sha256"] == letter.pdf_sha256
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == letter.pdf_sha256
    sidecar = json.loads(s3.get_object(Bucket=BUCKET, Key=key.replace(".pdf", ".json"))["Body"].read())
    assert sidecar["reference"] == letter.reference and sidecar["sha256"] == letter.pdf_sha256

    # Nobody can remove or overwrite the locked version.
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=head["VersionId"])
    assert hashlib.sha256(get_channel("archive").read(letter)).hexdigest() == letter.pdf_sha256

    # Reading checks the SHA-256: a newer version with other bytes is caught.
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"%PDF-1.7 forged")
    with pytest.raises(Exception, match="does not match"):
        get_channel("archive").read(letter)


def test_s3_unreachable_keeps_the_letter_and_retries_the_archive(
        settings, agent, template, monkeypatch, django_capture_on_commit_callbacks):
    from .aws import CREDENTIALS

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = MotoServer()  # its port is chosen, nothing listens on it yet
    s3_archive_settings(settings, server.url)
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    assert Letter.objects.get(pk=letter.pk).is_generated  # recorded whatever the archive does
    waiting = Dispatch.objects.get(letter=letter, channel="archive")
    assert waiting.status == DispatchStatus.QUEUED and "could not be reached" in waiting.last_error

    server.start()
    try:
        server.client("s3").create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True,
                                          CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert outbox.process_due(now=waiting.next_attempt_at + datetime.timedelta(seconds=1)) == 1
        waiting.refresh_from_db()
        assert waiting.status == DispatchStatus.SENT and waiting.attempts == 2
        assert get_channel("archive").read(letter)
    finally:
        server.stop()


def test_missing_bucket_is_a_failure_for_a_person_not_a_retry_loop(
        aws, settings, agent, template, django_capture_on_commit_callbacks):
    s3_archive_settings(settings, aws.url)
    letter = generate(agent, template, django_capture_on_commit_callbacks)
    failed = Dispatch.objects.get(letter=letter, channel="archive")
    assert failed.status == DispatchStatus.FAILED and "NoSuchBucket" in failed.last_error


@pytest.fixture
def sns(aws, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "CHANNEL_BACKENDS": {"sms": {
        "BACKEND": "wagtail_correspondence.delivery.sms.SnsSmsChannel",
        "OPTIONS": {"endpoint_url": aws.url, "region_name": "eu-west-1", "sender_id": "Northwind",
                    "default_country_code": "32"}}}}
    return aws


def test_sms_reaches_sns_with_the_number_in_e164(sns, agent, template, django_capture_on_commit_callbacks):
    letter = generate(agent, template, django_capture_on_commit_callbacks, channel="sms", phone="02 555 01 23")
    sent = Dispatch.objects.get(letter=letter, channel="sms")
    assert sent.status == DispatchStatus.SENT, sent.last_error
    assert sent.recipient == "+3225550123"
    [message] = sns.sms_messages()
    assert message == {"message": "Northwind: €250.00 due. Ref C-1001", "message_id": sent.provider_message_id,
                       "phone_number": "+3225550123"}
    assert outbox.process_due(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert len(sns.sms_messages()) == 1


def test_sms_without_a_usable_number_fails(sns, agent, template, django_capture_on_commit_callbacks):
    letter = generate(agent, template, django_capture_on_commit_callbacks, channel="sms", phone="000000")
    failed = Dispatch.objects.get(letter=letter, channel="sms")
    assert failed.status == DispatchStatus.FAILED and "no valid phone number" in failed.last_error
    assert sns.sms_messages() == []


@pytest.mark.parametrize("number, country, expected", [
    ("+32 2 555 01 23", "", "+3225550123"), ("0032 2 555 01 23", "", "+3225550123"),
    ("02/555.01.23", "32", "+3225550123"), ("02 555 01 23", "", ""), ("+1 (415) 555-0100", "", "+14155550100"),
    ("12", "32", ""),
])
def test_phone_numbers_to_e164(number, country, expected):
    assert to_e164(number, country) == expected
