"""Batch leases: whether a batch is being worked on, and how it is taken over when not.

A batch that is checked or run has a lease (models.BatchLease). It is given LEASE_SECONDS
when its task is enqueued, for a worker to pick it up; the worker takes it when the task
starts and renews it as rows complete. While the lease lies ahead the batch is *alive*. Once
it has expired, a task still waiting in the queue is waited for (*queued*); anything else is
*stale*: the worker died (``kill -9``, out of memory, the machine went away) or its task
ended without finishing the batch. A stale batch is restarted: the old task, if the task
table still calls it running, is marked failed, and a new task is enqueued; the rows already
generated are skipped, and a row that was mid-transaction when the worker died was rolled
back with it, so it is generated once.

Restarting a batch that is in fact alive (a row slower than the lease) is harmless: the two
tasks share the rows under row locks. The lease only decides when to take over, never
whether a row is generated twice.
"""

import datetime
import enum
import logging
import os
import socket
import time
import uuid

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..models import BatchChunk, BatchLease, BatchStatus, LetterBatch

logger = logging.getLogger(__name__)

ACTIVE = (BatchStatus.CHECKING, BatchStatus.RUNNING)
WORKER_LOST = "wagtail_correspondence.services.batch_leases.WorkerLost"


class WorkerLost(Exception):
    """What the task table records for a task whose worker stopped without finishing it."""


class Liveness(enum.Enum):
    ALIVE = "alive"    # the lease lies ahead: a worker renewed it recently, or the task was just enqueued
    QUEUED = "queued"  # the lease expired but the task still waits in the queue for a worker
    STALE = "stale"    # nobody works on it: it can be resumed


def lease_seconds():
    return float(get_setting("BACKGROUND")["LEASE_SECONDS"])


def default_worker_id():
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


# The task table ------------------------------------------------------------------------

def task_status(task_id):
    """The status name of a background task (READY, RUNNING, SUCCESSFUL, FAILED), or None
    when the backend cannot tell (no id, no stored results, result gone)."""
    from .. import tasks

    if not task_id:
        return None
    backend = tasks.run_batch_task.get_backend()
    if not backend.supports_get_result:
        return None
    try:
        return str(backend.get_result(task_id).status)
    except Exception:  # unknown id, or the backend is unreachable: cannot tell
        return None


def enqueue_recorded(task, model, row_id, what):
    """Hand the row ``row_id`` of ``model`` (a print run, a register export) to ``task`` and
    record the task's id on the row (``task_id``). A queue that cannot be reached leaves the row
    to the recovery job, which tries again once its lease has expired."""
    try:
        result = task.enqueue(row_id)
    except Exception:
        logger.exception("Could not enqueue %s %s; the recovery job will try again", what, row_id)
        return None
    # The immediate backend has run it already; never overwrite a newer task's id.
    model.objects.filter(pk=row_id, task_id="").update(task_id=str(result.id)[:64])
    return result


def stale_leased(model, now):
    """Rows of ``model`` (print runs, register exports: ``ACTIVE`` statuses, a
    ``lease_expires_at``, a ``task_id``) whose lease expired and whose task does not wait in
    the queue: their worker died, or their task was lost. Oldest first."""
    stale = model.objects.filter(status__in=model.ACTIVE).filter(
        Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True))
    for row in stale.order_by("pk"):
        if row.status == "queued" and task_status(row.task_id) == "READY":
            continue  # still waiting for a worker to pick it up
        yield row


def mark_lost(task_ids, reason, now=None):
    """Mark tasks of the database backend that it still calls RUNNING as failed, with
    ``WorkerLost`` and the reason, so that the task table tells the truth. Returns how many.
    (A worker that was only slow and finishes after all records its result over this.)"""
    if not apps.is_installed("django_tasks_db"):
        return 0
    from django_tasks_db.models import DBTaskResult

    ids = []
    for task_id in task_ids:
        try:
            ids.append(uuid.UUID(str(task_id)))
        except ValueError:
            continue  # empty, or the id of another backend
    if not ids:
        return 0
    return DBTaskResult.objects.filter(id__in=ids, status="RUNNING").update(
        status="FAILED", finished_at=now or timezone.now(), exception_class_path=WORKER_LOST,
        traceback=f"{WORKER_LOST.rsplit('.', 1)[1]}: {reason}\n", return_value=None)


