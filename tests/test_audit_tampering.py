"""The audit log against an insider with write access to the database (issue 12, finding 5).

Seals are HMACs under a key the database does not hold: the attack that worked against the
unkeyed chain (edit an entry, recompute every link after it with the project's own link_hash)
now fails the seals. Someone who holds the key as well can recompute the seals too; checkpoints
of the chain's head, written before to write-once storage, catch that, a cut end and a log
deleted with its seals and head. A forged checkpoint is reported."""

import io
import json
import secrets

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from wagtail_correspondence.models import AuditChainHead, AuditSeal

from .audit_attacks import cut_tail, delete_everything, edit_and_rechain

pytestmark = pytest.mark.django_db

KEY = secrets.token_urlsafe(32)


@pytest.fixture(autouse=True)
def audit_key(settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "AUDIT_KEYS": KEY}


@pytest.fixture
def clerk(make_user):
    return make_user("clerk")


@pytest.fixture
def logged(clerk):
    """Six log entries about a group, written as the product writes them."""
    group = Group.objects.create(name="Audited")
    return [log(group, "wagtail.edit", user=clerk, data={"step": step}) for step in range(6)]


def the_key():
    from wagtail_correspondence.audit_keys import keyring

    return keyring().first


def verify_command():
    """(exit code, output) of correspondence_verify_audit."""
    out = io.StringIO()
    try:
        call_command("correspondence_verify_audit", stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def test_the_attack_that_worked_is_now_reported(logged, make_user):
    """The finding, as it was done: an entry's user and data changed, every following link and
    the head recomputed with SHA-256 exactly as link_hash makes them. The unkeyed chain called
    this intact."""
    from wagtail_correspondence.services import audit

    sequence = edit_and_rechain(logged[2], user=make_user("someone-else"), data={"step": "nothing happened"})
    with pytest.raises(audit.AuditChainBroken, match=f"audit link #{sequence} .*log entry {logged[2].pk}.*seal does "
                                                     f"not match"):
        audit.verify()
    code, output = verify_command()
    assert code == 1 and f"audit link #{sequence}" in output


def test_the_same_attack_with_the_key_disagrees_with_a_checkpoint(logged, clerk, make_user):
    from wagtail_correspondence.services import audit

    checkpoint = audit.write_checkpoint()
    log(Group.objects.get(name="Audited"), "wagtail.edit", user=clerk, data={"step": "after the checkpoint"})
    edit_and_rechain(logged[2], key=the_key(), user=make_user("someone-else"), data={"step": "nothing happened"})
    with pytest.raises(audit.AuditChainBroken) as broken:
        audit.verify()
    message = str(broken.value)
    # The link the checkpoint recorded, and the checkpoint's time.
    assert f"audit link #{checkpoint.sequence} " in message and checkpoint.when in message
    assert "recomputed after that checkpoint" in message
    code, output = verify_command()
    assert code == 1 and checkpoint.when in output


def test_an_edit_after_the_last_checkpoint_by_a_key_holder_is_not_seen(logged, clerk, make_user):
    """The limit, stated: what a key holder rewrites after the last checkpoint is not seen, which
    is why checkpoints are written on a schedule (the interval is the exposure)."""
    from wagtail_correspondence.services import audit

    audit.write_checkpoint()
    late = log(Group.objects.get(name="Audited"), "wagtail.edit", user=clerk, data={"step": "late"})
    edit_and_rechain(late, key=the_key(), data={"step": "rewritten"})
    assert audit.verify().checkpoints == 1


def test_deleting_the_tail_after_a_checkpoint_is_reported(logged):
    from wagtail_correspondence.services import audit

    checkpoint = audit.write_checkpoint()
    cut_tail(2, key=the_key())  # with the key: the head's own seal matches the shorter chain
    with pytest.raises(audit.AuditChainBroken) as broken:
        audit.verify()
    message = str(broken.value)
    assert f"audit link #{checkpoint.sequence - 1} is missing" in message
    assert f"ends at link #{checkpoint.sequence - 2}" in message and checkpoint.when in message


def test_cutting_the_tail_without_the_key_fails_the_head_seal(logged):
    from wagtail_correspondence.services import audit

    cut_tail(2)  # and no checkpoint at all: the head's own seal tells
    head = AuditChainHead.objects.get()
    assert head.sequence == AuditSeal.objects.count()
    with pytest.raises(audit.AuditChainBroken, match="head of the audit chain .* does not match its seal"):
        audit.verify()


def test_deleting_the_whole_log_with_its_seals_and_head_is_reported(logged):
    from wagtail_correspondence.services import audit

    checkpoint = audit.write_checkpoint()
    delete_everything()
    with pytest.raises(audit.AuditChainBroken) as broken:
        audit.verify()
    assert "audit link #1 is missing: the chain ends at link #0" in str(broken.value)
    assert checkpoint.when in str(broken.value) and f"records link #{checkpoint.sequence}" in str(broken.value)
    assert verify_command()[0] == 1


def store_object(name, content):
    from wagtail_correspondence.checkpoint_stores import checkpoint_store

    store = checkpoint_store()
    return store.storage.save(store.key(name), ContentFile(content))


def test_a_forged_checkpoint_is_reported(logged):
    from wagtail_correspondence.services import audit

    real = audit.write_checkpoint()
    forged = json.loads(real.to_bytes())
    forged.update(sequence=2, hash="f" * 64)  # its HMAC no longer matches
    location = store_object("2026/11/30/forged.json", json.dumps(forged).encode())
    with pytest.raises(audit.AuditChainBroken, match=f"{location}.* was forged: its HMAC does not match"):
        audit.verify()


def test_a_checkpoint_signed_by_an_unknown_key_is_reported(logged, settings):
    from wagtail_correspondence.audit_keys import keyring
    from wagtail_correspondence.services import audit, audit_checkpoints

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "AUDIT_KEYS": secrets.token_urlsafe(32)}
    stranger = keyring().first
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "AUDIT_KEYS": KEY}
    checkpoint = audit_checkpoints.make(3, AuditSeal.objects.get(sequence=3).entry_hash, stranger)
    location = store_object(checkpoint.name(), checkpoint.to_bytes())
    with pytest.raises(audit.AuditChainBroken, match=f"{location}.* signed by key {stranger.id}, which is not in "
                                                     f"AUDIT_KEYS"):
        audit.verify()


