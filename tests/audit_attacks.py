"""What an insider with write access to the database does to the audit log, step by step, with
the project's own code: edit an entry, then recompute every link after it (and the head) so that
the chain reads as unbroken. Without a key only the SHA-256 chain can be recomputed; with the key
the seals too."""

from wagtail.models import ModelLogEntry, PageLogEntry

from wagtail_correspondence.models import AuditChainHead, AuditSeal
from wagtail_correspondence.models.audit import GENESIS_HASH
from wagtail_correspondence.services import audit

LOG_MODELS = {AuditSeal.MODEL: ModelLogEntry, AuditSeal.PAGE: PageLogEntry}


def rechain(from_sequence=1, key=None):
    """Recompute links from ``from_sequence`` on and the head, as ``link_hash`` does; with
    ``key`` (an audit_keys.AuditKey) the seals too."""
    previous = GENESIS_HASH
    if from_sequence > 1:
        previous = AuditSeal.objects.get(sequence=from_sequence - 1).entry_hash
    last = None
    for link in AuditSeal.objects.filter(sequence__gte=from_sequence).order_by("sequence"):
        entry = LOG_MODELS[link.log_model].objects.get(pk=link.log_id)
        link.previous_hash, link.entry_hash = previous, audit.link_hash(previous, link.log_model, entry)
        fields = {"previous_hash": link.previous_hash, "entry_hash": link.entry_hash}
        if key is not None:
            fields.update(key_id=key.id, mac=key.seal_mac(link.sequence, link.entry_hash))
        AuditSeal.objects.filter(pk=link.pk).update(**fields)
        previous, last = link.entry_hash, link.sequence
    head = {"last_hash": previous}
    if last is not None:
        head["sequence"] = last
    if key is not None and last is not None:
        head.update(key_id=key.id, mac=key.head_mac(last, previous))
    AuditChainHead.objects.filter(pk=1).update(**head)


def edit_and_rechain(entry, key=None, **changes):
    """Change a model log entry's fields (user, data, ...) and re-chain from its link on."""
    ModelLogEntry.objects.filter(pk=entry.pk).update(**changes)
    link = AuditSeal.objects.get(log_model=AuditSeal.MODEL, log_id=entry.pk)
    rechain(link.sequence, key=key)
    return link.sequence


def cut_tail(count, key=None):
    """Delete the last ``count`` entries with their links and set the head back."""
    links = list(AuditSeal.objects.order_by("-sequence")[:count])
    for link in links:
        LOG_MODELS[link.log_model].objects.filter(pk=link.log_id).delete()
        link.delete()
    remaining = AuditSeal.objects.order_by("sequence").last()
    head = {"sequence": remaining.sequence, "last_hash": remaining.entry_hash}
    if key is not None:
        head.update(key_id=key.id, mac=key.head_mac(remaining.sequence, remaining.entry_hash))
    AuditChainHead.objects.filter(pk=1).update(**head)


def delete_everything():
    """The whole log, its links and its head."""
    ModelLogEntry.objects.all().delete()
    PageLogEntry.objects.all().delete()
    AuditSeal.objects.all().delete()
    AuditChainHead.objects.all().delete()
