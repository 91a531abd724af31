"""The archive copy of every generated letter: the PDF and a JSON metadata sidecar, written
once and checked against the SHA-256 whenever read.

``StorageArchive`` writes to any Django storage (a private folder by default);
``S3Archive`` writes to S3 through boto3 with server-side encryption and Object Lock
retention, so that nobody, not even an administrator in COMPLIANCE mode, can alter or delete
an archived letter before its retention ends.
"""

import datetime
import hashlib
import json

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from ..s3 import S3Bucket
from .base import Channel, DeliveryResult, PermanentDeliveryError, TemporaryDeliveryError, letter_pdf_bytes


class ArchiveIntegrityError(Exception):
    pass


def _pins(letter):
    if "fragment_pins" in getattr(letter, "_prefetched_objects_cache", {}):  # delivered in bulk
        return sorted(letter.fragment_pins.all(), key=lambda pin: pin.pk)
    return letter.fragment_pins.select_related("fragment").order_by("pk")


def archive_metadata(letter):
    return {
        "reference": letter.reference,
        "sha256": letter.pdf_sha256,
        "pages": letter.pdf_pages,
        "subject": letter.subject,
        "template": {"id": letter.template_id, "title": letter.template.title,
                     "revision": letter.template_revision_id},
        "layout_revision": letter.layout_revision_id,
        "dictionary_revision": letter.dictionary_revision_id,
        "fragments": [{"key": pin.fragment.key, "revision": pin.revision_id, "included": pin.included}
                      for pin in _pins(letter)],
        "customer_id": letter.customer_id,
        "channels": letter.channels,
        "language": letter.language,
        "generated_at": letter.generated_at.isoformat() if letter.generated_at else None,
        "generated_by": letter.generated_by.get_username() if letter.generated_by_id else None,
    }


class Archive(Channel):
    """Writes each letter once: a retry after a crash finds what is there and checks it."""

    def __init__(self, prefix="archive"):
        self.prefix = (prefix or "").strip("/")

    def paths(self, letter):
        base = f"{letter.generated_at:%Y/%m}/{letter.reference}"
        base = f"{self.prefix}/{base}" if self.prefix else base
        return f"{base}.pdf", f"{base}.json"

    def recipient_for(self, letter):
        return self.location(self.paths(letter)[0])

    def location(self, key):
        return key

    # What a backend provides.
    def exists(self, key):
        raise NotImplementedError

    def write(self, key, content, content_type, letter):
        raise NotImplementedError

    def read_bytes(self, key):
        raise NotImplementedError

    def send(self, dispatch):
        letter = dispatch.letter
        if not letter.is_generated:
            raise PermanentDeliveryError("only generated letters are archived")
        pdf_key, metadata_key = self.paths(letter)
        content = letter_pdf_bytes(letter)
        if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
            raise PermanentDeliveryError("the letter's PDF does not match its SHA-256; not archived")
        sidecar = json.dumps(archive_metadata(letter), indent=2, ensure_ascii=False).encode("utf-8")
        try:
            if self.exists(pdf_key):
                self.read(letter)  # the same letter, or an integrity error
            else:
                self.write(pdf_key, content, "application/pdf", letter)
            if not self.exists(metadata_key):
                self.write(metadata_key, sidecar, "application/json", letter)
        except ArchiveIntegrityError as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        except OSError as exc:
            raise TemporaryDeliveryError(f"the archive could not be read: {exc}") from exc
        return DeliveryResult(provider_message_id=self.location(pdf_key), recipient=self.location(pdf_key))

    def read(self, letter):
        """The archived PDF, checked against the letter's SHA-256."""
        content = self.read_bytes(self.paths(letter)[0])
        if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
            raise ArchiveIntegrityError(f"the archived PDF of {letter.reference} does not match its SHA-256")
        return content

    def read_metadata(self, letter):
        return json.loads(self.read_bytes(self.paths(letter)[1]))


class StorageArchive(Archive):
    """Archives into a Django storage alias (a folder by default; any STORAGES backend)."""

    def __init__(self, storage="default", prefix="archive"):
        super().__init__(prefix)
        self.storage_alias = storage

    @property
    def storage(self):
        return storages[self.storage_alias]

    def exists(self, key):
        try:
            return self.storage.exists(key)
        except OSError as exc:
            raise TemporaryDeliveryError(f"the archive could not be read: {exc}") from exc

    def write(self, key, content, content_type, letter):
        try:
            self.storage.save(key, ContentFile(content))
        except OSError as exc:
            raise TemporaryDeliveryError(f"the archive could not be written: {exc}") from exc

    def read_bytes(self, key):
        with self.storage.open(key, "rb") as handle:
            return handle.read()


# Errors after which trying again can work; anything else from S3 is a configuration problem.
RETRYABLE_S3_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed",
                      "Throttling", "ThrottlingException"}


class S3Archive(Archive):
    """S3 through boto3. OPTIONS: ``bucket``; ``prefix``; ``region_name``, ``endpoint_url``
    (credentials come from boto3's usual chain); ``object_lock_mode`` ("COMPLIANCE" or
    "GOVERNANCE", on a bucket created with Object Lock) with ``retention_days`` counted from
    the letter's generation; ``server_side_encryption`` ("AES256" or "aws:kms", with
    ``kms_key_id``)."""

    def __init__(self, bucket, prefix="", **options):
        super().__init__(prefix)
        self.s3 = S3Bucket(bucket, **options)
        self.bucket = bucket
        self.retention_days = self.s3.retention_days

    @property
    def client(self):
        return self.s3.client

    def location(self, key):
        return f"s3://{self.bucket}/{key}"

    def retain_until(self, letter):
        return letter.generated_at + datetime.timedelta(days=self.retention_days)

    def _call(self, operation, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if operation == "head_object" and status == 404:
                return None
            message = f"S3 {operation} failed: {code or status} {exc}"
            if code in RETRYABLE_S3_CODES or status >= 500:
                raise TemporaryDeliveryError(message) from exc
            raise PermanentDeliveryError(message) from exc
        except BotoCoreError as exc:  # no connection, timeouts
            raise TemporaryDeliveryError(f"S3 could not be reached: {exc}") from exc

    def exists(self, key):
        return self._call("head_object", Key=key) is not None

    def write(self, key, content, content_type, letter):
        self._call("put_object", **self.s3.put_arguments(
            key, content, content_type, retain_until=self.retain_until(letter) if self.s3.locks_objects else None,
            Metadata={"reference": letter.reference, "letter-sha256": letter.pdf_sha256}))

    def read_bytes(self, key):
        response = self._call("get_object", Key=key)
        return response["Body"].read()
