"""Retention of the register: legal holds, which closed entries are due under their category's
retention policy, and anonymising or purging them.

What each action touches (docs/privacy.md says the same for readers):

- **anonymise** keeps the entry (reference, direction, kind, channel, dates, status, category,
  department, assignee, tags, SLA figures, routing record) and blanks its personal data:
  sender, recipients, body, resolution, customer and external reference; the subject becomes
  "[anonymised]". Notes keep their author and date, their text becomes "[anonymised]".
  Documents are deleted, rows and files of every version. Its letter is anonymised (below),
  draft letters answering it are deleted, a portal reply it was registered from loses its
  text and file. Every django-reversion version of the entry (they hold the old values) is
  deleted and one new version records the anonymised state.
- **purge** deletes the entry with its notes, documents (files too), versions, tags, deadline
  notices and the portal reply it came from. Its letter is anonymised and kept: a generated
  letter is a record (``Letter.delete()`` refuses it) that dispatches, print runs and batch
  rows point to. An entry that other entries still answer or thread under (and that are not
  purged in the same run) is anonymised instead, so that a conversation never loses its
  first entry under a reply.
- **letters** are anonymised with queryset updates (``Letter.save()`` refuses any change to a
  generated letter): data, slot texts, recipient, every rendered text and the PDF file go;
  reference, template revisions, channels, dates and SHA-256 fingerprints stay. Their
  dispatches lose the recipient address and error text, their portal responses text and
  attachment, their batch row the row's data.

Wagtail log entries are never edited or deleted (the audit log is hash-chained): each
anonymisation and purge writes a log entry of its own. What earlier log entries hold (their
label is "reference · subject" at the time) stays, as the audit trail must.

Files are deleted only once the transaction that removed their rows has committed.
"""

import json
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from reversion.models import Revision, Version
from wagtail.log_actions import log
from wagtail.search import index

from .. import log_actions
from ..models import (
    AttachmentVersion,
    Category,
    Correspondence,
    Letter,
    LetterStatus,
    PortalResponse,
    RetentionAction,
    RetentionPolicy,
    RetentionRecord,
    Status,
    TaggedCorrespondence,
)
from . import register_access as access
from .register import _save_version

SET_LEGAL_HOLD = "wagtail_correspondence.set_legal_hold_correspondence"
ANONYMISED = "[anonymised]"

# Personal fields of an entry and what they become.
ANONYMISED_ENTRY_FIELDS = {
    "subject": ANONYMISED, "body": "", "sender_name": "", "sender_organisation": "", "sender_address": "",
    "sender_email": "", "sender_phone": "", "recipients": [], "customer_id": "", "external_reference": "",
    "resolution": "",
}
ANONYMISED_LETTER_FIELDS = {
    "customer_id": "", "recipient_name": "", "data": {}, "data_overrides": None, "slot_values": {},
    "subject": ANONYMISED, "html": "", "email_subject": ANONYMISED, "email_html": "", "email_text": "",
    "sms_text": "", "pdf": "",
}


# Legal hold -------------------------------------------------------------------------------

def can_set_legal_hold(user, entry):
    return user.is_active and user.has_perm(SET_LEGAL_HOLD) and access.can_view(user, entry)


def thread_root_id(entry):
    return entry.thread_root_id or entry.pk


def thread_holds(entry):
    """The entries of ``entry``'s conversation on legal hold (itself included)."""
    root = thread_root_id(entry)
    return Correspondence.objects.filter(Q(pk=root) | Q(thread_root_id=root), legal_hold=True).order_by("pk")


def is_held(entry):
    return thread_holds(entry).exists()


def held_thread_roots():
    return set(Correspondence.objects.filter(legal_hold=True).annotate(
        root=Coalesce(F("thread_root_id"), F("pk"))).values_list("root", flat=True))


def _reason(reason, message):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("At most 2000 characters.")})
    return reason


def place_legal_hold(entry, user, reason):
    """Hold an entry, and through it its whole conversation and letters, out of retention."""
    access.require(can_set_legal_hold(user, entry), _("You may not place legal holds."))
    reason = _reason(reason, _("Say why the entry is held (the matter, the case number)."))
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().get(pk=entry.pk)
        if entry.legal_hold:
            raise ValidationError({"legal_hold": _("%(reference)s is on legal hold already.") % {
                "reference": entry.reference}})
        entry.legal_hold = True
        entry.legal_hold_reason = reason
        entry.legal_hold_by = user
        entry.legal_hold_at = timezone.now()
        _save_version(entry, user, _("Legal hold placed: %(reason)s") % {"reason": reason})
        log(entry, log_actions.REGISTER_LEGAL_HOLD_PLACED, user=user, data={
            "reference": entry.reference, "reason": reason})
    return entry


