"""The audit log is append-only, hash-chained and sealed with a key the database does not hold.

Every Wagtail log entry (``ModelLogEntry``, ``PageLogEntry``) gets a link when it is written,
in the same transaction:

- the chain hash, ``entry_hash``: SHA-256 of the previous link's hash and the entry's content.
  It depends on the entries alone, never on a key, so that checkpoints of it stay comparable
  whatever happens to the keys;
- the seal, ``mac``: HMAC-SHA256 of the link's number and chain hash under the first audit key
  (``audit_keys.py``; ``key_id`` names the key). Without the key nobody can make a seal, so an
  entry edited in the database and the chain recomputed after it no longer match their seals.

The chain's head row carries an HMAC of its length, so that cutting links off the end shows.
Checkpoints (``audit_checkpoints.py``) copy the head to write-once storage: someone who holds
the key and recomputes every seal still disagrees with the checkpoints written before.

``verify`` walks the chain in chunks, checks every link, the head and every checkpoint, and
names the first break.
"""

import hashlib
import hmac
import json
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Max

from ..audit_keys import keyring
from ..checkpoint_stores import CheckpointStoreError, checkpoint_store
from ..models import AuditChainHead, AuditSeal
from ..models.audit import GENESIS_HASH
from . import audit_checkpoints

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
    """The chain hash of a link (unkeyed; the seal is the HMAC over it)."""
    return hashlib.sha256(previous_hash.encode() + canonical(kind, entry)).hexdigest()


def _head(using):
    heads = AuditChainHead.objects.using(using)
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


def seal(kind, entry, using=None):
    """Add ``entry`` to the chain (inside the transaction that wrote it), sealed with the first key."""
    using = using or entry._state.db
    key = keyring().first
    with transaction.atomic(using=using):
        head = _head(using)
        sequence = head.sequence + 1
        digest = link_hash(head.last_hash, kind, entry)
        AuditSeal.objects.using(using).create(
            sequence=sequence, log_model=kind, log_id=entry.pk, entry_hash=digest, previous_hash=head.last_hash,
            key_id=key.id, mac=key.seal_mac(sequence, digest))
        head.sequence, head.last_hash = sequence, digest
        head.key_id, head.mac = key.id, key.head_mac(sequence, digest)
        head.save(using=using, update_fields=["sequence", "last_hash", "key_id", "mac"])
    return digest


def seal_many(items, using=None):
    """Add many entries to the chain at once, in order: ``items`` is a list of (kind, entry).
    The head is locked once and updated once, the links are inserted in one statement: a
    batch chunk's log entries cost one head-lock acquisition instead of one per entry. The
    links are exactly those ``seal`` would have made one by one."""
    if not items:
        return None
    using = using or items[0][1]._state.db
    key = keyring().first
    # Inside a transaction already (a registration), a savepoint would only cost two round
    # trips: if sealing fails, the log entries it seals must roll back with it anyway.
    in_transaction = transaction.get_connection(using).in_atomic_block
    with transaction.atomic(using=using, savepoint=not in_transaction):
        head = _head(using)
        sequence, previous = head.sequence, head.last_hash
        links = []
        for kind, entry in items:
            sequence += 1
            digest = link_hash(previous, kind, entry)
            links.append(AuditSeal(sequence=sequence, log_model=kind, log_id=entry.pk, entry_hash=digest,
                                   previous_hash=previous, key_id=key.id, mac=key.seal_mac(sequence, digest)))
            previous = digest
        AuditSeal.objects.using(using).bulk_create(links, batch_size=500)
        head.sequence, head.last_hash = sequence, previous
        head.key_id, head.mac = key.id, key.head_mac(sequence, previous)
        head.save(using=using, update_fields=["sequence", "last_hash", "key_id", "mac"])
    return previous


_deferred = threading.local()


def sealing_deferred():
    """The entries waiting for ``sealed_in_bulk`` to seal them, or None outside it."""
    return getattr(_deferred, "pending", None)


