"""Where checkpoints of the audit chain are kept: write-once places outside the database.

A checkpoint is written as a new object under a name never used before and is never
overwritten by the product. ``S3CheckpointStore`` puts it in S3 with Object Lock retention (as
``delivery/archive.py`` does for letters), so that in COMPLIANCE mode nobody, an administrator
of the AWS account included, can alter or delete it before its retention ends; and it reads
back *every version* of every checkpoint, so that a newer version written over one (a bucket
with Object Lock keeps versions) cannot hide the original. ``StorageCheckpointStore`` writes to
a Django storage alias: write-once only as far as that storage is (a folder is not; the deploy
check W021 says so).

``checkpoint_store()`` builds the one configured in ``WAGTAIL_CORRESPONDENCE["AUDIT_CHECKPOINTS"]``;
the default, ``"archive"``, writes beside the letter archive.
"""

import datetime

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.module_loading import import_string

from .conf import get_setting
from .s3 import S3Bucket
from .storage import walk


class CheckpointStoreError(Exception):
    """The store could not be read or written (unreachable, misconfigured)."""


class CheckpointExists(CheckpointStoreError):
    """A checkpoint of that name is there already: it is never overwritten."""


class CheckpointStore:
    write_once = False

    def __init__(self, prefix="audit-checkpoints"):
        self.prefix = (prefix or "").strip("/")

    def key(self, name):
        return f"{self.prefix}/{name}" if self.prefix else name

    def write(self, name, content):
        """Store ``content`` (bytes) as a new object; its location. CheckpointExists if taken."""
        raise NotImplementedError

    def read_all(self):
        """(location, bytes) of every checkpoint stored (every version, where there are versions)."""
        raise NotImplementedError

    def describe(self):
        raise NotImplementedError


class StorageCheckpointStore(CheckpointStore):
    """A Django storage alias (the archive's by default)."""

    def __init__(self, storage="default", prefix="audit-checkpoints"):
        super().__init__(prefix)
        self.storage_alias = storage

    @property
    def storage(self):
        return storages[self.storage_alias]

    def describe(self):
        return f"storage {self.storage_alias!r}, {self.prefix or '/'}"

    def write(self, name, content):
        key = self.key(name)
        try:
            if self.storage.exists(key):
                raise CheckpointExists(f"{key} exists already")
            # A storage picks another name rather than overwrite (FileSystemStorage opens with
            # O_EXCL), so a race with another writer cannot overwrite either.
            return self.storage.save(key, ContentFile(content))
        except OSError as exc:
            raise CheckpointStoreError(f"the checkpoint could not be written to {self.describe()}: {exc}") from exc

    def read_all(self):
        try:
            for name in sorted(walk(self.storage, self.prefix)):
                with self.storage.open(name, "rb") as handle:
                    yield name, handle.read()
        except OSError as exc:
            raise CheckpointStoreError(f"the checkpoints could not be read from {self.describe()}: {exc}") from exc


class S3CheckpointStore(CheckpointStore):
    """S3 through boto3. OPTIONS as ``S3Archive``'s: ``bucket``; ``prefix``; ``region_name``,
    ``endpoint_url`` (credentials from boto3's usual chain); ``object_lock_mode`` ("COMPLIANCE"
    or "GOVERNANCE", on a bucket created with Object Lock) with ``retention_days`` counted from
    the checkpoint's writing; ``server_side_encryption`` ("AES256" or "aws:kms", with
    ``kms_key_id``)."""

    def __init__(self, bucket, prefix="audit-checkpoints", **options):
        super().__init__(prefix)
        try:
            self.s3 = S3Bucket(bucket, **options)
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(f"AUDIT_CHECKPOINTS: {exc}") from exc
        self.bucket = bucket

    @property
    def write_once(self):
        return self.s3.locks_objects

    def describe(self):
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def client(self):
        return self.s3.client

    def _call(self, client, operation, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if operation == "put_object" and code in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise CheckpointExists(f"{kwargs.get('Key')} exists already") from exc
            raise CheckpointStoreError(f"S3 {operation} on {self.describe()} failed: {code} {exc}") from exc
        except BotoCoreError as exc:  # no connection, timeouts
            raise CheckpointStoreError(f"S3 could not be reached ({self.describe()}): {exc}") from exc

    def write(self, name, content):
        key = self.key(name)
        retain_until = timezone.now() + datetime.timedelta(days=self.s3.retention_days or 0)
        # IfNoneMatch: refused by S3 when the key exists; the product never writes over a checkpoint.
        self._call(self.client, "put_object", **self.s3.put_arguments(
            key, content, "application/json", retain_until=retain_until, IfNoneMatch="*"))
        return f"s3://{self.bucket}/{key}"

    def read_all(self):
        # Every version, not only the current one: under Object Lock a checkpoint's first version
        # stays whatever is put over it later, and that first version is the one to trust.
        client = self.client
        token = {}
        while True:
            page = self._call(client, "list_object_versions", Prefix=f"{self.prefix}/" if self.prefix else "",
                              **token)
            for version in page.get("Versions", []):
                key, version_id = version["Key"], version["VersionId"]
                body = self._call(client, "get_object", Key=key, VersionId=version_id)["Body"].read()
                yield f"s3://{self.bucket}/{key} (version {version_id})", body
            if not page.get("IsTruncated"):
                return
            token = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


STORAGE_STORE = "wagtail_correspondence.checkpoint_stores.StorageCheckpointStore"
S3_STORE = "wagtail_correspondence.checkpoint_stores.S3CheckpointStore"
ARCHIVE_S3_OPTIONS = ("bucket", "region_name", "endpoint_url", "object_lock_mode", "retention_days",
                      "server_side_encryption", "kms_key_id", "connect_timeout", "read_timeout")


def _beside_the_archive(options):
    from .delivery.archive import S3Archive, StorageArchive

    archive = get_setting("ARCHIVE")
    archive_options = archive.get("OPTIONS", {}) if isinstance(archive, dict) else {}
    try:
        archive_class = import_string(archive["BACKEND"])
    except (KeyError, TypeError, ImportError) as exc:
        raise ImproperlyConfigured("AUDIT_CHECKPOINTS is 'archive' but ARCHIVE has no usable BACKEND") from exc
    if issubclass(archive_class, S3Archive):
        return S3CheckpointStore(**{name: archive_options[name] for name in ARCHIVE_S3_OPTIONS
                                    if name in archive_options}, **options)
    if issubclass(archive_class, StorageArchive):
        return StorageCheckpointStore(storage=archive_options.get("storage", "default"), **options)
    raise ImproperlyConfigured(
        f"AUDIT_CHECKPOINTS is 'archive' but the archive ({archive['BACKEND']}) is neither a storage nor S3: "
        f"set WAGTAIL_CORRESPONDENCE['AUDIT_CHECKPOINTS'] to {STORAGE_STORE} or {S3_STORE}.")


def checkpoint_store():
    config = get_setting("AUDIT_CHECKPOINTS")
    if not isinstance(config, dict):
        raise ImproperlyConfigured("WAGTAIL_CORRESPONDENCE['AUDIT_CHECKPOINTS'] must be a dict with BACKEND and OPTIONS")
    backend, options = config.get("BACKEND", "archive"), dict(config.get("OPTIONS") or {})
    try:
        if backend == "archive":
            return _beside_the_archive(options)
        return import_string(backend)(**options)
    except (ImportError, TypeError) as exc:
        raise ImproperlyConfigured(f"WAGTAIL_CORRESPONDENCE['AUDIT_CHECKPOINTS'] is invalid: {exc}") from exc
