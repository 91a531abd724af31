"""The print room: letters queued for print are sent together as a print run, one merged PDF
(each letter starting on a new sheet) and a manifest, written to a storage of their own (a
folder, or S3 through a django-storages alias)."""

import hashlib
import io
import json

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils.translation import gettext as _

from .. import postal
from ..exports import formula_safe_csv_writer
from ..rendering.formatting import locale_for_language
from .base import Channel
from .email import lookup


def address_lines(letter, name_field="customer.full_name", address_field="customer.address"):
    value = letter.data
    for part in address_field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    address = value if isinstance(value, dict) else {}
    # As in the letter's address window: the letter's language names the country.
    return postal.address_lines(address, locale_for_language(getattr(letter, "language", "")), name=str(
        lookup(letter.data, name_field) or ""))


class PrintRoomChannel(Channel):
    """Batched: dispatches wait in the outbox until a print run (``services.printing``) takes
    them all. OPTIONS: ``storage`` (a STORAGES alias), ``prefix``, ``duplex``."""

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
        raise NotImplementedError("print dispatches are sent together by a print run (services.printing)")

    def merge(self, letters, progress=None):
        """(merged PDF bytes, manifest rows). Each letter starts on a new sheet. ``progress``
        is called with the number of letters merged so far."""
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
            if progress is not None:
                progress(len(rows))
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue(), rows

    def paths(self, run_name):
        base = f"{self.prefix}/{run_name}" if self.prefix else run_name
        return {"pdf": f"{base}/letters.pdf", "csv": f"{base}/manifest.csv", "manifest": f"{base}/manifest.json"}

    def _replace(self, path, content):
        # The same name every time: a run written again replaces its files, never adds a copy.
        if self.storage.exists(path):
            self.storage.delete(path)
        saved = self.storage.save(path, ContentFile(content))
        if saved != path:
            raise OSError(f"the print storage wrote {saved} instead of {path}")
        return saved

    def write(self, run_name, merged, rows):
        """Write the merged PDF and the manifest (CSV, then JSON: the print room takes a run
        whose manifest.json is there); returns the paths of the PDF and the JSON manifest."""
        paths = self.paths(run_name)
        self._replace(paths["pdf"], merged)
        table = io.StringIO()
        writer = formula_safe_csv_writer(table, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        self._replace(paths["csv"], table.getvalue().encode("utf-8"))
        manifest = json.dumps({"letters": rows, "duplex": self.duplex}, indent=2, ensure_ascii=False)
        self._replace(paths["manifest"], manifest.encode("utf-8"))
        return paths["pdf"], paths["manifest"]

    def written(self, run_name):
        """The rows of a run whose files are all written (its manifest is there), else None."""
        paths = self.paths(run_name)
        if not (self.storage.exists(paths["manifest"]) and self.storage.exists(paths["pdf"])):
            return None
        with self.storage.open(paths["manifest"], "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))["letters"]

    def pdf_sha256(self, run_name):
        digest = hashlib.sha256()
        with self.storage.open(self.paths(run_name)["pdf"], "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
