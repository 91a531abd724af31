"""Audit keys: from the environment, named by an id in each seal, rotated by putting a new key
first, an old one retired only through correspondence_audit_rekey, which refuses a log that does
not verify (and logs that it refused); seals made before keys existed are keyed by migration
0019, which never vouches for a chain already broken; the deploy checks."""

import io
import os
import secrets
import subprocess
import sys
import types
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions
from wagtail_correspondence.models import AuditChainHead, AuditSeal

from .audit_attacks import edit_and_rechain

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
OLD = secrets.token_urlsafe(32)
NEW = secrets.token_urlsafe(32)


@pytest.fixture
def keys(settings):
    def use(*keys):
        settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "AUDIT_KEYS": ",".join(keys)}
        from wagtail_correspondence.audit_keys import keyring

        return keyring()

    return use


@pytest.fixture
def group():
    return Group.objects.create(name="Audited")


def write(group, count, start=0):
    return [log(group, "wagtail.edit", data={"step": step}) for step in range(start, start + count)]


def key_ids():
    return set(AuditSeal.objects.values_list("key_id", flat=True))


def sealed_with(entries):
    """The key ids of these entries' seals (the refusal, logged after them, has its own)."""
    return set(AuditSeal.objects.filter(log_model=AuditSeal.MODEL, log_id__in=[entry.pk for entry in entries])
               .values_list("key_id", flat=True))


def rekey(*args):
    out = io.StringIO()
    call_command("correspondence_audit_rekey", *args, stdout=out)
    return out.getvalue()


def test_rotation_and_retiring_the_old_key(keys, group):
    from wagtail_correspondence.services import audit

    old = keys(OLD).first
    write(group, 3)
    audit.write_checkpoint()
    assert key_ids() == {old.id}

    # 1. A new key first: new seals use it, the old ones still verify.
    ring = keys(NEW, OLD)
    new = ring.first
    write(group, 2, start=3)
    assert [link.key_id for link in AuditSeal.objects.order_by("sequence")] == [old.id] * 3 + [new.id] * 2
    assert AuditChainHead.objects.get().key_id == new.id
    assert audit.verify().entries == 5

    # Dropping the old key without the re-key: every link it sealed is reported.
    keys(NEW)
    with pytest.raises(audit.AuditChainBroken, match=f"key {old.id}, which is not in AUDIT_KEYS"):
        audit.verify()

    # 2. The re-key, with both keys listed: checked, re-sealed, logged, checkpointed.
    keys(NEW, OLD)
    output = rekey()
    assert "Re-sealed 3 of 5 audit links" in output and f"retired keys: {old.id}" in output
    assert key_ids() == {new.id}
    logged = ModelLogEntry.objects.get(action=log_actions.AUDIT_REKEYED)
    assert logged.data["key_id"] == new.id and logged.data["retired"] == [old.id] and logged.data["resealed"] == 3
    assert AuditSeal.objects.get(log_model=AuditSeal.MODEL, log_id=logged.pk).key_id == new.id

    # 3. The old key gone: intact, the old checkpoint still compared with the chain.
    keys(NEW)
    result = audit.verify()
    assert (result.entries, result.checkpoints, result.retired) == (6, 2, 1)
    assert result.latest.kind == "rekey" and result.latest.retired_key_ids == (old.id,)
    assert "2 checkpoints checked (1 signed by retired keys" in str(result)


def test_a_second_rotation_keeps_the_first_ones_checkpoints(keys, group):
    """The second re-key names the keys the first one retired: its checkpoint is the authentic
    word on them once the first re-key's own key is gone too."""
    from wagtail_correspondence.services import audit

    newer = secrets.token_urlsafe(32)
    old = keys(OLD).first
    write(group, 2)
    audit.write_checkpoint()
    keys(NEW, OLD)
    rekey()
    new = keys(NEW).first
    write(group, 2, start=2)
    audit.write_checkpoint()
    keys(newer, NEW)
    assert f"retired keys: {', '.join(sorted([new.id, old.id]))}" in rekey()
    keys(newer)
    result = audit.verify()
    assert (result.checkpoints, result.retired) == (4, 3)