def lift_legal_hold(entry, user, reason):
    access.require(can_set_legal_hold(user, entry), _("You may not lift legal holds."))
    reason = _reason(reason, _("Say why the hold is lifted."))
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().get(pk=entry.pk)
        if not entry.legal_hold:
            raise ValidationError({"legal_hold": _("%(reference)s is not on legal hold.") % {
                "reference": entry.reference}})
        placed = {"reason": entry.legal_hold_reason, "at": entry.legal_hold_at.isoformat() if entry.legal_hold_at
                  else None, "by": entry.legal_hold_by.get_username() if entry.legal_hold_by_id else None}
        entry.legal_hold = False
        entry.legal_hold_reason = ""
        entry.legal_hold_by = None
        entry.legal_hold_at = None
        _save_version(entry, user, _("Legal hold lifted: %(reason)s") % {"reason": reason})
        log(entry, log_actions.REGISTER_LEGAL_HOLD_LIFTED, user=user, data={
            "reference": entry.reference, "reason": reason, "placed": placed})
    return entry


# Policies ---------------------------------------------------------------------------------

def policy_table():
    """``{category id: policy}`` for every category, plus ``None`` (entries without a
    category): the active policy of the nearest category up the tree, else the default."""
    own = {policy.category_id: policy for policy in RetentionPolicy.objects.filter(is_active=True)}
    default = own.get(None)
    table, by_path = {None: default}, {}
    for category in Category.objects.order_by("path").only("pk", "path"):  # parents come first
        inherited = by_path.get(category.path[:-Category.steplen], default)
        by_path[category.path] = table[category.pk] = own.get(category.pk, inherited)
    return table


def policy_for(entry):
    if entry.category_id:
        for category in entry.category.lineage():
            policy = RetentionPolicy.objects.filter(is_active=True, category=category).first()
            if policy is not None:
                return policy
    return RetentionPolicy.objects.filter(is_active=True, category__isnull=True).first()


@dataclass
class RetentionItem:
    entry: Correspondence
    policy: RetentionPolicy
    due_at: object
    held: bool = False

    @property
    def action(self):
        return self.policy.action


def retention_plan(now=None):
    """Every closed entry past its policy's period (anonymised entries only when a purge policy
    applies now), marked ``held`` when a legal hold covers its conversation."""
    now = now or timezone.now()
    categories_of = {}
    for category_id, policy in policy_table().items():
        if policy is not None:
            categories_of.setdefault(policy, []).append(category_id)
    held_roots = held_thread_roots()
    items = []
    for policy, category_ids in categories_of.items():
        covered = Q(category_id__in=[pk for pk in category_ids if pk is not None])
        if None in category_ids:
            covered |= Q(category__isnull=True)
        entries = (Correspondence.objects.filter(covered, status=Status.CLOSED)
                   .annotate(counted_from=Coalesce(F("closed_at"), F("registered_at")))
                   .filter(counted_from__lte=policy.cutoff(now)))
        if policy.action == RetentionAction.ANONYMISE:
            entries = entries.filter(retention_record__isnull=True)
        for entry in entries.order_by("pk"):
            items.append(RetentionItem(entry=entry, policy=policy, due_at=policy.expires(entry.counted_from),
                                       held=thread_root_id(entry) in held_roots))
    items.sort(key=lambda item: item.entry.pk)
    return items


def due_for_retention(now=None):
    """Entries to anonymise or purge now: past their period, closed, and no legal hold on them
    or on any entry of their conversation."""
    return [item for item in retention_plan(now) if not item.held]


# Applying ---------------------------------------------------------------------------------

@dataclass
class RetentionResult:
    dry_run: bool
    counts: Counter = field(default_factory=Counter)  # (policy name, action) → entries
    anonymised: list = field(default_factory=list)  # references
    purged: list = field(default_factory=list)
    kept_for_replies: list = field(default_factory=list)  # due for purge, but other entries answer it
    held: list = field(default_factory=list)  # RetentionItems skipped because of a legal hold
    skipped: list = field(default_factory=list)  # changed since planned (reopened, held meanwhile)

    @property
    def total(self):
        return len(self.anonymised) + len(self.purged)


def _referrers(entry_ids):
    """entry id → ids of other entries that answer it or belong to its conversation."""
    found = {pk: set() for pk in entry_ids}
    rows = Correspondence.objects.filter(Q(in_reply_to_id__in=entry_ids) | Q(thread_root_id__in=entry_ids))
    for pk, parent, root in rows.values_list("pk", "in_reply_to_id", "thread_root_id"):
        for target in (parent, root):
            if target in found and target != pk:
                found[target].add(pk)
    return found


