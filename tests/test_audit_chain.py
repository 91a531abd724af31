"""The audit log is append-only and hash-chained: every Wagtail log entry is sealed when it is
written, and `correspondence_verify_audit` names the first entry that was edited, deleted or
slipped in without a seal."""

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from wagtail_correspondence.models import AuditChainHead, AuditSeal
from wagtail_correspondence.services import audit

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(make_user):
    """Five log entries about a group, written as the product writes them."""
    user = make_user("clerk")
    group = Group.objects.create(name="Audited")
    return [log(group, "wagtail.edit", user=user, data={"step": step}) for step in range(5)]


def test_every_entry_is_sealed_and_chained(logged):
    seals = list(AuditSeal.objects.filter(log_model=AuditSeal.MODEL, log_id__in=[entry.pk for entry in logged]))
    assert len(seals) == 5
    for before, after in zip(seals, seals[1:]):
        assert after.sequence == before.sequence + 1 and after.previous_hash == before.entry_hash
    head = AuditChainHead.objects.get()
    assert head.sequence == AuditSeal.objects.count() and head.last_hash == AuditSeal.objects.last().entry_hash
    assert audit.verify().entries == AuditSeal.objects.count()
    out = io.StringIO()
    call_command("correspondence_verify_audit", stdout=out)
    assert "intact" in out.getvalue()


def test_an_edited_entry_is_named(logged):
    ModelLogEntry.objects.filter(pk=logged[2].pk).update(data={"step": 99})
    with pytest.raises(audit.AuditChainBroken, match=f"model log entry {logged[2].pk}\\).*edited"):
        audit.verify()
    with pytest.raises(CommandError, match=f"model log entry {logged[2].pk}"):
        call_command("correspondence_verify_audit")


def test_a_changed_timestamp_or_user_is_an_edit_too(logged, make_user):
    ModelLogEntry.objects.filter(pk=logged[1].pk).update(user=make_user("someone-else"))
    with pytest.raises(audit.AuditChainBroken, match=f"log entry {logged[1].pk}\\).*edited"):
        audit.verify()


def test_a_deleted_entry_is_named(logged):
    ModelLogEntry.objects.filter(pk=logged[3].pk).delete()
    with pytest.raises(audit.AuditChainBroken, match=f"log entry {logged[3].pk}\\).*deleted"):
        audit.verify()


def test_an_entry_slipped_in_without_a_seal_is_named(logged):
    # bulk_create sends no post_save: as if someone wrote into the table directly.
    sneaked = ModelLogEntry.objects.bulk_create([ModelLogEntry(
        content_type=logged[0].content_type, object_id=logged[0].object_id, label="x", action="wagtail.edit",
        timestamp=logged[0].timestamp, data={})])[0]
    with pytest.raises(audit.AuditChainBroken, match=f"log entry {sneaked.pk} is not in the audit chain"):
        audit.verify()


def test_a_rewritten_seal_or_a_cut_end_is_found(logged):
    last = AuditSeal.objects.last()
    AuditSeal.objects.filter(pk=last.pk).delete()
    ModelLogEntry.objects.filter(pk=logged[-1].pk).delete()
    with pytest.raises(audit.AuditChainBroken, match="end of the audit chain was cut"):
        audit.verify()


def test_a_recomputed_seal_does_not_hide_an_edit(logged):
    """Whoever edits an entry and recomputes its chain hash without the key breaks its seal."""
    ModelLogEntry.objects.filter(pk=logged[1].pk).update(data={"step": 42})
    entry = ModelLogEntry.objects.get(pk=logged[1].pk)
    seal = AuditSeal.objects.get(log_model=AuditSeal.MODEL, log_id=entry.pk)
    AuditSeal.objects.filter(pk=seal.pk).update(entry_hash=audit.link_hash(seal.previous_hash, "model", entry))
    with pytest.raises(audit.AuditChainBroken, match=f"#{seal.sequence} .*seal does not match"):
        audit.verify()


@pytest.mark.django_db(transaction=True)
def test_the_command_reads_the_database_of_database_url(tmp_path):
    database = tmp_path / "audit.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}",
           "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev", "PRIVATE_STORAGE_ROOT": str(tmp_path)}
    manage = [sys.executable, str(ROOT / "site" / "manage.py")]

    def run(*args, check=True):
        return subprocess.run(manage + list(args), env=env, capture_output=True, text=True, cwd=ROOT, check=check,
                              timeout=300)

    run("migrate", "--noinput", "-v0")
    run("shell", "-c", "from django.contrib.auth.models import Group; from wagtail.log_actions import log; "
                       "group = Group.objects.create(name='Audited'); "
                       "[log(group, 'wagtail.edit', data={'step': step}) for step in range(3)]")
    intact = run("correspondence_verify_audit")
    assert intact.returncode == 0 and "intact" in intact.stdout
    with sqlite3.connect(database) as connection:
        tampered = connection.execute("SELECT min(id) + 1 FROM wagtailcore_modellogentry").fetchone()[0]
        connection.execute("UPDATE wagtailcore_modellogentry SET data = '{\"step\": 7}' WHERE id = ?", (tampered,))
    broken = run("correspondence_verify_audit", check=False)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"model log entry {tampered})" in broken.stderr and "edited" in broken.stderr