def test_a_retired_keys_checkpoint_still_catches_a_recomputed_chain(keys, group):
    """Re-sealing changes seals, never chain hashes: a checkpoint written before a re-key keeps
    counting after it, so a re-key cannot be used to launder an edit made by a key holder."""
    from wagtail_correspondence.services import audit

    keys(OLD)
    entries = write(group, 4)
    before = audit.write_checkpoint()
    keys(NEW, OLD)
    rekey()
    ring = keys(NEW)
    edit_and_rechain(entries[1], key=ring.first, data={"step": "rewritten"})
    with pytest.raises(audit.AuditChainBroken) as broken:
        audit.verify()
    assert before.when in str(broken.value) and f"audit link #{before.sequence} " in str(broken.value)


def test_the_rekey_refuses_a_tampered_log_and_logs_the_refusal(keys, group):
    from wagtail_correspondence.services import audit

    old = keys(OLD).first
    entries = write(group, 4)
    ModelLogEntry.objects.filter(pk=entries[1].pk).update(data={"step": "edited"})
    keys(NEW, OLD)
    with pytest.raises(CommandError, match="Refused: the audit log is NOT intact: .*log entry .*edited"):
        rekey()
    assert sealed_with(entries) == {old.id}  # nothing re-sealed
    refused = ModelLogEntry.objects.get(action=log_actions.AUDIT_REKEY_REFUSED)
    assert "edited" in refused.data["reason"]
    with pytest.raises(audit.AuditChainBroken):
        audit.verify()


def test_the_rekey_refuses_a_log_recomputed_by_a_key_holder(keys, group):
    from wagtail_correspondence.services import audit

    old = keys(OLD).first
    entries = write(group, 4)
    audit.write_checkpoint()
    edit_and_rechain(entries[0], key=old, data={"step": "rewritten"})
    keys(NEW, OLD)
    with pytest.raises(CommandError, match="recomputed after that checkpoint"):
        rekey()
    assert sealed_with(entries) == {old.id}
    assert audit.read_checkpoints(keys(NEW, OLD))[-1].kind == "checkpoint"  # no re-key checkpoint


def test_a_change_between_the_check_and_the_re_sealing_is_refused_too(keys, group, monkeypatch):
    from wagtail_correspondence.services import audit_rekey

    old = keys(OLD).first
    entries = write(group, 4)
    keys(NEW, OLD)
    checked = audit_rekey.verify

    def check_then_edit(**options):
        result = checked(**options)
        ModelLogEntry.objects.filter(pk=entries[2].pk).update(data={"step": "edited meanwhile"})
        return result

    monkeypatch.setattr(audit_rekey, "verify", check_then_edit)
    with pytest.raises(CommandError, match="edited .*found while re-sealing"):
        rekey()
    assert sealed_with(entries[2:]) == {old.id}
    assert ModelLogEntry.objects.filter(action=log_actions.AUDIT_REKEY_REFUSED).count() == 1
    assert not ModelLogEntry.objects.filter(action=log_actions.AUDIT_REKEYED).exists()


def test_seals_made_with_the_development_key_move_to_a_configured_one(keys, group):
    from wagtail_correspondence.services import audit

    development = keys().first  # no keys configured: derived from SECRET_KEY
    assert development.development
    write(group, 3)
    configured = keys(NEW).first
    with pytest.raises(audit.AuditChainBroken, match="development key derived from SECRET_KEY"):
        audit.verify()
    output = rekey("--from-development-key")
    assert f"retired keys: {development.id}" in output
    assert key_ids() == {configured.id}
    assert audit.verify().entries == 4  # with the re-key's own entry


def unkey_all():
    """The chain as migration 0013 left it: SHA-256 links, no seals."""
    AuditSeal.objects.update(key_id="", mac="")
    AuditChainHead.objects.update(key_id="", mac="")


def run_migration_0019():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("wagtail_correspondence.migrations.0019_audit_keyed_seals")
    migration.key_existing_seals(apps, types.SimpleNamespace(connection=connection))


def test_migration_0019_keys_an_intact_old_chain(keys, group):
    from wagtail_correspondence.services import audit

    key = keys(NEW).first
    write(group, 5)
    unkey_all()
    with pytest.raises(audit.AuditChainBroken, match="audit link #1 .*has no keyed seal"):
        audit.verify()
    run_migration_0019()
    assert key_ids() == {key.id} and AuditChainHead.objects.get().key_id == key.id
    assert audit.verify().entries == 5


