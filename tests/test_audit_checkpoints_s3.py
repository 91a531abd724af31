"""Audit checkpoints in S3 with Object Lock, against moto_server on loopback: each checkpoint a
new locked object; the product never writes over one; nobody can delete a locked version; and
a version put over a checkpoint, or a delete marker, does not hide the original from verify."""

import datetime
import json
import secrets

import pytest
from botocore.exceptions import ClientError
from django.contrib.auth.models import Group
from django.utils import timezone
from wagtail.log_actions import log

from .audit_attacks import edit_and_rechain

pytestmark = pytest.mark.django_db
BUCKET = "audit-checkpoints"


@pytest.fixture
def s3(aws, settings):
    settings.WAGTAIL_CORRESPONDENCE = {
        **settings.WAGTAIL_CORRESPONDENCE, "AUDIT_KEYS": secrets.token_urlsafe(32),
        "AUDIT_CHECKPOINTS": {"BACKEND": "wagtail_correspondence.checkpoint_stores.S3CheckpointStore", "OPTIONS": {
            "bucket": BUCKET, "endpoint_url": aws.url, "region_name": "eu-west-1", "object_lock_mode": "COMPLIANCE",
            "retention_days": 3650, "connect_timeout": 1, "read_timeout": 5}}}
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True,
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return client


@pytest.fixture
def logged(make_user):
    user = make_user("clerk")
    group = Group.objects.create(name="Audited")
    return [log(group, "wagtail.edit", user=user, data={"step": step}) for step in range(4)]


def key_of(checkpoint):
    return checkpoint.location.removeprefix(f"s3://{BUCKET}/")


def test_a_checkpoint_is_a_new_locked_object_nobody_can_delete_or_overwrite(s3, logged):
    from wagtail_correspondence.checkpoint_stores import CheckpointExists, checkpoint_store
    from wagtail_correspondence.services import audit

    checkpoint = audit.write_checkpoint()
    key = key_of(checkpoint)
    assert key.startswith("audit-checkpoints/") and checkpoint.location == f"s3://{BUCKET}/{key}"
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ServerSideEncryption"] == "AES256"
    assert head["ObjectLockRetainUntilDate"] - timezone.now() > datetime.timedelta(days=3649)
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())["sequence"] == len(logged)

    # The product never writes over a checkpoint, even under the same name.
    with pytest.raises(CheckpointExists):
        checkpoint_store().write(key.removeprefix("audit-checkpoints/"), b"{}")
    # Nobody deletes the locked version within its retention.
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=head["VersionId"])

    result = audit.verify()
    assert (result.entries, result.checkpoints) == (4, 1)


def test_a_version_put_over_a_checkpoint_does_not_hide_it(s3, logged):
    """Someone with the key and the bucket's credentials recomputes the chain after an edit and
    writes a matching checkpoint over the real one (a new version), then hides it behind a
    delete marker: the locked original is still read, and disagrees."""
    from wagtail_correspondence.audit_keys import keyring
    from wagtail_correspondence.services import audit, audit_checkpoints

    real = audit.write_checkpoint()
    edit_and_rechain(logged[1], key=keyring().first, data={"step": "rewritten"})
    head = audit.AuditChainHead.objects.get()
    forged = audit_checkpoints.make(head.sequence, head.last_hash, keyring().first)
    s3.put_object(Bucket=BUCKET, Key=key_of(real), Body=forged.to_bytes())
    s3.delete_object(Bucket=BUCKET, Key=key_of(real))  # a delete marker, no version removed
    with pytest.raises(audit.AuditChainBroken) as broken:
        audit.verify()
    assert real.when in str(broken.value) and "recomputed after that checkpoint" in str(broken.value)


def test_a_missing_bucket_is_an_error_not_intact(s3, logged, settings):
    from wagtail_correspondence.checkpoint_stores import CheckpointStoreError
    from wagtail_correspondence.services import audit

    config = settings.WAGTAIL_CORRESPONDENCE["AUDIT_CHECKPOINTS"]
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "AUDIT_CHECKPOINTS": {
        **config, "OPTIONS": {**config["OPTIONS"], "bucket": "no-such-bucket"}}}
    with pytest.raises(CheckpointStoreError, match="NoSuchBucket"):
        audit.write_checkpoint()
    with pytest.raises(audit.AuditUnverifiable, match="NoSuchBucket"):
        audit.verify()


def test_the_default_store_follows_an_s3_archive(aws, settings):
    from wagtail_correspondence.checkpoint_stores import S3CheckpointStore, checkpoint_store

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "ARCHIVE": {
        "BACKEND": "wagtail_correspondence.delivery.archive.S3Archive",
        "OPTIONS": {"bucket": "letters-archive", "prefix": "letters", "object_lock_mode": "GOVERNANCE",
                    "retention_days": 365}}}
    store = checkpoint_store()
    assert isinstance(store, S3CheckpointStore) and store.write_once
    assert (store.bucket, store.prefix, store.s3.object_lock_mode, store.s3.retention_days) == (
        "letters-archive", "audit-checkpoints", "GOVERNANCE", 365)
