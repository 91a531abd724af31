"""Reference numbers under real concurrency, on PostgreSQL: many threads, each with its own
connection and transaction, never get the same number and leave no gap."""

import threading

import pytest
from django.db import connections, transaction

from wagtail_correspondence.models import ReferenceSequence
from wagtail_correspondence.services.numbering import next_reference

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgres"])

DB = "postgres"
THREADS = 8
PER_THREAD = 25


def take_numbers(pattern, count, results, errors, barrier, rollback_every=0):
    try:
        barrier.wait()  # start together, to collide as much as possible
        for attempt in range(count):
            try:
                with transaction.atomic(using=DB):
                    reference = next_reference(pattern, using=DB)
                    if rollback_every and attempt % rollback_every == 0:
                        raise RuntimeError("the record failed to save")
                results.append(reference)
            except RuntimeError:
                pass
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        connections.close_all()


def run_threads(pattern, rollback_every=0):
    results, errors = [], []
    barrier = threading.Barrier(THREADS)
    threads = [threading.Thread(target=take_numbers, args=(pattern, PER_THREAD, results, errors, barrier,
                                                           rollback_every)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_the_test_runs_on_postgresql():
    assert connections[DB].vendor == "postgresql"


def test_concurrent_writers_get_unique_consecutive_numbers():
    results = run_threads("OUT-{year}-{seq:06}")
    assert len(results) == THREADS * PER_THREAD
    assert len(set(results)) == len(results), "duplicate reference numbers"
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for reference in results)
    assert numbers == list(range(1, THREADS * PER_THREAD + 1))  # no gaps either
    assert ReferenceSequence.objects.using(DB).get(prefix__startswith="OUT-").last_value == THREADS * PER_THREAD


def test_rolled_back_transactions_give_their_numbers_back():
    results = run_threads("RB-{year}-{seq:04}", rollback_every=5)
    committed = THREADS * (PER_THREAD - len(range(0, PER_THREAD, 5)))
    assert len(results) == len(set(results)) == committed
    assert sorted(int(reference.rsplit("-", 1)[1]) for reference in results) == list(range(1, committed + 1))


def test_a_number_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        next_reference("OUT-{seq}", using=DB)


def write_log_entries(count, errors, barrier, content_type_id, object_id):
    from django.utils import timezone
    from wagtail.models import ModelLogEntry

    from wagtail_correspondence.models import AuditSeal
    from wagtail_correspondence.services import audit

    try:
        barrier.wait()
        for step in range(count):
            with transaction.atomic(using=DB):
                # Inserted directly (a log entry's own validation reads the default database)
                # and sealed as the post_save receiver does, in the same transaction.
                [entry] = ModelLogEntry.objects.using(DB).bulk_create([ModelLogEntry(
                    content_type_id=content_type_id, object_id=object_id, label="Audited in parallel",
                    action="wagtail.edit", data={"step": step}, timestamp=timezone.now())])
                audit.seal(AuditSeal.MODEL, entry, using=DB)
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        connections.close_all()


def test_concurrent_log_writers_leave_one_unbroken_audit_chain():
    """Each log entry's seal is added under the chain head's lock: writers in parallel still
    make one chain, numbered without gaps, that verifies."""
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from wagtail_correspondence.models import AuditSeal
    from wagtail_correspondence.services import audit

    group = Group.objects.using(DB).create(name="Audited in parallel")
    content_type = ContentType.objects.db_manager(DB).get_for_model(Group)
    errors, barrier = [], threading.Barrier(THREADS)
    threads = [threading.Thread(target=write_log_entries, args=(PER_THREAD, errors, barrier, content_type.pk,
                                                                str(group.pk))) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    sequences = list(AuditSeal.objects.using(DB).order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, THREADS * PER_THREAD + 1))
    assert audit.verify(using=DB).entries == THREADS * PER_THREAD