def _purge_order(items):
    """Purge items in an order that deletes replies before what they answer; items that
    entries outside the purge still refer to come back as the second list."""
    referrers = _referrers([item.entry.pk for item in items])
    gone, ordered, remaining = set(), [], list(items)
    progress = True
    while remaining and progress:
        progress = False
        for item in list(remaining):
            if referrers[item.entry.pk] <= gone:
                ordered.append(item)
                gone.add(item.entry.pk)
                remaining.remove(item)
                progress = True
    return ordered, remaining


def apply_retention(now=None, dry_run=False, user=None):
    """Anonymise or purge every entry due (``due_for_retention``), each in a transaction of
    its own with its own log entry. ``dry_run`` changes nothing and reports what would be done."""
    now = now or timezone.now()
    result = RetentionResult(dry_run=dry_run)
    plan = retention_plan(now)
    result.held = [item for item in plan if item.held]
    due = [item for item in plan if not item.held]
    to_anonymise = [item for item in due if item.action == RetentionAction.ANONYMISE]
    to_purge, kept = _purge_order([item for item in due if item.action == RetentionAction.PURGE])
    steps = [(item, "anonymise") for item in to_anonymise] + [(item, "purge") for item in to_purge] + [
        (item, "keep") for item in kept]
    for item, step in steps:
        if dry_run:
            done = "unchanged" if step == "keep" and _anonymised_before(item.entry) else step
        else:
            done = _apply(item, step, now, user)
        if done is None:
            result.skipped.append(item)
            continue
        reference = item.entry.reference
        if done in ("keep", "unchanged"):
            result.kept_for_replies.append(reference)
        if done == "purge":
            result.purged.append(reference)
            result.counts[(item.policy.name, RetentionAction.PURGE.value)] += 1
        elif done in ("anonymise", "keep"):
            result.anonymised.append(reference)
            result.counts[(item.policy.name, RetentionAction.ANONYMISE.value)] += 1
    return result


def _anonymised_before(entry):
    return RetentionRecord.objects.filter(correspondence_id=entry.pk).exists()


def _apply(item, step, now, user):
    """One entry, in one transaction; None when it changed since it was planned."""
    files = []
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().filter(pk=item.entry.pk).first()
        if entry is None or entry.status != Status.CLOSED or is_held(entry):
            return None
        if item.policy.expires(entry.closed_at or entry.registered_at) > now:
            return None  # reopened and closed again since the plan
        if step == "purge" and _referrers([entry.pk])[entry.pk]:
            step = "keep"  # a reply arrived since the plan
        if step == "keep" and _anonymised_before(entry):
            return "unchanged"  # anonymised already; purged once its replies are gone
        if step == "purge":
            files = purge_entry(entry, item.policy, user=user)
        else:
            files = anonymise_entry(entry, item.policy, user=user, now=now,
                                    reason="due for purge; anonymised because other entries answer it"
                                    if step == "keep" else "")
        transaction.on_commit(lambda: _delete_files(files))
    return step


def _delete_files(files):
    for storage, name in files:
        if name:
            storage.delete(name)


def _file(field_file):
    return [(field_file.storage, field_file.name)] if field_file and field_file.name else []


# Anonymise and purge ------------------------------------------------------------------

def _remove_versions(entry):
    """Delete every django-reversion version of the entry (and of its tags saved with it);
    revisions left empty go too. Returns how many versions of the entry were deleted."""
    entry_versions = Version.objects.get_for_object(entry)
    revision_ids = set(entry_versions.values_list("revision_id", flat=True))
    count = entry_versions.count()
    tag_type = ContentType.objects.get_for_model(TaggedCorrespondence)
    tag_versions = [version.pk for version in Version.objects.filter(revision_id__in=revision_ids,
                                                                     content_type=tag_type)
                    if _tagged_object(version) == entry.pk]
    entry_versions.delete()
    Version.objects.filter(pk__in=tag_versions).delete()
    Revision.objects.filter(pk__in=revision_ids, version__isnull=True).delete()
    return count


def _tagged_object(version):
    try:
        return json.loads(version.serialized_data)[0]["fields"]["content_object"]
    except (ValueError, LookupError, TypeError):
        return None


def _remove_documents(entry):
    """Delete the entry's documents: rows now, files (returned) after the commit."""
    versions = AttachmentVersion.objects.filter(attachment__correspondence=entry)
    files = [file for version in versions for file in _file(version.file)]
    versions.delete()
    count = entry.attachments.count()
    entry.attachments.all().delete()
    return files, count


