"""Audit actions of the product: names, labels and how each log entry reads in the admin.

Registered through the ``register_log_actions`` hook in wagtail_hooks.py.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogFormatter

LETTER_CREATED = "wagtail_correspondence.letter.created"
LETTER_DRAFT_SAVED = "wagtail_correspondence.letter.draft_saved"
LETTER_GENERATED = "wagtail_correspondence.letter.generated"
LETTER_SUBMITTED = "wagtail_correspondence.letter.submitted_for_approval"
LETTER_RESUBMITTED = "wagtail_correspondence.letter.resubmitted_for_approval"
LETTER_APPROVED = "wagtail_correspondence.letter.approved"
LETTER_RETURNED = "wagtail_correspondence.letter.returned"
LETTER_WITHDRAWN = "wagtail_correspondence.letter.withdrawn"
LETTER_PDF_DOWNLOADED = "wagtail_correspondence.letter.pdf_downloaded"
LETTER_PDF_VIEWED = "wagtail_correspondence.letter.pdf_viewed"
LETTER_DISPATCHED = "wagtail_correspondence.letter.dispatched"
LETTER_DISPATCH_FAILED = "wagtail_correspondence.letter.dispatch_failed"
LETTER_DISPATCH_REQUEUED = "wagtail_correspondence.letter.dispatch_requeued"
LETTER_DISPATCH_FALLBACK = "wagtail_correspondence.letter.dispatch_fallback"
LETTER_DELIVERED = "wagtail_correspondence.letter.delivered"
LETTER_BOUNCED = "wagtail_correspondence.letter.bounced"
LETTER_COMPLAINT = "wagtail_correspondence.letter.complaint"
LETTER_PORTAL_OPENED = "wagtail_correspondence.letter.portal_opened"
LETTER_PORTAL_ACKNOWLEDGED = "wagtail_correspondence.letter.portal_acknowledged"
LETTER_PORTAL_REPLIED = "wagtail_correspondence.letter.portal_replied"
BATCH_CREATED = "wagtail_correspondence.batch.created"
BATCH_STARTED = "wagtail_correspondence.batch.started"
BATCH_CANCELLED = "wagtail_correspondence.batch.cancelled"
BATCH_RESUMED = "wagtail_correspondence.batch.resumed"
BATCH_STOPPED = "wagtail_correspondence.batch.stopped"
BATCH_REFERENCES_VOIDED = "wagtail_correspondence.batch.references_voided"
LETTER_DISCARDED = "wagtail_correspondence.letter.discarded"
LETTER_VIEWED = "wagtail_correspondence.letter.viewed"
AUDIT_LOG_EXPORTED = "wagtail_correspondence.audit.exported"
AUDIT_REKEYED = "wagtail_correspondence.audit.rekeyed"
AUDIT_REKEY_REFUSED = "wagtail_correspondence.audit.rekey_refused"


def tailored_wording(data):
    """What the agent changed in approved wording, as the redline the letter's log entry keeps
    (services.letters.tailoring_record): "" when nothing was changed."""
    changes = []
    for item in data.get("tailored") or []:
        if not isinstance(item, dict):
            continue
        if item.get("removed"):
            changes.append(_("%(label)s left out") % {"label": item.get("label", "?")})
        else:
            changes.append(f"{item.get('label', '?')}: {item.get('redline', '')}")
    return _("; approved wording changed (%(changes)s)") % {"changes": " | ".join(changes)} if changes else ""


class LetterGeneratedFormatter(LogFormatter):
    label = _("Generate letter")

    def format_message(self, log_entry):
        data = log_entry.data or {}
        return _("Generated %(reference)s from '%(template)s'") % {
            "reference": data.get("reference", "?"), "template": data.get("template", "?")} + tailored_wording(data)


class ApprovalStepFormatter(LogFormatter):
    """A step of a letter's approval, with the reasons it was held or the approver's comment."""

    def __init__(self, label, template, detail_key):
        self.label = label
        self.template = template
        self.detail_key = detail_key

    def format_message(self, log_entry):
        data = log_entry.data or {}
        detail = data.get(self.detail_key) or ""
        if isinstance(detail, list):
            detail = "; ".join(str(item) for item in detail)
        message = self.template % {"reference": data.get("reference", "?")}
        return (f"{message}: {detail}" if detail else message) + tailored_wording(data)


class PdfDownloadedFormatter(LogFormatter):
    label = _("Download letter PDF")

    def format_message(self, log_entry):
        return _("Downloaded the PDF of %(reference)s") % {"reference": (log_entry.data or {}).get("reference", "?")}


class PdfViewedFormatter(LogFormatter):
    label = _("View letter PDF")

    def format_message(self, log_entry):
        return _("Viewed the PDF of %(reference)s") % {"reference": (log_entry.data or {}).get("reference", "?")}


class DispatchFormatter(LogFormatter):
    def __init__(self, label, template):
        self.label = label
        self.template = template

    def format_message(self, log_entry):
        data = log_entry.data or {}
        return self.template % {"channel": data.get("channel", "?"), "recipient": data.get("recipient", ""),
                                "attempts": data.get("attempts", "?"), "error": data.get("error", "")}


class RekeyFormatter(LogFormatter):
    def __init__(self, label, template):
        self.label = label
        self.template = template

    def format_message(self, log_entry):
        data = log_entry.data or {}
        return self.template % {"key_id": data.get("key_id", "?"), "retired": ", ".join(data.get("retired") or []) or "-",
                                "links": data.get("links", "?"), "reason": data.get("reason", "")}


class BatchRecoveryFormatter(LogFormatter):
    """Resumes of a batch, by hand or by the recovery job, with the reason and the worker."""

    def __init__(self, label, by_hand, automatic):
        self.label = label
        self.by_hand = by_hand
        self.automatic = automatic

    def format_message(self, log_entry):
        data = log_entry.data or {}
        template = self.automatic if data.get("automatic", True) else self.by_hand
        return template % {"reason": data.get("reason", ""), "worker": data.get("worker") or "-"}


class VoidReferencesFormatter(LogFormatter):
    """Reference numbers a batch chunk reserved for rows that failed: each with its row and reason."""

    label = _("Void reference numbers")

    def format_message(self, log_entry):
        items = (log_entry.data or {}).get("references") or []
        listed = "; ".join(f"{item.get('reference')} (row {item.get('row')}: {item.get('reason')})"
                           for item in items[:20])
        more = _(" and %(count)s more") % {"count": len(items) - 20} if len(items) > 20 else ""
        return _("Reference numbers void: %(list)s%(more)s") % {"list": listed, "more": more}


def register(actions):
    register_register_actions(actions)
    register_privacy_actions(actions)
    actions.register_action(AUDIT_REKEYED)(lambda: RekeyFormatter(
        _("Re-seal audit log"), _("Audit log re-sealed under key %(key_id)s (%(links)s links); retired %(retired)s")))
    actions.register_action(AUDIT_REKEY_REFUSED)(lambda: RekeyFormatter(
        _("Re-seal audit log refused"), _("Re-sealing the audit log was refused: %(reason)s")))
    register_read_actions(actions)
    actions.register_action(LETTER_CREATED, _("Start letter"), _("Letter draft started"))
    actions.register_action(LETTER_DRAFT_SAVED, _("Save letter draft"), _("Letter draft saved"))
    actions.register_action(LETTER_DISCARDED, _("Discard letter draft"), _("Letter draft discarded"))
    actions.register_action(LETTER_VIEWED, _("View letter"), _("Letter viewed"))
    actions.register_action(AUDIT_LOG_EXPORTED, _("Export audit log"), _("Audit log exported"))
    actions.register_action(LETTER_GENERATED)(LetterGeneratedFormatter)
    actions.register_action(LETTER_SUBMITTED)(lambda: ApprovalStepFormatter(
        _("Submit letter for approval"), _("Generated %(reference)s and held it for approval"), "reasons"))
    actions.register_action(LETTER_RESUBMITTED)(lambda: ApprovalStepFormatter(
        _("Resubmit letter for approval"), _("Changed %(reference)s and submitted it again"), "reasons"))
    actions.register_action(LETTER_APPROVED)(lambda: ApprovalStepFormatter(
        _("Approve letter"), _("Approved %(reference)s for sending"), "comment"))
    actions.register_action(LETTER_RETURNED)(lambda: ApprovalStepFormatter(
        _("Return letter for changes"), _("Returned %(reference)s to its agent"), "comment"))
    actions.register_action(LETTER_WITHDRAWN)(lambda: ApprovalStepFormatter(
        _("Withdraw letter"), _("Withdrew %(reference)s: it will not be sent"), "reason"))
    actions.register_action(LETTER_PDF_DOWNLOADED)(PdfDownloadedFormatter)
    actions.register_action(LETTER_PDF_VIEWED)(PdfViewedFormatter)
    actions.register_action(LETTER_DISPATCHED)(
        lambda: DispatchFormatter(_("Send letter"), _("Sent by %(channel)s to %(recipient)s (attempt %(attempts)s)")))
    actions.register_action(LETTER_DISPATCH_FAILED)(
        lambda: DispatchFormatter(_("Letter delivery failed"), _("Delivery by %(channel)s failed: %(error)s")))
    actions.register_action(LETTER_DELIVERED)(
        lambda: DispatchFormatter(_("Letter delivered"), _("Delivered by %(channel)s to %(recipient)s")))
    actions.register_action(LETTER_BOUNCED)(
        lambda: DispatchFormatter(_("Letter bounced"), _("Bounced on %(channel)s: %(error)s")))
    actions.register_action(LETTER_COMPLAINT)(
        lambda: DispatchFormatter(_("Complaint about a letter"), _("%(recipient)s marked the email as spam")))
    actions.register_action(LETTER_PORTAL_OPENED, _("Customer opened letter"), _("Opened by the customer in the portal"))
    actions.register_action(LETTER_PORTAL_ACKNOWLEDGED, _("Customer acknowledged letter"),
                            _("Acknowledged by the customer in the portal"))
    actions.register_action(LETTER_PORTAL_REPLIED, _("Customer replied"), _("The customer replied in the portal"))
    actions.register_action(BATCH_CREATED, _("Upload letter batch"), _("Letter batch uploaded"))
    actions.register_action(BATCH_STARTED, _("Start letter batch"), _("Letter batch started"))
    actions.register_action(BATCH_CANCELLED, _("Cancel letter batch"), _("Letter batch cancelled"))
    actions.register_action(BATCH_RESUMED)(lambda: BatchRecoveryFormatter(
        _("Resume letter batch"), _("Letter batch resumed by hand (worker %(worker)s)"),
        _("Letter batch resumed automatically: %(reason)s (worker %(worker)s)")))
    actions.register_action(BATCH_STOPPED)(lambda: BatchRecoveryFormatter(
        _("Stop letter batch"), _("%(reason)s"), _("%(reason)s")))
    actions.register_action(BATCH_REFERENCES_VOIDED)(VoidReferencesFormatter)
    actions.register_action(LETTER_DISPATCH_FALLBACK)(
        lambda: DispatchFormatter(_("Send letter another way"), _("Falling back to %(channel)s")))
    actions.register_action(LETTER_DISPATCH_REQUEUED)(
        lambda: DispatchFormatter(_("Send letter again"), _("Queued again for %(channel)s")))


REGISTER_CREATED = "wagtail_correspondence.register.created"
REGISTER_ROUTED = "wagtail_correspondence.register.routed"
REGISTER_UPDATED = "wagtail_correspondence.register.updated"
REGISTER_TRANSITIONED = "wagtail_correspondence.register.transitioned"
REGISTER_ASSIGNED = "wagtail_correspondence.register.assigned"
REGISTER_NOTE_ADDED = "wagtail_correspondence.register.note_added"
REGISTER_ATTACHMENT_ADDED = "wagtail_correspondence.register.attachment_added"
REGISTER_ATTACHMENT_DOWNLOADED = "wagtail_correspondence.register.attachment_downloaded"
REGISTER_RESTORED = "wagtail_correspondence.register.restored"
REGISTER_SLA_NOTICE = "wagtail_correspondence.register.sla_notice"
REGISTER_EXPORTED = "wagtail_correspondence.register.exported"
REGISTER_EXPORT_DOWNLOADED = "wagtail_correspondence.register.export_downloaded"
REGISTER_VIEWED = "wagtail_correspondence.register.viewed"


class RegisterFormatter(LogFormatter):
    """A message from a template over the entry's data; values the data lacks read as DEFAULTS."""

    DEFAULTS = {"reference": "?", "from": "", "to": "", "reason": "", "assignee": "-", "department": "-",
                "rule": "-", "fields": "", "title": "", "version": "", "kind": "", "level": "", "recipients": "",
                "count": "?"}

    def __init__(self, label, template):
        self.label = label
        self.template = template

    def format_message(self, log_entry):
        data = dict(self.DEFAULTS)
        data.update({key: value for key, value in (log_entry.data or {}).items() if value is not None})
        if isinstance(data.get("fields"), list):
            data["fields"] = ", ".join(data["fields"])
        if isinstance(data.get("recipients"), list):
            data["recipients"] = ", ".join(data["recipients"])
        return self.template % data


