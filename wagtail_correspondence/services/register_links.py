"""The register and the letters: every generated letter has its outbound entry (same
reference number), delivery status flows back onto it, a letter written in reply answers the
entry it replies to, and portal replies come in as inbound entries in the letter's thread."""

import reversion
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import log_actions
from ..models import Confidentiality, Correspondence, Direction, Kind, RegisterChannel, Source, Status
from . import audit
from . import register_access as access
from .register import NewAttachment, _save_version, _transition, check_assignee, register_entry, validate_entry
from .indexing import index_in_bulk

LETTER_CHANNELS = {"print": RegisterChannel.POST, "email": RegisterChannel.EMAIL, "sms": RegisterChannel.SMS,
                   "portal": RegisterChannel.PORTAL, "fax": RegisterChannel.FAX}
NEEDS_ATTENTION = ("failed", "bounced")
LETTER_ENTRY_KNOWN_RELATIONS = ("letter", "department", "assignee", "created_by")


def reply_target(user, reference):
    """The entry a letter answers, checked against what ``user`` may see."""
    if not reference:
        return None
    entry = access.visible_entries(user).filter(reference=reference).first()
    if entry is None:
        raise ValidationError({"in_reply_to": _("No register entry %(reference)s that you may see.") % {
            "reference": reference}})
    return entry


REPLY_KEY = "in_reply_to"


def reply_facts(entry):
    """What a letter answering ``entry`` may quote, under ``in_reply_to`` in the letter's
    data: the entry's reference, the date it was received (registered, if it has no date of
    receipt), its subject and the sender's own reference. Templates reach them as
    ``in_reply_to.reference`` ... once the data dictionary declares them."""
    if entry is None:
        return {}
    received = entry.received_at or entry.registered_at
    return {REPLY_KEY: {"reference": entry.reference, "date": timezone.localdate(received).isoformat(),
                        "subject": entry.subject, "their_reference": entry.external_reference}}


def _email_or_blank(value):
    """Customer records are not ours to validate; an unusable address is simply left out."""
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


def _recipient(letter):
    customer = (letter.data or {}).get("customer") or {}
    address = customer.get("address")
    if isinstance(address, dict):
        address = "\n".join(str(value) for value in address.values() if value)
    return {"name": letter.recipient_name, "email": customer.get("email", ""), "phone": customer.get("phone", ""),
            "address": address or "", "organisation": ""}


def _letter_entry_fields(letter, user):
    """What a letter's outbound entry holds: closed from the start, since nothing is left to
    do, unless delivery fails."""
    parent = letter.in_reply_to
    # A reply holds what the entry it answers holds: it is as confidential.
    confidentiality = parent.confidentiality if parent is not None else Confidentiality.INTERNAL
    return dict(
        kind=Kind.LETTER, channel=LETTER_CHANNELS.get(letter.channel, RegisterChannel.POST),
        subject=letter.subject or letter.email_subject or letter.template.title, body=letter.email_text[:20000],
        recipients=[_recipient(letter)], customer_id=letter.customer_id, letter=letter, department=letter.department,
        confidentiality=confidentiality, assignee=user, status=Status.CLOSED, closed_at=letter.generated_at)


def _generated_comment(letter):
    return _("Letter %(reference)s generated") % {"reference": letter.reference}


def register_letter(letter, user):
    """The outbound entry of a just-generated letter (inside the generating transaction)."""
    parent = letter.in_reply_to
    entry = register_entry(
        user, direction=Direction.OUTBOUND, source=Source.LETTER, check_permission=False, in_reply_to=parent,
        reference_override=letter.reference, comment=_generated_comment(letter), **_letter_entry_fields(letter, user))
    if parent is not None:
        answer(parent, user, entry)
    return entry


def register_letters(letters, user):
    """The outbound entries of many just-generated letters (a batch's chunk), inside the
    generating transaction: the entries ``register_letter`` makes one by one, checked the same
    way, written together — one insert, one django-reversion revision holding a version of each
    (its comment names the batch's letters), one insert of log entries, sealed with the chunk's
    others, and one update of the search index after the commit. A reply (which also moves the
    entry it answers on) is registered on its own."""
    entries = []
    now = timezone.now()
    for letter in letters:
        if letter.in_reply_to_id:
            register_letter(letter, user)
            continue
        entry = Correspondence(direction=Direction.OUTBOUND, source=Source.LETTER, registered_at=now,
                               created_by=user if user and user.pk else None, reference=letter.reference,
                               **_letter_entry_fields(letter, user))
        # The letter, its department and the user were just written or read: checking that
        # they exist would cost a query each per entry.
        validate_entry(entry, exclude=LETTER_ENTRY_KNOWN_RELATIONS)
        entries.append(entry)
    if not entries:
        return []
    check_assignee(user)
    with reversion.create_revision():
        Correspondence.objects.bulk_create(entries, batch_size=200)
        for entry in entries:
            reversion.add_to_revision(entry)
        if user is not None and user.is_authenticated:
            reversion.set_user(user)
        reversion.set_comment(_("Letters %(first)s to %(last)s generated") % {
            "first": entries[0].reference, "last": entries[-1].reference} if len(entries) > 1
            else _generated_comment(entries[0].letter))
    audit.bulk_log(entries, log_actions.REGISTER_CREATED, user=user, data=lambda entry: {
        "reference": entry.reference, "direction": Direction.OUTBOUND, "source": Source.LETTER})
    transaction.on_commit(lambda: index_in_bulk(Correspondence, entries))
    return entries


