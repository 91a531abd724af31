"""The archive copy of every generated letter: the PDF and a JSON metadata sidecar, written
once to a storage of their own and checked against the SHA-256 whenever read."""

import hashlib
import json

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from .base import Channel, DeliveryResult, PermanentDeliveryError, TemporaryDeliveryError


class ArchiveIntegrityError(Exception):
    pass


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
                      for pin in letter.fragment_pins.select_related("fragment").order_by("pk")],
        "customer_id": letter.customer_id,
        "channels": letter.channels,
        "language": letter.language,
        "generated_at": letter.generated_at.isoformat() if letter.generated_at else None,
        "generated_by": letter.generated_by.get_username() if letter.generated_by_id else None,
    }


class StorageArchive(Channel):
    """Archives into a Django storage alias (a folder by default; any STORAGES backend)."""

    def __init__(self, storage="default", prefix="archive"):
        self.storage_alias = storage
        self.prefix = prefix.strip("/")

    @property
    def storage(self):
        return storages[self.storage_alias]

    def paths(self, letter):
        base = f"{letter.generated_at:%Y/%m}/{letter.reference}"
        base = f"{self.prefix}/{base}" if self.prefix else base
        return f"{base}.pdf", f"{base}.json"

    def recipient_for(self, letter):
        return self.paths(letter)[0]

    def send(self, dispatch):
        letter = dispatch.letter
        if not letter.is_generated:
            raise PermanentDeliveryError("only generated letters are archived")
        pdf_path, metadata_path = self.paths(letter)
        with letter.pdf.open("rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
            raise PermanentDeliveryError("the letter's PDF does not match its SHA-256; not archived")
        try:
            if self.storage.exists(pdf_path):
                # A retry after a crash: keep what is there if it is the same letter.
                self.read(letter)
            else:
                self.storage.save(pdf_path, ContentFile(content))
            if not self.storage.exists(metadata_path):
                sidecar = json.dumps(archive_metadata(letter), indent=2, ensure_ascii=False).encode("utf-8")
                self.storage.save(metadata_path, ContentFile(sidecar))
        except ArchiveIntegrityError as exc:
            raise PermanentDeliveryError(str(exc)) from exc
        except OSError as exc:
            raise TemporaryDeliveryError(f"the archive could not be written: {exc}") from exc
        return DeliveryResult(provider_message_id=pdf_path, recipient=pdf_path)

    def read(self, letter):
        """The archived PDF, checked against the letter's SHA-256."""
        pdf_path, _metadata = self.paths(letter)
        with self.storage.open(pdf_path, "rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
            raise ArchiveIntegrityError(f"the archived PDF of {letter.reference} does not match its SHA-256")
        return content

    def read_metadata(self, letter):
        _pdf, metadata_path = self.paths(letter)
        with self.storage.open(metadata_path, "rb") as handle:
            return json.loads(handle.read())