def test_migration_0019_leaves_a_broken_old_chain_broken(keys, group, capsys):
    """A key never vouches for a break made before it: links from the break on stay unsealed,
    and verify still names the edited entry."""
    from wagtail_correspondence.services import audit

    key = keys(NEW).first
    entries = write(group, 5)
    unkey_all()
    ModelLogEntry.objects.filter(pk=entries[2].pk).update(data={"step": "edited before keys"})
    run_migration_0019()
    assert list(AuditSeal.objects.order_by("sequence").values_list("key_id", flat=True)) == [key.id] * 2 + [""] * 3
    assert AuditChainHead.objects.get().mac == ""
    assert "already broken before keyed seals (link #3: its log entry was edited)" in capsys.readouterr().out
    with pytest.raises(audit.AuditChainBroken, match=f"log entry {entries[2].pk}\\): the log entry was edited"):
        audit.verify()


@pytest.mark.migrations
@pytest.mark.django_db(transaction=True)
def test_the_real_migrations_seal_an_existing_log_with_the_configured_key(tmp_path):
    """An installation upgraded with entries written before the chain existed: 0013 chains them,
    0019 seals them with CORRESPONDENCE_AUDIT_KEYS."""
    database = tmp_path / "upgrade.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev",
           "PRIVATE_STORAGE_ROOT": str(tmp_path), "CORRESPONDENCE_AUDIT_KEYS": NEW}
    manage = [sys.executable, str(ROOT / "site" / "manage.py")]

    def run(*args):
        return subprocess.run(manage + list(args), env=env, capture_output=True, text=True, cwd=ROOT, check=True,
                              timeout=600)

    run("migrate", "wagtail_correspondence", "0012", "--noinput", "-v0")
    # bulk_create sends no post_save: entries as they were before the chain (no seal table yet).
    run("shell", "-c", "from django.contrib.auth.models import Group; from django.contrib.contenttypes.models import "
                       "ContentType; from django.utils import timezone; from wagtail.models import ModelLogEntry; "
                       "group = Group.objects.create(name='Old'); "
                       "ModelLogEntry.objects.bulk_create([ModelLogEntry(content_type=ContentType.objects."
                       "get_for_model(Group), object_id=str(group.pk), label='Old', action='wagtail.edit', "
                       "timestamp=timezone.now(), data={'step': step}) for step in range(4)])")
    run("migrate", "--noinput", "-v0")
    result = run("correspondence_verify_audit")
    assert "intact: 4 entries" in result.stdout
    keyed = run("shell", "-c", "from wagtail_correspondence.models import AuditSeal; "
                               "print(sorted(set(AuditSeal.objects.values_list('key_id', flat=True))))")
    from wagtail_correspondence.audit_keys import AuditKey, key_id, parse_key

    assert keyed.stdout.strip().splitlines()[-1] == str([AuditKey(key_id(parse_key(NEW))).id])


def test_keys_are_checked_and_named_never_shown(keys, settings):
    from django.core.checks import run_checks

    with pytest.raises(ImproperlyConfigured, match=r"AUDIT_KEYS.*a key has only 9 bytes"):
        keys("c2hvcnQta2V5")
    with pytest.raises(ImproperlyConfigured, match="AUDIT_KEYS.*other than url-safe base64"):
        keys("not a key at all, no!" * 3)
    with pytest.raises(ImproperlyConfigured, match="the same key twice"):
        keys(NEW, NEW)
    assert "wagtail_correspondence.E020" in {message.id for message in run_checks()}
    keys()
    deploy = {message.id for message in run_checks(include_deployment_checks=True)}
    assert {"wagtail_correspondence.W020", "wagtail_correspondence.W021"} <= deploy
    ring = keys(NEW, OLD)
    assert len(ring.first.id) == 16 and NEW not in repr(ring.first) and ring.first.id not in (NEW, OLD)
    assert "wagtail_correspondence.W020" not in {message.id for message in run_checks(include_deployment_checks=True)}