def answer(entry, user, reply):
    """A reply went out: the entry it answers is responded (through the status machine)."""
    entry = Correspondence.objects.select_for_update().get(pk=entry.pk)
    if entry.status in (Status.RESPONDED, Status.CLOSED):
        return entry
    reason = _("Answered by %(reference)s") % {"reference": reply.reference}
    if entry.status == Status.REGISTERED:
        entry.assignee = entry.assignee or user
        _transition(entry, user, Status.ASSIGNED, reason)
    if entry.status == Status.ASSIGNED:
        _transition(entry, user, Status.IN_PROGRESS, reason)
    _transition(entry, user, Status.RESPONDED, reason)
    return entry


def delivery_status(letter):
    """The letter's delivery as the customer sees it: a failed dispatch that a fallback
    replaced counts as its fallback."""
    return dispatches_status(letter.dispatches.all())


def dispatches_status(dispatches):
    """``delivery_status`` of a letter with these dispatches."""
    dispatches = [dispatch for dispatch in dispatches if dispatch.channel != "archive"]
    replaced = {dispatch.fallback_of_id for dispatch in dispatches if dispatch.fallback_of_id}
    current = [dispatch.status for dispatch in dispatches if dispatch.pk not in replaced]
    if not current:
        return ""
    for status in ("failed", "bounced", "sending", "queued"):
        if status in current:
            return status
    return "delivered" if all(status == "delivered" for status in current) else "sent"


def sync_delivery(letter):
    """Copy the delivery status to the letter's entry; a letter that could not be delivered
    reopens its entry so that someone acts on it."""
    with transaction.atomic():
        entry = Correspondence.objects.select_for_update().filter(letter=letter).first()
        if entry is None:
            return None
        status = delivery_status(letter)
        sent = [dispatch.sent_at for dispatch in letter.dispatches.all()
                if dispatch.sent_at and dispatch.channel != "archive"]
        changed = status != entry.delivery_status or (sent and entry.sent_at is None)
        if not changed:
            return entry
        entry.delivery_status = status
        if sent and entry.sent_at is None:
            entry.sent_at = min(sent)
        if status in NEEDS_ATTENTION and entry.status == Status.CLOSED:
            _transition(entry, None, Status.ASSIGNED if entry.assignee_id else Status.REGISTERED,
                        _("Delivery %(status)s: the letter did not reach the customer") % {"status": status})
        else:
            _save_version(entry, None, _("Delivery status: %(status)s") % {"status": status or "-"})
    return entry


def sync_delivery_many(letter_ids):
    """``sync_delivery`` for many letters, inside the caller's transaction, reading only their
    dispatches' states: the entries whose delivery status simply moves on (sent, delivered)
    are updated with one statement per new state and versioned together in one reversion
    revision; an entry a failure reopens goes through ``sync_delivery`` and the status
    machine. The search index is left alone: the delivery status is not searched."""
    import reversion

    from ..models import Dispatch, Letter

    letter_ids = list(letter_ids)
    if not letter_ids:
        return
    entries = {entry.letter_id: entry for entry in
               Correspondence.objects.select_for_update(of=("self",)).filter(letter__in=letter_ids).order_by("pk")}
    dispatches = {}
    for dispatch in Dispatch.objects.filter(letter__in=list(entries)).only(
            "pk", "letter_id", "channel", "status", "fallback_of_id", "sent_at"):
        dispatches.setdefault(dispatch.letter_id, []).append(dispatch)
    changed, reopen = {}, []
    now = timezone.now()
    for letter_id, entry in entries.items():
        status = dispatches_status(dispatches.get(letter_id, []))
        sent = [dispatch.sent_at for dispatch in dispatches.get(letter_id, [])
                if dispatch.sent_at and dispatch.channel != "archive"]
        if status == entry.delivery_status and not (sent and entry.sent_at is None):
            continue
        if status in NEEDS_ATTENTION and entry.status == Status.CLOSED:
            reopen.append(letter_id)
            continue
        entry.delivery_status = status
        if sent and entry.sent_at is None:
            entry.sent_at = min(sent)
        entry.updated_at = now
        changed.setdefault((entry.delivery_status, entry.sent_at), []).append(entry)
    if changed:
        with reversion.create_revision():
            for (status, sent_at), group in changed.items():
                Correspondence.objects.filter(pk__in=[entry.pk for entry in group]).update(
                    delivery_status=status, sent_at=sent_at, updated_at=now)
                for entry in group:
                    reversion.add_to_revision(entry)
            reversion.set_comment(_("Delivery status: %(status)s") % {
                "status": ", ".join(sorted({status or "-" for status, _sent_at in changed}))})
    for letter in Letter.objects.filter(pk__in=reopen).order_by("pk"):
        sync_delivery(letter)


def register_portal_reply(response):
    """A customer's reply in the portal, as an inbound entry in the letter's thread."""
    letter = response.letter
    parent = Correspondence.objects.filter(letter=letter).first()
    customer = (letter.data or {}).get("customer") or {}
    attachments = []
    if response.attachment:
        with response.attachment.open("rb") as handle:
            attachments.append(NewAttachment(content=handle.read(), filename=response.attachment_name or "reply",
                                             title=response.attachment_name or _("Attachment")))
    return register_entry(
        None, direction=Direction.INBOUND, source=Source.PORTAL, check_permission=False, in_reply_to=parent,
        kind=Kind.INQUIRY, channel=RegisterChannel.PORTAL,
        subject=(_("Re: %(subject)s") % {"subject": letter.subject or letter.reference})[:500],
        body=response.text, sender_name=letter.recipient_name[:255],
        sender_email=_email_or_blank(str(customer.get("email") or "")),
        customer_id=letter.customer_id, portal_response=response, received_at=response.created_at,
        attachments=attachments, comment=_("Customer replied in the portal to %(reference)s") % {
            "reference": letter.reference})