# Keeping a lease -----------------------------------------------------------------------

def prepare(batch, now=None, resumes=0):
    """Give a batch whose task is about to be enqueued LEASE_SECONDS to be picked up."""
    now = now or timezone.now()
    BatchLease.objects.update_or_create(batch_id=batch.pk, defaults={
        "task_id": "", "worker_id": "", "acquired_at": None, "renewed_at": None,
        "expires_at": now + datetime.timedelta(seconds=lease_seconds()), "resumes": resumes})


class LeaseKeeper:
    """Held by a task working on a batch: takes the lease when the task starts, renews it as
    rows complete (at most every LEASE_SECONDS / 6, so the lease costs one small write per
    few rows), and releases it when the batch is done. Renewals are statements of their own,
    outside the rows' transactions: they never wait for a row lock, nor hold one."""

    def __init__(self, batch_id, worker_id="", task_id=""):
        self.batch_id = batch_id
        self.worker_id = (worker_id or default_worker_id())[:100]
        self.task_id = str(task_id or "")[:64]
        self.seconds = lease_seconds()
        self.progress = 0
        self.renewals = 0
        self.last_renewal = None

    def _expiry(self, now):
        return now + datetime.timedelta(seconds=self.seconds)

    def take(self):
        now = timezone.now()
        values = {"worker_id": self.worker_id, "acquired_at": now, "renewed_at": now, "expires_at": self._expiry(now)}
        if self.task_id:
            values["task_id"] = self.task_id
        lease, created = BatchLease.objects.get_or_create(batch_id=self.batch_id, defaults=values)
        if not created:
            BatchLease.objects.filter(pk=lease.pk).update(**values)
        self.last_renewal = time.monotonic()

    def row_done(self, also=None):
        """A row is done; ``also`` is called with each renewal (a chunk's own lease)."""
        self.progress += 1
        if self.renewals == 0 or time.monotonic() - self.last_renewal >= self.seconds / 6:
            self.renew()  # the first row at once (it shows the worker got going), then now and then
            if also is not None:
                also()

    def flush(self):
        """The task returns before the batch is done: record the rows done since the last renewal."""
        if self.progress:
            self.renew()

    def renew(self):
        now = timezone.now()
        values = {"worker_id": self.worker_id, "renewed_at": now, "expires_at": self._expiry(now)}
        if self.progress:
            values["resumes"] = 0  # progress: the automatic resumes start counting again
        BatchLease.objects.filter(batch_id=self.batch_id).update(**values)
        self.progress = 0
        self.renewals += 1
        self.last_renewal = time.monotonic()

    def release(self):
        """The batch is finished: nothing to take over."""
        BatchLease.objects.filter(batch_id=self.batch_id).update(renewed_at=timezone.now(), expires_at=None)

    def abandon(self):
        """The task is stopping before the batch is done (the worker was told to stop): let
        the next recovery pass resume the batch at once rather than after the lease."""
        BatchLease.objects.filter(batch_id=self.batch_id, worker_id=self.worker_id).update(expires_at=timezone.now())


# Judging and restarting ----------------------------------------------------------------

def liveness(lease, now=None):
    now = now or timezone.now()
    if lease is not None and lease.expires_at is not None and lease.expires_at > now:
        return Liveness.ALIVE
    if lease is not None and task_status(lease.task_id) == "READY":
        return Liveness.QUEUED
    return Liveness.STALE


def describe(batch, lease, now=None):
    """The batch's worker as the batch page and the API show it."""
    now = now or timezone.now()
    if lease is None:
        return {"state": "idle" if batch.status not in ACTIVE else Liveness.STALE.value, "worker": "",
                "renewed_at": None, "expires_at": None, "automatic_resumes": 0}
    state = liveness(lease, now).value if batch.status in ACTIVE else "idle"
    return {"state": state, "worker": lease.worker_id, "renewed_at": lease.renewed_at,
            "expires_at": lease.expires_at, "automatic_resumes": lease.resumes}


def enqueue(batch_id, task_name):
    """Enqueue a batch's task after the commit and record its id on the lease. A queue that
    cannot be reached leaves the batch to the recovery job, which tries again."""
    from .. import tasks

    try:
        result = getattr(tasks, task_name).enqueue(batch_id)
    except Exception:
        logger.exception("Could not enqueue %s for batch %s; the recovery job will try again", task_name, batch_id)
        return None
    # A task that already ran (the immediate backend runs it inside enqueue()) recorded
    # itself; do not overwrite a newer task's id with this one.
    BatchLease.objects.filter(batch_id=batch_id, task_id="").update(task_id=str(result.id)[:64])
    return result