def _anonymise_portal_responses(responses):
    files = [file for response in responses for file in _file(response.attachment)]
    responses.update(text="", attachment="", attachment_name="", attachment_type="", attachment_size=None,
                     attachment_sha256="")
    return files


def _delete_reply_drafts(entry):
    # Drafts are work in progress, never sent: nothing to keep of them.
    drafts = Letter.objects.filter(in_reply_to=entry, status=LetterStatus.DRAFT)
    count = drafts.count()
    drafts.delete()
    return count


def anonymise_letter(letter, entry, policy, user=None):
    """Blank the personal data of a letter, its dispatches, portal responses and batch row.
    Returns the files to delete after the commit."""
    if letter.subject == ANONYMISED and not letter.pdf and not letter.customer_id:
        return []  # anonymised before (its entry was, and is now purged)
    files = _file(letter.pdf)
    # Deliberately past Letter.save(), which refuses changes to a generated letter: the record
    # keeps what identifies it (reference, revisions, dates, hashes) and loses the personal data.
    Letter.objects.filter(pk=letter.pk).update(**ANONYMISED_LETTER_FIELDS, updated_at=timezone.now())
    letter.dispatches.update(recipient="", last_error="")
    files += _anonymise_portal_responses(PortalResponse.objects.filter(letter=letter))
    from ..models import BatchRow

    BatchRow.objects.filter(letter=letter).update(customer_id="", data={}, slots={}, errors=[])
    letter_pk = letter.pk
    transaction.on_commit(lambda: _reindex_letter(letter_pk))
    log(Letter.objects.get(pk=letter_pk), log_actions.RETENTION_LETTER_ANONYMISED, user=user, data={
        "reference": letter.reference, "entry": entry.reference, "policy": policy.name, "policy_id": policy.pk})
    return files


def _reindex_letter(pk):
    letter = Letter.objects.filter(pk=pk).first()
    if letter is not None:
        index.insert_or_update_object(letter)


def anonymise_entry(entry, policy, user=None, now=None, reason=""):
    """Anonymise one entry (locked by the caller, inside its transaction). Returns the files to
    delete once the transaction has committed."""
    now = now or timezone.now()
    for name, value in ANONYMISED_ENTRY_FIELDS.items():
        setattr(entry, name, value)
    notes = entry.notes.update(text=ANONYMISED)
    files, documents = _remove_documents(entry)
    if entry.portal_response_id:
        files += _anonymise_portal_responses(PortalResponse.objects.filter(pk=entry.portal_response_id))
    if entry.letter_id:
        files += anonymise_letter(entry.letter, entry, policy, user=user)
    drafts = _delete_reply_drafts(entry)
    versions = _remove_versions(entry)
    _save_version(entry, user, _("Anonymised under retention policy “%(policy)s”") % {"policy": policy.name})
    RetentionRecord.objects.update_or_create(correspondence=entry, defaults={
        "policy": policy, "action": RetentionAction.ANONYMISE, "applied_at": now})
    log(entry, log_actions.RETENTION_ANONYMISED, user=user, data={
        "reference": entry.reference, "policy": policy.name, "policy_id": policy.pk,
        "policy_action": policy.action, "reason": reason, "notes": notes, "documents": documents,
        "versions_removed": versions, "letter": entry.letter.reference if entry.letter_id else None,
        "drafts_deleted": drafts})
    return files


def purge_entry(entry, policy, user=None):
    """Delete one entry (locked by the caller, inside its transaction) that nothing refers to.
    Returns the files to delete once the transaction has committed."""
    files, documents = _remove_documents(entry)
    letter = entry.letter if entry.letter_id else None
    if letter is not None:
        files += anonymise_letter(letter, entry, policy, user=user)
    # Anonymised letters whose own entries are gone may still name this one as what they
    # answered; the link would keep it forever.
    Letter.objects.filter(in_reply_to=entry, status=LetterStatus.GENERATED,
                          register_entry__isnull=True).update(in_reply_to=None)
    drafts = _delete_reply_drafts(entry)
    versions = _remove_versions(entry)
    portal_response_id = entry.portal_response_id
    # The log entry's label is the entry's name: it must not carry the subject.
    entry.subject = ANONYMISED
    log(entry, log_actions.RETENTION_PURGED, user=user, deleted=True, data={
        "reference": entry.reference, "policy": policy.name, "policy_id": policy.pk, "documents": documents,
        "versions_removed": versions, "letter": letter.reference if letter else None, "drafts_deleted": drafts})
    entry.delete()
    if portal_response_id:
        responses = PortalResponse.objects.filter(pk=portal_response_id)
        files += [file for response in responses for file in _file(response.attachment)]
        responses.delete()
    return files
