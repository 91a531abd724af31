"""Checkpoints of the audit chain: the head (link number and chain hash) at a moment, signed
with the first audit key and written to write-once storage (``checkpoint_stores.py``).

A checkpoint is a small JSON document::

    {"format": "wagtail-correspondence/audit-checkpoint/1", "kind": "checkpoint",
     "sequence": 1234, "hash": "<chain hash of link #1234>", "key_id": "<signing key id>",
     "time": "2026-11-30T02:00:00.123456+00:00", "retired_key_ids": [], "hmac": "<HMAC-SHA256>"}

The hash is the chain's SHA-256 value, which depends on the entries only, never on a key: a
checkpoint therefore stays comparable with the chain after the keys rotate, and a re-key (which
re-signs the seals, see ``audit_rekey.py``) cannot make an older checkpoint stop counting. A
re-key's own checkpoint has kind ``"rekey"`` and lists the key ids it retired: checkpoints
signed by those keys are still compared with the chain, though their signatures can no longer
be checked once the keys are gone.

Anyone holding an audit key can recompute every seal after editing an entry; what they cannot
do is change a checkpoint already written, so the recomputed chain disagrees with it.
"""

import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.dateparse import parse_datetime

FORMAT = "wagtail-correspondence/audit-checkpoint/1"
CHECKPOINT, REKEY = "checkpoint", "rekey"
SIGNED_FIELDS = ("format", "kind", "sequence", "hash", "key_id", "time", "retired_key_ids")


class CheckpointInvalid(Exception):
    """A stored object is not a well-formed checkpoint."""


@dataclass
class Checkpoint:
    sequence: int
    hash: str
    key_id: str
    time: object  # an aware datetime
    kind: str = CHECKPOINT
    retired_key_ids: tuple = ()
    hmac: str = ""
    location: str = ""
    # Filled in when read back: True (signature checked), False (forged), None (signed by a key
    # that is not configured).
    authentic: object = field(default=None, compare=False)

    def payload(self):
        return {"format": FORMAT, "kind": self.kind, "sequence": self.sequence, "hash": self.hash,
                "key_id": self.key_id, "time": self.time.isoformat(), "retired_key_ids": list(self.retired_key_ids)}

    def signature(self, key):
        return key.mac(b"checkpoint", json.dumps(self.payload(), sort_keys=True, separators=(",", ":")))

    def to_bytes(self):
        return json.dumps({**self.payload(), "hmac": self.hmac}, indent=2, sort_keys=True).encode()

    @property
    def when(self):
        return self.time.astimezone(dt_timezone.utc).isoformat(timespec="seconds")

    def name(self):
        """An object name never used before: the time, the link and a random part."""
        moment = self.time.astimezone(dt_timezone.utc)
        return f"{moment:%Y/%m/%d}/{moment:%Y%m%dT%H%M%S%fZ}-{self.sequence:012d}-{secrets.token_hex(4)}.json"

    def __str__(self):
        what = "re-key checkpoint" if self.kind == REKEY else "checkpoint"
        return f"the {what} of {self.when} (link #{self.sequence}, {self.location or 'not stored'})"


def make(sequence, chain_hash, key, kind=CHECKPOINT, retired_key_ids=()):
    checkpoint = Checkpoint(sequence=sequence, hash=chain_hash, key_id=key.id, time=timezone.now(), kind=kind,
                            retired_key_ids=tuple(sorted(retired_key_ids)))
    checkpoint.hmac = checkpoint.signature(key)
    checkpoint.authentic = True
    return checkpoint


def parse(location, content):
    """The checkpoint stored at ``location``; CheckpointInvalid if it is not one."""
    try:
        document = json.loads(content)
    except ValueError as exc:  # UnicodeDecodeError is one
        raise CheckpointInvalid(f"{location} is not a checkpoint (not JSON)") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointInvalid(f"{location} is not a checkpoint (no {FORMAT!r} format)")
    try:
        time = parse_datetime(document["time"])
        checkpoint = Checkpoint(
            sequence=document["sequence"], hash=document["hash"], key_id=document["key_id"], time=time,
            kind=document["kind"], retired_key_ids=tuple(document["retired_key_ids"]), hmac=document["hmac"],
            location=location)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointInvalid(f"{location} is not a well-formed checkpoint ({exc!r} missing or wrong)") from exc
    if (not isinstance(checkpoint.sequence, int) or isinstance(checkpoint.sequence, bool) or checkpoint.sequence < 0
            or not isinstance(checkpoint.hash, str) or not isinstance(checkpoint.key_id, str)
            or time is None or time.tzinfo is None or checkpoint.kind not in (CHECKPOINT, REKEY)
            or not all(isinstance(key_id, str) for key_id in checkpoint.retired_key_ids)
            or not isinstance(checkpoint.hmac, str)):
        raise CheckpointInvalid(f"{location} is not a well-formed checkpoint")
    return checkpoint


def authenticate(checkpoint, keys):
    key = keys.get(checkpoint.key_id)
    if key is None:
        checkpoint.authentic = None
    else:
        checkpoint.authentic = hmac.compare_digest(checkpoint.signature(key), checkpoint.hmac)
    return checkpoint


def read_all(store, keys):
    """Every checkpoint of ``store``, oldest first, each authenticated with ``keys`` as far as
    they allow. CheckpointInvalid for an object that is not a checkpoint."""
    checkpoints = [authenticate(parse(location, content), keys) for location, content in store.read_all()]
    return sorted(checkpoints, key=lambda checkpoint: (checkpoint.time, checkpoint.sequence))


def retirements(checkpoints):
    """{retired key id: the time of the first authentic re-key that retired it}."""
    retired = {}
    for checkpoint in checkpoints:
        if checkpoint.kind == REKEY and checkpoint.authentic:
            for key_id in checkpoint.retired_key_ids:
                retired.setdefault(key_id, checkpoint.time)
    return retired
