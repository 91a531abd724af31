"""Storages that encrypt files at rest (letter PDFs, scans, mail and portal attachments, the
archive). Files are encrypted whole with the keys of ``encryption.py`` when saved and
decrypted when opened, so models, views and services read plain bytes as before.

``EncryptedFileSystemStorage`` for local disks; for another backend, mix
``EncryptedStorageMixin`` in front of it (``class EncryptedS3Storage(EncryptedStorageMixin,
S3Storage)``). Files saved before encryption was on are read as they are and encrypted by
``correspondence_rotate_keys``.
"""

import os

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from .encryption import decrypt_bytes, encrypt_bytes, rotate_bytes, under_first_key_bytes


class EncryptedStorageMixin:
    encrypted = True

    def _save(self, name, content):
        content.seek(0)
        return super()._save(name, ContentFile(encrypt_bytes(content.read())))

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode:
            raise ValueError("Encrypted files are written through save(), not opened for writing.")
        with super()._open(name, "rb") as stored:
            content = decrypt_bytes(stored.read())
        opened = ContentFile(content, name=name)
        opened.mode = mode
        return opened

    def size(self, name):
        # The plain size, which is what callers compare with what they uploaded.
        with self._open(name) as opened:
            return len(opened.read())

    def _open_raw(self, name):
        """The stored (encrypted) bytes, for key rotation and checks."""
        return super()._open(name, "rb")

    def rotate(self, name):
        """Re-encrypt one file under the first key, unless it is already. Returns True when
        it was rewritten."""
        with self._open_raw(name) as stored:
            raw = stored.read()
        if under_first_key_bytes(raw):
            return False
        rotated = rotate_bytes(raw)
        self._replace(name, rotated)
        return True

    def _replace(self, name, content):
        # A copy is written first, so that a crash between the delete and the new save
        # leaves the file's content under the copy's name rather than nowhere.
        copy = super()._save(f"{name}.rotating", ContentFile(content))
        self.delete(name)
        saved = super()._save(name, ContentFile(content))
        self.delete(copy)
        if saved != name:
            raise OSError(f"Could not rewrite {name} in place (saved as {saved}).")


class EncryptedFileSystemStorage(EncryptedStorageMixin, FileSystemStorage):
    def _replace(self, name, content):
        # Atomic on one file system: the file is the old or the new bytes, never neither.
        path = self.path(name)
        temporary = f"{path}.rotating"
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)


def walk(storage, directory=""):
    """Every file name under ``directory`` of ``storage``, depth first; files a rotation is
    writing (``.rotating``) are left out."""
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:  # a storage nothing was written to yet
        return
    for name in files:
        if not name.endswith(".rotating"):
            yield f"{directory}/{name}" if directory else name
    for child in directories:
        yield from walk(storage, f"{directory}/{child}" if directory else child)