def register_register_actions(actions):
    for action, label, template in [
        (REGISTER_CREATED, _("Register entry"), _("Registered %(reference)s")),
        (REGISTER_ROUTED, _("Route entry"), _("Routed to %(department)s / %(assignee)s by rule '%(rule)s'")),
        (REGISTER_UPDATED, _("Edit entry"), _("Changed %(fields)s")),
        (REGISTER_TRANSITIONED, _("Change entry status"), _("Status %(from)s → %(to)s %(reason)s")),
        (REGISTER_ASSIGNED, _("Assign entry"), _("Assigned to %(department)s / %(assignee)s %(reason)s")),
        (REGISTER_NOTE_ADDED, _("Add note"), _("Note added")),
        (REGISTER_ATTACHMENT_ADDED, _("Upload attachment"), _("Uploaded '%(title)s' version %(version)s")),
        (REGISTER_ATTACHMENT_DOWNLOADED, _("Download attachment"), _("Downloaded '%(title)s' version %(version)s")),
        (REGISTER_RESTORED, _("Restore entry values"), _("Restored %(fields)s from version %(version)s")),
        (REGISTER_SLA_NOTICE, _("Deadline notice"), _("%(kind)s %(level)s to %(recipients)s")),
        (REGISTER_EXPORTED, _("Export register"), _("Exported the register")),
        (REGISTER_EXPORT_DOWNLOADED, _("Download register export"),
         _("Downloaded a register export of %(count)s entries")),
        (REGISTER_VIEWED, _("View register entry"), _("Viewed %(reference)s")),
    ]:
        actions.register_action(action)(lambda label=label, template=template: RegisterFormatter(label, template))


