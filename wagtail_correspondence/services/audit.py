"""The audit log is append-only and hash-chained.

Every Wagtail log entry (``ModelLogEntry``, ``PageLogEntry``) gets a seal when it is written,
in the same transaction: the SHA-256 of the previous seal's hash and the entry's content.
``verify`` recomputes the chain and names the first entry that was edited or deleted, a seal
that was changed or removed, or an entry that was slipped in without one.
"""

import hashlib
import json

from django.db import IntegrityError, transaction
from django.db.models import Max

from ..models import AuditChainHead, AuditSeal
from ..models.audit import GENESIS_HASH

# What a log entry is: everything Wagtail stores for it.
HASHED_FIELDS = ["action", "label", "data", "timestamp", "uuid", "user_id", "revision_id", "content_type_id",
                 "content_changed", "deleted"]
OBJECT_FIELD = {AuditSeal.MODEL: "object_id", AuditSeal.PAGE: "page_id"}


def log_models(apps=None):
    if apps is None:
        from wagtail.models import ModelLogEntry, PageLogEntry
    else:
        ModelLogEntry, PageLogEntry = apps.get_model("wagtailcore", "ModelLogEntry"), apps.get_model(
            "wagtailcore", "PageLogEntry")
    return {AuditSeal.MODEL: ModelLogEntry, AuditSeal.PAGE: PageLogEntry}


def canonical(kind, entry):
    values = {name: getattr(entry, name) for name in HASHED_FIELDS}
    values.update(kind=kind, id=entry.pk, object=str(getattr(entry, OBJECT_FIELD[kind])))
    values["timestamp"] = values["timestamp"].isoformat()
    values["uuid"] = str(values["uuid"]) if values["uuid"] else None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


def link_hash(previous_hash, kind, entry):
    return hashlib.sha256(previous_hash.encode() + canonical(kind, entry)).hexdigest()


def _head(using, head_model=AuditChainHead):
    heads = head_model.objects.using(using)
    head = heads.select_for_update().filter(pk=1).first()
    if head is None:
        try:
            with transaction.atomic(using=using):  # a concurrent writer may create it first
                heads.create(pk=1)
        except IntegrityError:
            pass
        head = heads.select_for_update().get(pk=1)
    return head


def chain_head():
    """The chain's head row, the object that events about the log as a whole are logged on."""
    return AuditChainHead.objects.get_or_create(pk=1)[0]


def seal(kind, entry, using=None, head_model=AuditChainHead, seal_model=AuditSeal):
    """Add ``entry`` to the chain (inside the transaction that wrote it)."""
    using = using or entry._state.db
    with transaction.atomic(using=using):
        head = _head(using, head_model)
        digest = link_hash(head.last_hash, kind, entry)
        seal_model.objects.using(using).create(sequence=head.sequence + 1, log_model=kind, log_id=entry.pk,
                                               entry_hash=digest, previous_hash=head.last_hash)
        head.sequence += 1
        head.last_hash = digest
        head.save(using=using, update_fields=["sequence", "last_hash"])
    return digest


class AuditChainBroken(Exception):
    pass


def verify(using="default", chunk=2000):
    """The number of entries in an intact chain; AuditChainBroken naming the first break."""
    models = log_models()
    previous, expected = GENESIS_HASH, 1
    seals = AuditSeal.objects.using(using).order_by("sequence")
    sealed = {kind: set() for kind in models}
    last = seals.aggregate(last=Max("sequence"))["last"] or 0
    for start in range(1, last + 1, chunk):
        batch = list(seals.filter(sequence__gte=start, sequence__lt=start + chunk))
        entries = {kind: model.objects.using(using).in_bulk([item.log_id for item in batch if item.log_model == kind])
                   for kind, model in models.items()}
        for item in batch:
            where = f"audit link #{item.sequence} ({item.log_model} log entry {item.log_id})"
            if item.sequence != expected:
                raise AuditChainBroken(f"audit link #{expected} is missing (the next one is #{item.sequence})")
            if item.previous_hash != previous:
                raise AuditChainBroken(f"{where} does not follow link #{expected - 1}: a link was changed")
            entry = entries[item.log_model].get(item.log_id)
            if entry is None:
                raise AuditChainBroken(f"{where}: the log entry was deleted")
            if link_hash(previous, item.log_model, entry) != item.entry_hash:
                raise AuditChainBroken(f"{where}: the log entry was edited (action {entry.action!r}, "
                                       f"{entry.timestamp.isoformat()})")
            sealed[item.log_model].add(item.log_id)
            previous, expected = item.entry_hash, expected + 1
    head = AuditChainHead.objects.using(using).filter(pk=1).first()
    if head is not None and (head.sequence != expected - 1 or head.last_hash != previous):
        raise AuditChainBroken(f"the end of the audit chain was cut: {head.sequence} links were written, "
                               f"{expected - 1} remain")
    for kind, model in models.items():
        for pk in model.objects.using(using).order_by("pk").values_list("pk", flat=True).iterator(chunk_size=chunk):
            if pk not in sealed[kind]:
                raise AuditChainBroken(f"{kind} log entry {pk} is not in the audit chain: it was added without a seal")
    return expected - 1
