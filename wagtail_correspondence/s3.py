"""One S3 bucket as the archive and the audit checkpoints write to it: where it is, how long
its objects are locked (Object Lock), how they are encrypted, and the boto3 client. Both keep
their own error handling; what they share is how a locked, checksummed object is put."""

import base64
import hashlib

from django.core.exceptions import ImproperlyConfigured

LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


class S3Bucket:
    """OPTIONS: ``bucket``; ``region_name``, ``endpoint_url`` (credentials come from boto3's
    usual chain); ``object_lock_mode`` ("COMPLIANCE" or "GOVERNANCE", on a bucket created with
    Object Lock) with ``retention_days``; ``server_side_encryption`` ("AES256" or "aws:kms",
    with ``kms_key_id``); connection and read timeouts in seconds."""

    def __init__(self, bucket, region_name=None, endpoint_url=None, object_lock_mode=None, retention_days=None,
                 server_side_encryption="AES256", kms_key_id=None, connect_timeout=5, read_timeout=30):
        if object_lock_mode and object_lock_mode not in LOCK_MODES:
            raise ImproperlyConfigured(f"object_lock_mode must be COMPLIANCE or GOVERNANCE, not {object_lock_mode!r}")
        if object_lock_mode and not retention_days:
            raise ImproperlyConfigured("object_lock_mode needs retention_days")
        self.bucket = bucket
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.object_lock_mode = object_lock_mode
        self.retention_days = retention_days
        self.server_side_encryption = server_side_encryption
        self.kms_key_id = kms_key_id
        self.timeouts = (connect_timeout, read_timeout)

    @property
    def locks_objects(self):
        return bool(self.object_lock_mode)

    @property
    def client(self):
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=self.timeouts[0], read_timeout=self.timeouts[1],
                        retries={"max_attempts": 2, "mode": "standard"})
        return boto3.client("s3", region_name=self.region_name, endpoint_url=self.endpoint_url, config=config)

    def put_arguments(self, key, content, content_type, retain_until=None, **extra):
        """``put_object``'s arguments: S3 checks the SHA-256 on arrival, the object is encrypted
        and, on a locked bucket, retained until ``retain_until``."""
        arguments = {
            "Key": key, "Body": content, "ContentType": content_type,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(hashlib.sha256(content).digest()).decode(),
            **extra,
        }
        if self.server_side_encryption:
            arguments["ServerSideEncryption"] = self.server_side_encryption
            if self.kms_key_id:
                arguments["SSEKMSKeyId"] = self.kms_key_id
        if self.object_lock_mode:
            arguments["ObjectLockMode"] = self.object_lock_mode
            arguments["ObjectLockRetainUntilDate"] = retain_until
        return arguments