# Privacy: legal holds, retention, subject access ----------------------------------------

REGISTER_LEGAL_HOLD_PLACED = "wagtail_correspondence.register.legal_hold_placed"
REGISTER_LEGAL_HOLD_LIFTED = "wagtail_correspondence.register.legal_hold_lifted"
RETENTION_ANONYMISED = "wagtail_correspondence.retention.anonymised"
RETENTION_PURGED = "wagtail_correspondence.retention.purged"
RETENTION_LETTER_ANONYMISED = "wagtail_correspondence.retention.letter_anonymised"
SUBJECT_ACCESS_EXPORTED = "wagtail_correspondence.privacy.subject_access_exported"


class PrivacyFormatter(RegisterFormatter):
    DEFAULTS = {"reference": "?", "reason": "", "policy": "-", "customer_id": "?", "items": "?", "entry": "-"}


def register_privacy_actions(actions):
    for action, label, template in [
        (REGISTER_LEGAL_HOLD_PLACED, _("Place legal hold"), _("Legal hold placed: %(reason)s")),
        (REGISTER_LEGAL_HOLD_LIFTED, _("Lift legal hold"), _("Legal hold lifted: %(reason)s")),
        (RETENTION_ANONYMISED, _("Anonymise entry"),
         _("Anonymised %(reference)s under retention policy '%(policy)s'")),
        (RETENTION_PURGED, _("Purge entry"), _("Purged %(reference)s under retention policy '%(policy)s'")),
        (RETENTION_LETTER_ANONYMISED, _("Anonymise letter"),
         _("Anonymised letter %(reference)s with register entry %(entry)s (policy '%(policy)s')")),
        (SUBJECT_ACCESS_EXPORTED, _("Subject access export"),
         _("Exported everything held about customer %(customer_id)s (%(items)s files)")),
    ]:
        actions.register_action(action)(lambda label=label, template=template: PrivacyFormatter(label, template))


# Reads of personal data that no other entry records ------------------------------------

CUSTOMER_RECORD_VIEWED = "wagtail_correspondence.customer.record_viewed"
REGISTER_HISTORY_VIEWED = "wagtail_correspondence.register.history_viewed"


class ReadFormatter(RegisterFormatter):
    DEFAULTS = {"reference": "?", "customer_id": "?", "via": "?"}


def register_read_actions(actions):
    for action, label, template in [
        # Logged on the user who read the record: customers are not objects of the site.
        (CUSTOMER_RECORD_VIEWED, _("View customer record"), _("Read the record of customer %(customer_id)s (%(via)s)")),
        (REGISTER_HISTORY_VIEWED, _("View entry history"), _("Read the history of %(reference)s (%(via)s)")),
    ]:
        actions.register_action(action)(lambda label=label, template=template: ReadFormatter(label, template))
