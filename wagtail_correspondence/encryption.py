"""Encryption at rest of customer data: model fields and stored files.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a ``MultiFernet`` of the keys
in ``WAGTAIL_CORRESPONDENCE["ENCRYPTION_KEYS"]``: the first key encrypts, every key decrypts,
so keys rotate by putting a new key first and running ``correspondence_rotate_keys``, which
re-encrypts everything under it; the old key can then be removed.

Without configured keys (development, the demo), one key is derived from ``SECRET_KEY``; the
deploy checks warn about it (``checks.py``).

Values carry a marker (``fernet:`` for text, a header line for files) so that data written
before encryption was switched on is still read, and is encrypted by the next rotation.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import get_setting

TEXT_MARKER = "fernet:"
FILE_HEADER = b"WCFERNET1\n"


class DecryptionError(Exception):
    """A value is encrypted under none of the configured keys."""


def configured_keys():
    keys = get_setting("ENCRYPTION_KEYS")
    if isinstance(keys, str):
        keys = [key.strip() for key in keys.split(",")]
    return tuple(key for key in keys or () if key)


def derived_key(secret):
    """A Fernet key derived from SECRET_KEY, for installations that configured none."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wagtail-correspondence", info=b"encryption-at-rest")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


@functools.lru_cache(maxsize=8)
def _multifernet(keys, secret):
    if not keys:
        keys = (derived_key(secret),)
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "WAGTAIL_CORRESPONDENCE['ENCRYPTION_KEYS'] must hold Fernet keys (32 url-safe base64-encoded "
            "bytes, as Fernet.generate_key() makes them).") from exc


def fernet():
    return _multifernet(configured_keys(), settings.SECRET_KEY)


def is_encrypted_text(value):
    return isinstance(value, str) and value.startswith(TEXT_MARKER)


def encrypt_text(value):
    return TEXT_MARKER + fernet().encrypt(value.encode()).decode()


def decrypt_text(value):
    if not is_encrypted_text(value):
        return value  # written before encryption was on
    try:
        return fernet().decrypt(value[len(TEXT_MARKER):].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("A value is encrypted under a key that is not configured.") from exc


def is_encrypted_bytes(content):
    return content.startswith(FILE_HEADER)


def encrypt_bytes(content):
    return FILE_HEADER + fernet().encrypt(content)


def decrypt_bytes(content):
    if not is_encrypted_bytes(content):
        return content
    try:
        return fernet().decrypt(content[len(FILE_HEADER):])
    except InvalidToken as exc:
        raise DecryptionError("A file is encrypted under a key that is not configured.") from exc


def rotate_bytes(content):
    """The content encrypted under the first key (plain content gets encrypted)."""
    if not is_encrypted_bytes(content):
        return encrypt_bytes(content)
    try:
        return FILE_HEADER + fernet().rotate(content[len(FILE_HEADER):])
    except InvalidToken as exc:
        raise DecryptionError("A file is encrypted under a key that is not configured.") from exc


def encrypted_fields(model):
    """The fields of ``model`` that encrypt their values: they say so (``encrypted_at_rest``,
    as ``models.fields.EncryptedTextField`` does), so this module needs no model."""
    return [field for field in model._meta.concrete_fields if getattr(field, "encrypted_at_rest", False)]


def reencrypt_rows(model, batch_size=500):
    """Write again the encrypted values of the rows of ``model`` that are not under the first
    key: decrypted with whichever key opens them, encrypted under the first (values stored
    in plain get encrypted). Returns the number of rows rewritten. ``update()`` on purpose:
    it skips ``save()`` (letters refuse changes once generated; the content does not change)."""
    names = [field.attname for field in encrypted_fields(model)]
    pks = stale_row_pks(model)
    manager = model._base_manager
    for start in range(0, len(pks), batch_size):
        for pk, *values in manager.filter(pk__in=pks[start:start + batch_size]).values_list("pk", *names):
            manager.filter(pk=pk).update(**dict(zip(names, values)))
    return len(pks)


def _primary():
    keys = configured_keys() or (derived_key(settings.SECRET_KEY),)
    return Fernet(keys[0])


def under_first_key_text(value):
    """Whether a stored text value is encrypted under the first key (empty counts as yes)."""
    if value in (None, ""):
        return True
    if not is_encrypted_text(value):
        return False
    try:
        _primary().decrypt(value[len(TEXT_MARKER):].encode())
    except InvalidToken:
        return False
    return True


def under_first_key_bytes(content):
    if not is_encrypted_bytes(content):
        return False
    try:
        _primary().decrypt(content[len(FILE_HEADER):])
    except InvalidToken:
        return False
    return True


def stale_row_pks(model):
    """Primary keys of the rows of ``model`` holding a value not encrypted under the first
    key, read raw from the table."""
    fields = encrypted_fields(model)
    if not fields:
        return []
    from django.db import connections, router

    columns = ", ".join(field.column for field in fields)
    with connections[router.db_for_write(model)].cursor() as cursor:
        cursor.execute(f"SELECT {model._meta.pk.column}, {columns} FROM {model._meta.db_table}")  # noqa: S608
        return [pk for pk, *values in cursor.fetchall() if not all(map(under_first_key_text, values))]