@contextmanager
def sealed_in_bulk(using="default"):
    """Inside the block, log entries written by this thread are collected instead of sealed one
    by one; they are sealed together (``seal_many``) when the block ends, which must be inside
    the transaction that wrote them, so entry and seal still commit together. The head is then
    locked only at the end of the transaction, for one statement, instead of from the first
    log entry on. Nested blocks seal with the outermost one."""
    if sealing_deferred() is not None:
        yield
        return
    _deferred.pending = []
    try:
        yield
        pending = _deferred.pending
    finally:
        _deferred.pending = None
    seal_many(pending, using=using)


def bulk_log(instances, action, *, user=None, data=None, using="default"):
    """Wagtail model log entries for many objects in one insert, sealed in bulk: what
    ``wagtail.log_actions.log`` writes for each, with ``data`` the same for all, a callable of
    the instance, or a list of one per instance (an object logged more than once).
    Only for plain models (ModelLogEntry); the entries are sealed by the enclosing
    ``sealed_in_bulk`` block, or here."""
    each = data if isinstance(data, list) else [data(instance) if callable(data) else data for instance in instances]
    return bulk_log_actions([(instance, action, values) for instance, values in zip(instances, each)],
                            user=user, using=using)


def bulk_log_actions(records, *, user=None, using="default"):
    """``bulk_log`` for records of different actions: ``records`` is a list of (instance,
    action, data), written in that order by one insert (a registration logs "registered" and
    "routed" together)."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from wagtail.log_actions import get_active_log_context
    from wagtail.models import ModelLogEntry

    if not records:
        return []
    context = get_active_log_context()
    user = user or context.user
    now = timezone.now()
    entries = [ModelLogEntry(
        content_type=ContentType.objects.db_manager(using).get_for_model(instance, for_concrete_model=False),
        label=ModelLogEntry.objects.get_instance_title(instance), action=action, timestamp=now,
        data=values or {}, user=user, uuid=context.uuid,
        object_id=str(instance.pk)) for instance, action, values in records]
    ModelLogEntry.objects.using(using).bulk_create(entries, batch_size=500)
    pending = sealing_deferred()
    items = [(AuditSeal.MODEL, entry) for entry in entries]
    if pending is not None:
        pending.extend(items)
    else:
        seal_many(items, using=using)
    return entries


class AuditChainBroken(Exception):
    """The log is not intact; the message names the first break."""


class AuditUnverifiable(Exception):
    """The log could not be checked: the checkpoints could not be read, or the settings are wrong."""


@dataclass
class Verification:
    entries: int
    checkpoints: int = 0
    retired: int = 0  # of which signed by retired keys: compared with the chain, signature not checkable
    latest: object = None  # the newest checkpoint
    signers: frozenset = frozenset()  # key ids that signed checkpoints, or that re-keys retired

    def checkpoint_summary(self):
        if not self.checkpoints:
            return "no checkpoint written yet (correspondence_audit_checkpoint writes one)"
        summary = f"{self.checkpoints} checkpoint{'s' if self.checkpoints != 1 else ''} checked"
        if self.retired:
            summary += f" ({self.retired} signed by retired keys, compared with the chain)"
        return f"{summary}; the latest of {self.latest.when} at link #{self.latest.sequence}"

    def __str__(self):
        return (f"The audit log is intact: {self.entries} entries, each sealed and chained; "
                f"{self.checkpoint_summary()}.")


def check_seal(link, keys, where):
    """AuditChainBroken unless ``link``'s seal is the HMAC of its hash under a configured key."""
    if not link.key_id or not link.mac:
        raise AuditChainBroken(f"{where} has no keyed seal (migration 0019 keys the old chain only up to "
                               f"its first break)")
    key = keys.get(link.key_id)
    if key is None:
        raise AuditChainBroken(f"{where} is sealed by key {link.key_id}, which is not in AUDIT_KEYS{_key_hint(link)}")
    if not hmac.compare_digest(key.seal_mac(link.sequence, link.entry_hash), link.mac):
        raise AuditChainBroken(f"{where}: its seal does not match (key {link.key_id}): the entry was edited and the "
                               f"chain recomputed without the key, or the seal was changed")


def _key_hint(link):
    from django.conf import settings

    from ..audit_keys import development_key

    if link.key_id == development_key(settings.SECRET_KEY).id:
        return (" (it is the development key derived from SECRET_KEY: move the seals to your key with "
                "correspondence_audit_rekey --from-development-key)")
    return ": put it back after the first key, or retire it with correspondence_audit_rekey while it is listed"


