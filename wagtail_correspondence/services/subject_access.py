"""Subject access: everything held about one customer id, as a ZIP a data protection officer
reviews and hands over.

The ZIP holds ``index.json`` and ``index.html`` (every file, what it is, its SHA-256), and:

- ``entries/<reference>/entry.json``: each register entry of the customer (its fields, notes,
  its place in the conversation, its status history from the audit log) and
  ``entries/<reference>/documents/…``: every version of every document;
- ``letters/<reference>/letter.json`` (data, slot texts, channel, dates, texts sent),
  ``<reference>.pdf`` (the PDF as generated, checked against its SHA-256),
  ``dispatches.json`` (channel, recipient, status, dates) and ``portal-responses.json`` with
  the files customers attached in the portal.

It is a legal disclosure, so it ignores department scope and confidentiality; it needs the
``export_subject_access`` permission and is audited. Staff identities (assignees, note
authors, who changed what) and legal holds are left out: they are not the customer's data.
"""

import datetime
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from .. import log_actions
from ..models import Correspondence, Letter, PortalResponse
from . import register_access as access

EXPORT_SUBJECT_ACCESS = "wagtail_correspondence.export_subject_access"

ENTRY_FIELDS = [
    "reference", "direction", "kind", "channel", "source", "subject", "body", "sender_name", "sender_organisation",
    "sender_address", "sender_email", "sender_phone", "recipients", "customer_id", "external_reference",
    "received_at", "sent_at", "registered_at", "due_at", "responded_at", "closed_at", "status", "priority",
    "confidentiality", "resolution", "delivery_status",
]
LETTER_FIELDS = [
    "reference", "status", "customer_id", "recipient_name", "language", "channels", "subject", "email_subject",
    "data", "data_overrides", "slot_values", "optional_fragments", "email_text", "sms_text", "created_at",
    "generated_at", "pdf_sha256", "pdf_pages",
]
# Log entries that are part of an entry's story (views and downloads are not).
HISTORY_ACTIONS = {
    log_actions.REGISTER_CREATED: "registered", log_actions.REGISTER_TRANSITIONED: "status",
    log_actions.REGISTER_ASSIGNED: "assigned", log_actions.REGISTER_UPDATED: "changed",
    log_actions.REGISTER_NOTE_ADDED: "note", log_actions.REGISTER_ATTACHMENT_ADDED: "document",
    log_actions.REGISTER_RESTORED: "restored", log_actions.RETENTION_ANONYMISED: "anonymised",
}


def can_export_subject_access(user):
    return user.is_active and user.has_perm(EXPORT_SUBJECT_ACCESS)


