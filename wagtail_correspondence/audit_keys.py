"""The keys that seal the audit log: HMAC-SHA256 keys from the environment, never stored in the
database.

``WAGTAIL_CORRESPONDENCE["AUDIT_KEYS"]`` lists them newest first (a list, or one string of
comma-separated keys): the first seals new log entries and signs checkpoints, every listed key
verifies. A key is at least 32 random bytes written in url-safe base64
(``python -c 'import secrets; print(secrets.token_urlsafe(32))'``). Each seal records the *key
id* of the key that made it: an HMAC of a fixed label under the key, which names the key
without revealing it.

Without configured keys (development, the demo), one key is derived from ``SECRET_KEY``; the
deploy checks warn about it (``checks.py``, W020). Whoever holds ``SECRET_KEY`` then holds the
audit key too, which is why production sets keys of its own.
"""

import base64
import functools
import hmac
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import get_setting

MIN_KEY_BYTES = 32
KEY_ID_LENGTH = 16
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes = b""
    development: bool = False  # derived from SECRET_KEY

    def mac(self, *parts):
        """HMAC-SHA256 (hex) of the parts joined by NUL bytes; the first part names the purpose
        (seal, head, checkpoint), so that a MAC made for one can never pass for another."""
        message = b"\0".join(part if isinstance(part, bytes) else str(part).encode() for part in parts)
        return hmac.digest(self.secret, message, "sha256").hex()

    def seal_mac(self, sequence, entry_hash):
        # entry_hash commits to the entry and to every link before it (see services/audit.py).
        return self.mac(b"seal", sequence, entry_hash)

    def head_mac(self, sequence, last_hash):
        return self.mac(b"head", sequence, last_hash)

    def __repr__(self):  # never the secret, in tracebacks or logs
        return f"AuditKey(id={self.id!r})"


def key_id(secret):
    return hmac.digest(secret, b"wagtail-correspondence audit key id", "sha256").hex()[:KEY_ID_LENGTH]


def parse_key(text):
    """The key's bytes; ImproperlyConfigured (naming the setting, never the key) if malformed."""
    if not _BASE64URL.match(text):
        raise ImproperlyConfigured(_key_problem("a key holds characters other than url-safe base64"))
    try:
        secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:  # binascii.Error is one
        raise ImproperlyConfigured(_key_problem("a key is not valid base64")) from exc
    if len(secret) < MIN_KEY_BYTES:
        raise ImproperlyConfigured(_key_problem(f"a key has only {len(secret)} bytes"))
    return secret


def _key_problem(what):
    return (f"WAGTAIL_CORRESPONDENCE['AUDIT_KEYS'] must hold keys of at least {MIN_KEY_BYTES} random bytes in "
            f"url-safe base64 (python -c 'import secrets; print(secrets.token_urlsafe(32))'): {what}.")


def configured_keys():
    keys = get_setting("AUDIT_KEYS")
    if isinstance(keys, str):
        keys = keys.split(",")
    return tuple(key.strip() for key in keys or () if key and key.strip())


def development_key(secret_key):
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wagtail-correspondence", info=b"audit-seals")
    secret = hkdf.derive(secret_key.encode())
    return AuditKey(key_id(secret), secret, development=True)


class Keyring:
    """The configured keys in order: ``first`` seals and signs, ``get(key_id)`` finds any."""

    def __init__(self, keys):
        self.keys = tuple(keys)
        self.first = self.keys[0]
        self._by_id = {key.id: key for key in self.keys}

    def get(self, key_id):
        return self._by_id.get(key_id)

    @property
    def ids(self):
        return [key.id for key in self.keys]

    def with_key(self, key):
        """This keyring, accepting ``key`` too (after the others)."""
        return self if key.id in self._by_id else Keyring([*self.keys, key])


@functools.lru_cache(maxsize=8)
def _keyring(keys, secret_key):
    if not keys:
        return Keyring([development_key(secret_key)])
    parsed = [AuditKey(key_id(secret), secret) for secret in map(parse_key, keys)]
    if len({key.id for key in parsed}) != len(parsed):
        raise ImproperlyConfigured("WAGTAIL_CORRESPONDENCE['AUDIT_KEYS'] lists the same key twice.")
    return Keyring(parsed)


def keyring():
    """The keys of ``AUDIT_KEYS`` (or the development key); ImproperlyConfigured if malformed."""
    return _keyring(configured_keys(), settings.SECRET_KEY)


def keyring_with_development_key():
    """The configured keys and the key derived from ``SECRET_KEY``: for moving seals made before
    keys were configured to a configured key (``correspondence_audit_rekey --from-development-key``)."""
    return keyring().with_key(development_key(settings.SECRET_KEY))