def read_checkpoints(keys, store=None):
    """Every checkpoint, authenticated; AuditChainBroken for a forged or foreign one."""
    try:
        store = store or checkpoint_store()
        checkpoints = audit_checkpoints.read_all(store, keys)
    except audit_checkpoints.CheckpointInvalid as exc:
        raise AuditChainBroken(f"a checkpoint was forged: {exc}") from exc
    except (CheckpointStoreError, ImproperlyConfigured) as exc:
        raise AuditUnverifiable(f"the checkpoints could not be read: {exc}") from exc
    retired = audit_checkpoints.retirements(checkpoints)
    for checkpoint in checkpoints:
        if checkpoint.authentic is False:
            raise AuditChainBroken(f"{checkpoint} was forged: its HMAC does not match key {checkpoint.key_id}")
        if checkpoint.authentic is None and not (checkpoint.key_id in retired
                                                 and checkpoint.time <= retired[checkpoint.key_id]):
            raise AuditChainBroken(f"{checkpoint} is signed by key {checkpoint.key_id}, which is not in AUDIT_KEYS "
                                   f"and was retired by no re-key before it: forged, or a key is missing")
    return checkpoints


def _differs(where, checkpoint, agreeing):
    since = f"; {agreeing} still agrees, so the change lies after link #{agreeing.sequence}" if agreeing else ""
    return (f"{where} differs from {checkpoint}: the chain was recomputed after that checkpoint was written, "
            f"by someone holding an audit key; an entry at or before link #{checkpoint.sequence} was edited, "
            f"added or removed{since}")


class _Walk:
    """The chain walked link by link, in chunks: each link's order, chaining, entry, hash, seal
    and the checkpoints recorded at its number."""

    def __init__(self, using, keys, checkpoints, chunk):
        self.using, self.keys, self.chunk = using, keys, chunk
        self.models = log_models()
        self.previous, self.length = GENESIS_HASH, 0
        self.sealed = {kind: set() for kind in self.models}
        self.due = defaultdict(list)
        for checkpoint in checkpoints:
            self.due[checkpoint.sequence].append(checkpoint)
        self.agreeing = None  # the latest checkpoint found to agree, to say where a change lies
        for checkpoint in self.due.pop(0, []):
            if checkpoint.hash != GENESIS_HASH:
                raise AuditChainBroken(f"{checkpoint} records an empty chain with another hash: forged")

    def seals(self):
        return AuditSeal.objects.using(self.using).order_by("sequence")

    def last_sequence(self):
        return self.seals().aggregate(last=Max("sequence"))["last"] or 0

    def to(self, last):
        for start in range(self.length + 1, last + 1, self.chunk):
            batch = list(self.seals().filter(sequence__gte=start, sequence__lt=min(start + self.chunk, last + 1)))
            entries = {kind: model.objects.using(self.using).in_bulk(
                [item.log_id for item in batch if item.log_model == kind]) for kind, model in self.models.items()}
            for item in batch:
                self.link(item, entries[item.log_model].get(item.log_id))

    def link(self, item, entry):
        expected = self.length + 1
        where = f"audit link #{item.sequence} ({item.log_model} log entry {item.log_id})"
        if item.sequence != expected:
            raise AuditChainBroken(f"audit link #{expected} is missing (the next one is #{item.sequence})")
        if item.previous_hash != self.previous:
            raise AuditChainBroken(f"{where} does not follow link #{expected - 1}: a link was changed")
        if entry is None:
            raise AuditChainBroken(f"{where}: the log entry was deleted")
        if link_hash(self.previous, item.log_model, entry) != item.entry_hash:
            raise AuditChainBroken(f"{where}: the log entry was edited (action {entry.action!r}, "
                                   f"{entry.timestamp.isoformat()})")
        check_seal(item, self.keys, where)
        for checkpoint in self.due.pop(item.sequence, []):
            if checkpoint.hash != item.entry_hash:
                raise AuditChainBroken(_differs(where, checkpoint, self.agreeing))
            self.agreeing = checkpoint
        self.sealed[item.log_model].add(item.log_id)
        self.previous, self.length = item.entry_hash, expected

    def unsealed_entries(self):
        for kind, model in self.models.items():
            pks = model.objects.using(self.using).order_by("pk").values_list("pk", flat=True)
            for pk in pks.iterator(chunk_size=self.chunk):
                # An entry written while the chain was walked has its seal, committed with it,
                # beyond the links walked: look for it before calling the entry unsealed.
                if pk not in self.sealed[kind] and not AuditSeal.objects.using(self.using).filter(
                        log_model=kind, log_id=pk).exists():
                    yield kind, pk


