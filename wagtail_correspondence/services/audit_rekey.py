"""Retiring an audit key: re-seal every link with the first key, for a log that verifies only.

Rotation: put a new key first in ``AUDIT_KEYS`` (new entries are sealed with it; links and
checkpoints made with the old key still verify while it is listed), then run ``rekey``:

1. the whole chain and every checkpoint are verified with the configured keys; anything wrong
   and nothing is re-sealed (the refusal is logged, naming the break);
2. each link is checked again as it is re-sealed, chunk by chunk under a row lock, and the head
   last, under its lock;
3. the re-key is logged (an entry in the chain, sealed with the new key), and a re-key
   checkpoint is written that lists the retired key ids.

Then the old key can leave ``AUDIT_KEYS``. Re-sealing changes the seals only, never the chain
hashes, so every checkpoint written before still checks the chain: someone holding the new
key and re-sealing a tampered log (with this or with code of their own) still disagrees with
them. Checkpoints signed by a retired key are compared with the chain all the same; only their
signature can no longer be checked.
"""

import getpass
import socket
from dataclasses import dataclass

from django.db import transaction
from wagtail.log_actions import log

from .. import log_actions
from ..audit_keys import keyring, keyring_with_development_key
from ..checkpoint_stores import checkpoint_store
from ..models import AuditSeal
from . import audit_checkpoints
from .audit import AuditChainBroken, _check_head, _head, _Walk, chain_head, verify, write_checkpoint


@dataclass
class Rekey:
    key_id: str
    links: int
    resealed: int
    retired: list
    checkpoint: object

    def __str__(self):
        retired = ", ".join(self.retired) or "none"
        return (f"Re-sealed {self.resealed} of {self.links} audit links with key {self.key_id}; retired keys: "
                f"{retired}; {self.checkpoint} written.")


def _who():
    """Who ran it, as the machine knows (no request, no user: a command)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return {"os_user": user, "host": socket.gethostname()}


def rekey(using="default", from_development_key=False, chunk=2000, store=None):
    """Re-seal the log with the first key and retire the others. AuditChainBroken, the refusal
    logged, unless the log and its checkpoints verify first (then nothing is re-sealed) and each
    link still does when it is re-sealed."""
    keys = keyring_with_development_key() if from_development_key else keyring()
    store = store or checkpoint_store()
    try:
        verified = verify(using=using, chunk=chunk, keys=keys, store=store)
    except AuditChainBroken as exc:
        log(chain_head(), log_actions.AUDIT_REKEY_REFUSED, data={"reason": str(exc), **_who()})
        raise
    try:
        walk, resealed = _reseal_all(using, keys, chunk)
    except AuditChainBroken as exc:
        # Changed between the check and the re-sealing: what was re-sealed had been checked twice.
        log(chain_head(), log_actions.AUDIT_REKEY_REFUSED, data={"reason": str(exc), **_who()})
        raise AuditChainBroken(f"{exc} (found while re-sealing; the links before it were checked and re-sealed)")
    first = keys.first
    # Every other key, and every key earlier checkpoints name: once this re-key's checkpoint is
    # the only authentic word on them, checkpoints signed by keys retired before still count.
    retired = sorted((set(keys.ids) | verified.signers) - {first.id})
    log(chain_head(), log_actions.AUDIT_REKEYED, data={
        "key_id": first.id, "retired": retired, "links": walk.length, "resealed": resealed, **_who()})
    checkpoint = write_checkpoint(using=using, kind=audit_checkpoints.REKEY, retired_key_ids=retired, store=store)
    return Rekey(key_id=first.id, links=walk.length, resealed=resealed, retired=retired, checkpoint=checkpoint)


def _reseal_all(using, keys, chunk):
    """Check each link again and re-seal it with the first key, chunk by chunk, then the head."""
    first = keys.first
    walk = _Walk(using, keys, [], chunk)
    resealed = 0
    while walk.last_sequence() > walk.length:
        with transaction.atomic(using=using):
            resealed += _reseal(walk, first, using, chunk)
    with transaction.atomic(using=using):
        # The links added meanwhile and the head, with writers held back by the head's lock.
        head = _head(using)
        while walk.length < head.sequence:
            resealed += _reseal(walk, first, using, chunk)
        _check_head(head, keys, walk.length, walk.previous)
        if walk.length:
            head.key_id, head.mac = first.id, first.head_mac(head.sequence, head.last_hash)
            head.save(using=using, update_fields=["key_id", "mac"])
    return walk, resealed


def _reseal(walk, key, using, chunk):
    """Check and re-seal the next chunk of links (locked until the transaction ends)."""
    batch = list(AuditSeal.objects.using(using).select_for_update().filter(sequence__gt=walk.length)
                 .order_by("sequence")[:chunk])
    if not batch:
        raise AuditChainBroken(f"audit link #{walk.length + 1} is missing")
    entries = {kind: model.objects.using(using).in_bulk([item.log_id for item in batch if item.log_model == kind])
               for kind, model in walk.models.items()}
    changed = []
    for item in batch:
        walk.link(item, entries[item.log_model].get(item.log_id))
        if item.key_id != key.id:
            item.key_id, item.mac = key.id, key.seal_mac(item.sequence, item.entry_hash)
            changed.append(item)
    AuditSeal.objects.using(using).bulk_update(changed, ["key_id", "mac"])
    return len(changed)