def restart(batch, lease, *, user=None, reason, now=None, chunks=None):
    """Take a stale or failed batch over: call its old task lost, put the batch back to
    work (checking if it never started, else running) and enqueue a new task after the
    commit. Runs inside the caller's transaction, with the batch row locked. The batch's
    chunks that nobody works on (``chunks``, else found here) are released, their tasks
    called lost: the new task, or any worker, redoes them with the numbers they reserved."""
    now = now or timezone.now()
    chunks = stale_chunks(batch.pk, now) if chunks is None else chunks
    previous = {"status": batch.status, "worker": lease.worker_id if lease else "",
                "task": lease.task_id if lease else ""}
    if chunks:  # the worker that died is the one that held a chunk
        previous.update(worker=chunks[0].worker_id, task=chunks[0].task_id)
        release_chunks(chunks, reason, now)
    if lease is not None and lease.task_id and (not chunks or lease.expires_at is None or lease.expires_at <= now):
        mark_lost([lease.task_id], f"the worker ({lease.worker_id or 'unknown'}) stopped working on batch "
                                   f"{batch.uuid} (last renewed {lease.renewed_at}); {reason}", now)
    if batch.status == BatchStatus.FAILED:
        batch.status = BatchStatus.RUNNING if batch.started_at else BatchStatus.CHECKING
        batch.finished_at = None
        batch.report = {key: value for key, value in (batch.report or {}).items() if key not in ("stopped", "fatal")}
        batch.save(update_fields=["status", "finished_at", "report"])
    automatic = user is None
    prepare(batch, now, resumes=(lease.resumes + 1 if lease is not None else 1) if automatic else 0)
    task_name = "check_batch_task" if batch.status == BatchStatus.CHECKING else "run_batch_task"
    log(batch, log_actions.BATCH_RESUMED, user=user, data={
        "batch": str(batch.uuid), "automatic": automatic, "reason": reason, "previous_status": previous["status"],
        "worker": previous["worker"], "task": previous["task"], "status": batch.status})
    transaction.on_commit(lambda: enqueue(batch.pk, task_name))
    return batch


def stop(batch, lease, now=None):
    """A batch whose workers keep dying without progress: failed, for a person to resume."""
    now = now or timezone.now()
    resumes = lease.resumes if lease is not None else 0
    message = _("Stopped after %(count)s automatic resumes without progress: its worker stops while working on it. "
                "Check the worker's log, then resume the batch by hand.") % {"count": resumes}
    if lease is not None:
        mark_lost([lease.task_id], f"batch {batch.uuid} stopped after {resumes} automatic resumes", now)
        BatchLease.objects.filter(pk=lease.pk).update(expires_at=None)
    batch.status, batch.finished_at = BatchStatus.FAILED, now
    batch.report = {**(batch.report or {}), "stopped": message}
    batch.save(update_fields=["status", "finished_at", "report"])
    log(batch, log_actions.BATCH_STOPPED, data={"batch": str(batch.uuid), "resumes": resumes, "reason": message,
                                                "worker": lease.worker_id if lease else ""})
    return batch


def resume_if_stale(batch_id, now=None):
    """The recovery job's step for one batch: "resumed", "stopped", "queued" or None (alive,
    or no longer checking or running)."""
    now = now or timezone.now()
    with transaction.atomic():
        batch = LetterBatch.objects.select_for_update(of=("self",)).filter(pk=batch_id, status__in=ACTIVE).first()
        if batch is None:
            return None
        lease = BatchLease.objects.select_for_update().filter(batch=batch).first()
        state = liveness(lease, now)
        if state is Liveness.ALIVE:
            # Other workers keep the batch alive, but one of its chunks lost its worker.
            chunks = stale_chunks(batch.pk, now) if batch.status == BatchStatus.RUNNING else []
            if not chunks:
                return None
            restart(batch, lease, reason=stale_reason(chunks, now), now=now, chunks=chunks)
            return "resumed"
        if state is Liveness.QUEUED:
            return "queued"
        if lease is not None and lease.resumes >= int(get_setting("BACKGROUND")["MAX_AUTO_RESUMES"]):
            stop(batch, lease, now)
            return "stopped"
        restart(batch, lease, reason=_("its lease expired (no row completed for %(seconds)s s)") % {
            "seconds": f"{lease_seconds():g}"}, now=now)
        return "resumed"