def safe_name(value, default="file"):
    """A ZIP path segment: no separators, no leading dots, nothing a file system trips on."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(value or "")).strip("._")
    return cleaned[:100] or default


@dataclass
class _Item:
    path: str
    kind: str
    description: str
    reference: str = ""
    size: int = 0
    sha256: str = ""
    missing: bool = False

    def as_dict(self):
        return {"file": self.path, "kind": self.kind, "description": self.description, "reference": self.reference,
                "size": self.size, "sha256": self.sha256, "missing": self.missing}


@dataclass
class _Archive:
    stamp: tuple
    buffer: io.BytesIO = field(default_factory=io.BytesIO)
    items: list = field(default_factory=list)
    used: set = field(default_factory=set)

    def __post_init__(self):
        self.zip = zipfile.ZipFile(self.buffer, "w", compression=zipfile.ZIP_DEFLATED)

    def _unique(self, path):
        stem, dot, extension = path.rpartition(".")
        if not dot or "/" in extension:
            stem, extension = path, ""
        candidate, number = path, 1
        while candidate in self.used:
            number += 1
            candidate = f"{stem}-{number}.{extension}" if extension else f"{stem}-{number}"
        self.used.add(candidate)
        return candidate

    def write(self, path, content):
        info = zipfile.ZipInfo(path, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, content)

    def add(self, path, content, kind, description, reference=""):
        path = self._unique(path)
        if isinstance(content, str):
            content = content.encode("utf-8")
        self.write(path, content)
        self.items.append(_Item(path, kind, description, reference, len(content), hashlib.sha256(content).hexdigest()))
        return path

    def add_json(self, path, value, kind, description, reference=""):
        text = json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True)
        return self.add(path, text, kind, description, reference)

    def add_file(self, path, field_file, kind, description, reference=""):
        """A stored file; one that storage lost is listed as missing rather than failing the export."""
        try:
            with field_file.open("rb") as handle:
                content = handle.read()
        except (OSError, ValueError):  # lost from storage, or no file name at all
            path = self._unique(path)
            self.items.append(_Item(path, kind, _("%(description)s — missing from storage") % {
                "description": description}, reference, missing=True))
            return None
        return self.add(path, content, kind, description, reference)


def _value(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def _history(entry):
    rows = ModelLogEntry.objects.filter(content_type__app_label="wagtail_correspondence",
                                        content_type__model="correspondence", object_id=str(entry.pk),
                                        action__in=list(HISTORY_ACTIONS)).order_by("timestamp", "pk")
    history, status = [], []
    for row in rows:
        data = row.data or {}
        history.append({"at": row.timestamp.isoformat(), "what": HISTORY_ACTIONS[row.action],
                        "description": str(row.message)})
        if row.action == log_actions.REGISTER_CREATED:
            status.append({"at": row.timestamp.isoformat(), "from": None, "to": None, "reason": ""})
        elif row.action == log_actions.REGISTER_TRANSITIONED:
            status.append({"at": row.timestamp.isoformat(), "from": data.get("from"), "to": data.get("to"),
                           "reason": data.get("reason", "")})
    if status and status[0]["from"] is None:
        # Registration may assign at once: the first status is where the first move started.
        status[0]["to"] = status[1]["from"] if len(status) > 1 else entry.status
    return history, status


def _export_entry(archive, entry):
    folder = f"entries/{safe_name(entry.reference, f'entry-{entry.pk}')}"
    documents = []
    for number, attachment in enumerate(entry.attachments.prefetch_related("versions").order_by("created_at", "pk"),
                                        start=1):
        for version in sorted(attachment.versions.all(), key=lambda item: item.number):
            path = archive.add_file(
                f"{folder}/documents/{number}-{safe_name(attachment.title, 'document')}/"
                f"v{version.number}-{safe_name(version.filename)}", version.file, "document",
                _("“%(title)s”, version %(version)s (%(type)s), uploaded %(date)s") % {
                    "title": attachment.title, "version": version.number, "type": version.content_type,
                    "date": timezone.localtime(version.uploaded_at).strftime("%Y-%m-%d %H:%M")}, entry.reference)
            documents.append({"title": attachment.title, "version": version.number, "filename": version.filename,
                              "content_type": version.content_type, "size": version.size, "sha256": version.sha256,
                              "uploaded_at": version.uploaded_at, "comment": version.comment, "file": path})
    history, status = _history(entry)
    replies = list(entry.replies.order_by("registered_at", "pk").values_list("reference", flat=True))
    value = {name: _value(getattr(entry, name)) for name in ENTRY_FIELDS}
    value.update({
        "category": entry.category.name if entry.category_id else None,
        "department": entry.department.name if entry.department_id else None,
        "tags": sorted(entry.tags.names(), key=str.lower),
        "thread": {"first_entry": entry.thread_root.reference if entry.thread_root_id else entry.reference,
                   "in_reply_to": entry.in_reply_to.reference if entry.in_reply_to_id else None,
                   "replies": replies, "letter": entry.letter.reference if entry.letter_id else None},
        "notes": [{"created_at": note.created_at, "text": note.text} for note in entry.notes.order_by("created_at")],
        "documents": documents,
        "status_history": status,
        "history": history,
    })
    archive.add_json(f"{folder}/entry.json", value, "register entry", _("Register entry “%(subject)s” (%(direction)s, "
                     "%(status)s): fields, notes, conversation, status history") % {
                         "subject": entry.subject, "direction": entry.get_direction_display(),
                         "status": entry.get_status_display()}, entry.reference)


def _export_letter(archive, letter, responses):
    name = letter.reference or f"draft-{str(letter.uuid)[:8]}"
    folder = f"letters/{safe_name(name, f'letter-{letter.pk}')}"
    value = {name: _value(getattr(letter, name)) for name in LETTER_FIELDS}
    value.update({"template": letter.template.title, "channel": letter.channel,
                  "in_reply_to": letter.in_reply_to.reference if letter.in_reply_to_id else None})
    if letter.is_generated and letter.pdf:
        value["pdf"] = archive.add_file(f"{folder}/{safe_name(name)}.pdf", letter.pdf, "letter PDF",
                                        _("The letter as generated (PDF)"), name)
    archive.add_json(f"{folder}/letter.json", value, "letter",
                     _("Letter “%(subject)s” (%(status)s): data, slot texts, channel, dates, texts sent") % {
                         "subject": letter.subject or letter.template.title, "status": letter.get_status_display()},
                     name)
    dispatches = [{"channel": dispatch.channel, "recipient": dispatch.recipient, "status": dispatch.status,
                   "attempts": dispatch.attempts, "created_at": dispatch.created_at, "sent_at": dispatch.sent_at,
                   "delivered_at": dispatch.delivered_at}
                  for dispatch in letter.dispatches.order_by("created_at", "pk")]
    if dispatches:
        archive.add_json(f"{folder}/dispatches.json", dispatches, "dispatch records",
                         _("How the letter was sent: %(count)s dispatch record(s) (channel, status, dates)") % {
                             "count": len(dispatches)}, name)
    answers = []
    for response in responses:
        item = {"kind": response.kind, "text": response.text, "received_at": response.created_at,
                "attachment": None}
        if response.attachment:
            item["attachment"] = archive.add_file(
                f"{folder}/portal/{str(response.uuid)[:8]}-{safe_name(response.attachment_name, 'attachment')}",
                response.attachment, "portal attachment",
                _("File attached to a portal reply (%(type)s)") % {"type": response.attachment_type}, name)
            item.update(attachment_name=response.attachment_name, attachment_sha256=response.attachment_sha256)
        answers.append(item)
    if answers:
        archive.add_json(f"{folder}/portal-responses.json", answers, "portal responses",
                         _("%(count)s acknowledgement(s) and reply(ies) in the customer portal") % {
                             "count": len(answers)}, name)
    return len(dispatches), len(answers)


def export_subject(customer_id, user):
    """The ZIP (bytes) of everything held about ``customer_id``; audited."""
    access.require(can_export_subject_access(user), _("You may not export subject access requests."))
    customer_id = (customer_id or "").strip()
    if not customer_id:
        raise ValidationError({"customer_id": _("Give the customer number.")})
    now = timezone.now()
    local = timezone.localtime(now)
    archive = _Archive(stamp=(max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second))

    entries = list(Correspondence.objects.filter(customer_id=customer_id).select_related(
        "category", "department", "letter", "thread_root", "in_reply_to").order_by("registered_at", "pk"))
    letters = list(Letter.objects.filter(Q(customer_id=customer_id) | Q(register_entry__in=entries)
                                         | Q(portal_responses__register_entry__in=entries)).distinct()
                   .select_related("template", "in_reply_to").order_by("created_at", "pk"))
    responses = {}
    for response in PortalResponse.objects.filter(
            Q(letter__in=letters) | Q(register_entry__in=entries)).select_related("letter").order_by("created_at"):
        responses.setdefault(response.letter_id, []).append(response)

    for entry in entries:
        _export_entry(archive, entry)
    dispatches = answers = 0
    for letter in letters:
        counts = _export_letter(archive, letter, responses.pop(letter.pk, []))
        dispatches, answers = dispatches + counts[0], answers + counts[1]
    documents = sum(1 for item in archive.items if item.kind == "document")

    summary = {"entries": len(entries), "documents": documents, "letters": len(letters), "dispatches": dispatches,
               "portal_responses": answers, "files": len(archive.items)}
    index = {"customer_id": customer_id, "generated_at": now.isoformat(),
             "generated_by": user.get_username(), "summary": summary,
             "items": [item.as_dict() for item in archive.items]}
    archive.write("index.json", json.dumps(index, indent=2, ensure_ascii=False))
    archive.write("index.html", render_to_string("wagtail_correspondence/privacy/subject_access_index.html", {
        "customer_id": customer_id, "generated_at": local, "generated_by": user.get_username(), "summary": summary,
        "items": archive.items}))
    archive.zip.close()
    content = archive.buffer.getvalue()
    # The export concerns a customer, who is no object of ours, and many records: the log
    # entry sits with the person who made the disclosure, as the register export's does.
    log(user, log_actions.SUBJECT_ACCESS_EXPORTED, user=user, data={
        "customer_id": customer_id, "items": len(archive.items), **summary,
        "sha256": hashlib.sha256(content).hexdigest()})
    return content


def export_filename(customer_id, when=None):
    when = timezone.localtime(when or timezone.now())
    return f"subject-access-{safe_name(customer_id, 'customer')}-{when:%Y%m%d-%H%M}.zip"