def test_an_object_that_is_no_checkpoint_is_reported(logged):
    from wagtail_correspondence.services import audit

    audit.write_checkpoint()
    store_object("junk.json", b"{\"sequence\": 1}")
    with pytest.raises(audit.AuditChainBroken, match="junk.json is not a checkpoint"):
        audit.verify()


def test_checkpoints_are_new_objects_and_verify_counts_them(logged, clerk):
    from wagtail_correspondence.checkpoint_stores import checkpoint_store
    from wagtail_correspondence.services import audit

    first = audit.write_checkpoint()
    log(Group.objects.get(name="Audited"), "wagtail.edit", user=clerk, data={"step": 7})
    second = audit.write_checkpoint()
    assert first.location != second.location and second.sequence == first.sequence + 1
    stored = dict(checkpoint_store().read_all())
    assert set(stored) == {first.location, second.location}
    document = json.loads(stored[second.location])
    assert document["key_id"] == the_key().id and document["hash"] == AuditSeal.objects.last().entry_hash
    assert KEY not in stored[second.location].decode()  # the key id names the key, never is it

    result = audit.verify()
    assert (result.entries, result.checkpoints, result.latest.sequence) == (7, 2, second.sequence)
    code, output = verify_command()
    assert code == 0 and "7 entries" in output and "2 checkpoints checked" in output

    out = io.StringIO()
    call_command("correspondence_audit_checkpoint", stdout=out)
    assert "link #7" in out.getvalue() and "audit-checkpoints/" in out.getvalue()


def test_the_scheduled_entry_points(logged):
    """What a scheduler calls: the dotted name without arguments, and the task."""
    from django.utils.module_loading import import_string

    from wagtail_correspondence.tasks import audit_checkpoint_task

    written = import_string("wagtail_correspondence.services.audit.write_checkpoint")()
    assert str(written).startswith("the checkpoint of ") and f"link #{len(logged)}" in str(written)
    result = audit_checkpoint_task.enqueue()
    assert "link #6" in result.return_value


def test_a_head_that_was_cut_is_not_checkpointed(logged):
    from wagtail_correspondence.services import audit

    cut_tail(1)  # without the key
    with pytest.raises(audit.AuditChainBroken, match="does not match its seal"):
        audit.write_checkpoint()


def test_unreadable_checkpoints_exit_2(logged, settings):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "AUDIT_CHECKPOINTS": {
        "BACKEND": "wagtail_correspondence.checkpoint_stores.StorageCheckpointStore",
        "OPTIONS": {"storage": "no-such-storage"}}}
    code, output = verify_command()
    assert code == 2 and "could not be verified" in output


def test_entries_written_while_verify_walks_are_not_breaks(logged, clerk, monkeypatch):
    """A busy site keeps logging while verify walks the chain: links and entries that appear
    meanwhile are walked on to, not reported as a cut end or as unsealed."""
    from wagtail_correspondence.services import audit

    real_link_hash = audit.link_hash
    group = Group.objects.get(name="Audited")
    written = []

    def link_hash_and_log_once(previous_hash, kind, entry):
        if not written:  # the first link verify checks: another request logs meanwhile
            written.append(None)
            written.append(log(group, "wagtail.edit", user=clerk, data={"step": "meanwhile"}))
        return real_link_hash(previous_hash, kind, entry)

    monkeypatch.setattr(audit, "link_hash", link_hash_and_log_once)
    result = audit.verify()
    assert written[1] is not None and ModelLogEntry.objects.count() == len(logged) + 1
    assert getattr(result, "entries", result) == len(logged) + 1
