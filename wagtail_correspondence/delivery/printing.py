"""The print room: letters queued for print are sent together as a print run, one merged PDF
(each letter starting on a new sheet) and a manifest, written to a storage of their own (a
folder, or S3 through a django-storages alias)."""

import hashlib
import io
import json

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils.translation import gettext as _

from ..exports import formula_safe_csv_writer
from .base import Channel
from .email import lookup


def address_lines(letter, name_field="customer.full_name", address_field="customer.address"):
    value = letter.data
    for part in address_field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    address = value if isinstance(value, dict) else {}
    postal = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    lines = [lookup(letter.data, name_field), address.get("line1"), address.get("line2"), postal,
             address.get("country")]
    return [str(line) for line in lines if line]


class PrintRoomChannel(Channel):
    """Batched: dispatches wait in the outbox until ``services.printing.build_print_run``
    takes them all. OPTIONS: ``storage`` (a STORAGES alias), ``prefix``, ``duplex``."""

    batched = True

    def __init__(self, storage="default", prefix="print-runs", duplex=True):
        self.storage_alias = storage
        self.prefix = prefix.strip("/")
        self.duplex = duplex

    @property
    def storage(self):
        return storages[self.storage_alias]

    def recipient_for(self, letter):
        template = letter.template.specific
        return ", ".join(address_lines(letter, template.recipient_name_field, template.recipient_address_field))

    def no_recipient_reason(self):
        return _("no postal address")

    def send(self, dispatch):
        raise NotImplementedError("print dispatches are sent together by build_print_run()")

    def merge(self, letters):
        """(merged PDF bytes, manifest rows). Each letter starts on a new sheet."""
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        rows = []
        for letter in letters:
            with letter.pdf.open("rb") as handle:
                content = handle.read()
            if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
                raise ValueError(f"the PDF of {letter.reference} does not match its SHA-256")
            reader = PdfReader(io.BytesIO(content))
            first_page = len(writer.pages) + 1
            for page in reader.pages:
                writer.add_page(page)
            pages = len(reader.pages)
            if self.duplex and pages % 2:
                box = reader.pages[-1].mediabox
                writer.add_blank_page(width=box.width, height=box.height)
            template = letter.template.specific
            rows.append({
                "reference": letter.reference, "recipient": lookup(letter.data, template.recipient_name_field),
                "address": " / ".join(address_lines(letter, template.recipient_name_field,
                                                    template.recipient_address_field)[1:]),
                "pages": pages, "sheets": (pages + 1) // 2 if self.duplex else pages, "first_page": first_page,
                "sha256": letter.pdf_sha256,
            })
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue(), rows

    def write(self, run_name, merged, rows):
        """Write the merged PDF and the manifest (JSON and CSV); returns their paths."""
        base = f"{self.prefix}/{run_name}" if self.prefix else run_name
        pdf_path = self.storage.save(f"{base}/letters.pdf", ContentFile(merged))
        manifest = json.dumps({"letters": rows, "duplex": self.duplex}, indent=2, ensure_ascii=False)
        manifest_path = self.storage.save(f"{base}/manifest.json", ContentFile(manifest.encode("utf-8")))
        table = io.StringIO()
        writer = formula_safe_csv_writer(table, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        self.storage.save(f"{base}/manifest.csv", ContentFile(table.getvalue().encode("utf-8")))
        return pdf_path, manifest_path