def verify(using="default", chunk=2000, keys=None, store=None):
    """A Verification of an intact log; AuditChainBroken naming the first break; AuditUnverifiable
    when the checkpoints cannot be read or the keys are malformed."""
    try:
        keys = keys or keyring()
    except ImproperlyConfigured as exc:
        raise AuditUnverifiable(str(exc)) from exc
    checkpoints = read_checkpoints(keys, store)
    walk = _Walk(using, keys, checkpoints, chunk)
    heads = AuditChainHead.objects.using(using)
    while True:
        walk.to(walk.last_sequence())
        head = heads.filter(pk=1).first()
        # Links written while the chain was walked: walk on to the head as it is now.
        if head is None or head.sequence <= walk.length or walk.last_sequence() <= walk.length:
            break
    if walk.due:
        checkpoint = walk.due[min(walk.due)][0]
        raise AuditChainBroken(f"audit link #{walk.length + 1} is missing: the chain ends at link #{walk.length}, but "
                               f"{checkpoint} records link #{checkpoint.sequence}: links were deleted from the end "
                               f"(or the whole log, with its seals and head)")
    _check_head(head, keys, walk.length, walk.previous)
    for kind, pk in walk.unsealed_entries():
        raise AuditChainBroken(f"{kind} log entry {pk} is not in the audit chain: it was added without a seal")
    return Verification(entries=walk.length, checkpoints=len(checkpoints),
                        retired=sum(1 for checkpoint in checkpoints if checkpoint.authentic is None),
                        latest=max(checkpoints, key=lambda checkpoint: checkpoint.time, default=None),
                        signers=frozenset({checkpoint.key_id for checkpoint in checkpoints}
                                          | set(audit_checkpoints.retirements(checkpoints))))


def _check_head(head, keys, length, last_hash):
    if head is None:
        if length:
            raise AuditChainBroken(f"the head of the audit chain is missing ({length} links remain)")
        return
    if head.sequence != length or head.last_hash != last_hash:
        raise AuditChainBroken(f"the end of the audit chain was cut: {head.sequence} links were written, "
                               f"{length} remain")
    if length:
        key = keys.get(head.key_id)
        if key is None or not hmac.compare_digest(key.head_mac(head.sequence, head.last_hash), head.mac):
            raise AuditChainBroken(f"the head of the audit chain (link #{length}) does not match its seal: the end "
                                   f"of the chain was cut and the head rewritten")


def write_checkpoint(using="default", kind=audit_checkpoints.CHECKPOINT, retired_key_ids=(), store=None):
    """Write the chain's head (link number, chain hash), signed with the first audit key, as a new
    object in the checkpoint store (``AUDIT_CHECKPOINTS``). Returns the Checkpoint; ``str()`` of
    it says which link, when and where. Refuses (AuditChainBroken) a head that does not match
    its last link or its seal, rather than vouch for a cut chain."""
    keys = keyring()
    head = AuditChainHead.objects.using(using).filter(pk=1).first()
    sequence, last_hash = (head.sequence, head.last_hash) if head is not None else (0, GENESIS_HASH)
    if sequence:
        link = AuditSeal.objects.using(using).filter(sequence=sequence).first()
        if link is None or link.entry_hash != last_hash:
            raise AuditChainBroken(f"the head of the audit chain does not match link #{sequence}: not checkpointed")
        check_seal(link, keys, f"audit link #{sequence}")
        _check_head(head, keys, sequence, last_hash)
    checkpoint = audit_checkpoints.make(sequence, last_hash, keys.first, kind, retired_key_ids)
    store = store or checkpoint_store()
    checkpoint.location = store.write(checkpoint.name(), checkpoint.to_bytes())
    return checkpoint