def stale_candidates(now=None):
    """Batches being checked or run whose lease has expired (or that have none), or with a
    chunk whose worker is gone."""
    from django.db.models import Q

    now = now or timezone.now()
    chunk_stale = Q(chunks__status="running") & (Q(chunks__expires_at__lte=now) | Q(chunks__expires_at__isnull=True)
                                                 | Q(chunks__host=_host()))
    return (LetterBatch.objects.filter(status__in=ACTIVE).filter(~Q(lease__expires_at__gt=now) | chunk_stale)
            .distinct().order_by("pk").values_list("pk", flat=True))


def _host():
    return HOST  # defined below, with the chunk leases


# Chunk leases -------------------------------------------------------------------------------
# A batch's chunks (services.batch_pipeline) are held by one worker each, with a lease of
# their own: who holds which chunk until when, and what to do when a holder is gone.

HOST = socket.gethostname()[:100]


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_gone(chunk, now=None):
    """Whether nobody works on a running chunk: its lease expired, or its worker's process,
    on this machine, is gone (killed). A released chunk (``worker_id`` and ``host`` empty)
    waits for anyone to take it."""
    now = now or timezone.now()
    if chunk.status != BatchChunk.RUNNING:
        return False
    if not chunk.host and not chunk.worker_id:
        return True
    if chunk.expires_at is None or chunk.expires_at <= now:
        return True
    return chunk.host == HOST and chunk.pid is not None and chunk.pid != os.getpid() and not _process_alive(chunk.pid)


def released(chunk):
    return not chunk.host and not chunk.worker_id


def stale_chunks(batch_id, now=None):
    """The batch's running chunks that nobody works on, not yet released."""
    now = now or timezone.now()
    return [chunk for chunk in BatchChunk.objects.filter(batch_id=batch_id, status=BatchChunk.RUNNING).order_by("pk")
            if holder_gone(chunk, now) and not released(chunk)]


def release_chunks(chunks, reason, now=None):
    """Let stale chunks be taken by anyone (their rows and numbers stay theirs); their tasks,
    if the task table still calls them running, are marked lost."""
    for chunk in chunks:
        if chunk.task_id:
            mark_lost([chunk.task_id], f"the worker ({chunk.worker_id or 'unknown'}) stopped while generating "
                                       f"chunk {chunk.pk}; {reason}", now)
    BatchChunk.objects.filter(pk__in=[chunk.pk for chunk in chunks], status=BatchChunk.RUNNING).update(
        worker_id="", task_id="", host="", pid=None, expires_at=None, token=uuid.uuid4())


class ChunkHolder:
    """A worker's hold on one chunk: its token, renewed with the batch's lease as rows render."""

    def __init__(self, chunk, keeper):
        self.chunk, self.keeper = chunk, keeper

    def renew(self):
        now = timezone.now()
        BatchChunk.objects.filter(pk=self.chunk.pk, token=self.chunk.token).update(
            expires_at=now + datetime.timedelta(seconds=lease_seconds()))

    def release(self):
        """The worker stops before writing the chunk (an error, SystemExit): anyone may redo it."""
        BatchChunk.objects.filter(pk=self.chunk.pk, token=self.chunk.token, status=BatchChunk.RUNNING).update(
            worker_id="", task_id="", host="", pid=None, expires_at=None, token=uuid.uuid4())


def hold(chunk, keeper, now):
    """``chunk`` held by this worker (``keeper``) from ``now`` on, with a new token."""
    chunk.token = uuid.uuid4()
    chunk.worker_id, chunk.task_id = keeper.worker_id, keeper.task_id
    chunk.host, chunk.pid = HOST, os.getpid()
    chunk.expires_at = now + datetime.timedelta(seconds=lease_seconds())


def stale_reason(chunks, now=None):
    now = now or timezone.now()
    chunk = chunks[0]
    if chunk.expires_at is not None and chunk.expires_at > now:
        return _("its worker's process (%(worker)s) is gone") % {"worker": chunk.worker_id or chunk.pid}
    return _("its lease expired (no row completed for %(seconds)s s)") % {
        "seconds": f"{lease_seconds():g}"}
