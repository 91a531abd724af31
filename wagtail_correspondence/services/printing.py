"""Print runs: the print dispatches waiting in the outbox go out together, in one merged PDF
with a manifest, merged by a background task while the page shows its progress.

``start_print_run`` reserves the waiting dispatches for a new run (``Dispatch.print_run``;
they stay ``queued``) and hands the run to a worker after the commit. ``execute_print_run``
is the task's work; it is safe to run twice and to resume after a worker died:

- a worker takes the run with a conditional update (queued, or running with an expired
  lease), so two tasks never merge the same run at once; it renews the lease as letters are
  merged, and the recovery job (``resume_stale_print_runs``) gives a run whose lease expired
  to a new task;
- the files go to the run's own folder under fixed names, the JSON manifest last: a worker
  that finds the manifest written records the run as done without writing anything, and one
  that finds a partial folder writes it again over itself. The print room takes a folder
  whose manifest is there, so each letter is printed once (at most once, as every channel);
- only then are the dispatches marked ``sent``, in one transaction with the run.

A run that fails (a PDF that does not match its SHA-256, a storage error) gives its letters
back to the outbox for the next run. ``build_print_run`` does all of it at once, for the
command line."""

import datetime
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..delivery.base import get_channel
from ..models import Dispatch, DispatchStatus, PrintRun, PrintRunStatus
from .register_links import sync_delivery

logger = logging.getLogger(__name__)

PRINT = "print"
SEND_PRINT_RUNS = "wagtail_correspondence.add_printrun"
# How often a worker records its progress (and renews its lease): every this many letters,
# or sooner when a tenth of the lease has passed.
PROGRESS_EVERY = 25


class PrintRunFailed(Exception):
    pass


def can_send_print_runs(user):
    return user.is_active and user.has_perm(SEND_PRINT_RUNS)


def lease_seconds():
    return float(get_setting("BACKGROUND")["LEASE_SECONDS"])


def waiting_for_print():
    """Print dispatches no run has taken yet."""
    return Dispatch.objects.filter(channel=PRINT, status=DispatchStatus.QUEUED, print_run__isnull=True)


def claimable_for_print(limit):
    """The waiting print dispatches, locked, in reference order. Locks the dispatches' rows
    only, not their letters' (which other work may hold)."""
    return (waiting_for_print().select_for_update(skip_locked=True, of=("self",)).select_related("letter")
            .order_by("letter__reference")[:limit])


def start_print_run(user=None, limit=2000, enqueue=True):
    """Reserve the waiting print dispatches for a new run, queued for a worker once this
    commits. Returns the run, or None when no letter waits."""
    channel = get_channel(PRINT)
    now = timezone.now()
    with transaction.atomic():
        claimed = [dispatch.pk for dispatch in claimable_for_print(limit)]
        if not claimed:
            return None
        run = PrintRun.objects.create(
            created_by=user, status=PrintRunStatus.QUEUED, letter_count=len(claimed), duplex=channel.duplex,
            lease_expires_at=now + datetime.timedelta(seconds=lease_seconds()))
        Dispatch.objects.filter(pk__in=claimed).update(print_run=run, updated_at=now)
        if enqueue:
            transaction.on_commit(lambda: enqueue_print_run(run.pk))
    return run


def enqueue_print_run(run_id):
    """Hand a run to the task queue (or, if it cannot be reached, to the recovery job)."""
    from .. import tasks
    from .batch_leases import enqueue_recorded

    return enqueue_recorded(tasks.print_run_task, PrintRun, run_id, "print run")


def _take(run_id, worker_id, task_id):
    now = timezone.now()
    values = {"status": PrintRunStatus.RUNNING, "worker_id": worker_id[:100],
              "lease_expires_at": now + datetime.timedelta(seconds=lease_seconds())}
    if task_id:
        values["task_id"] = str(task_id)[:64]
    taken = PrintRun.objects.filter(pk=run_id).filter(
        Q(status=PrintRunStatus.QUEUED) | Q(status=PrintRunStatus.RUNNING, lease_expires_at__lte=now)).update(**values)
    if taken:
        PrintRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=now)
    return bool(taken)


class _Progress:
    """Records the letters merged so far, and renews the lease, now and then."""

    def __init__(self, run):
        self.run = run
        self.recorded = 0
        self.at = timezone.now()

    def __call__(self, merged):
        now = timezone.now()
        if merged - self.recorded < PROGRESS_EVERY and (now - self.at).total_seconds() < lease_seconds() / 10:
            return
        self.recorded, self.at = merged, now
        PrintRun.objects.filter(pk=self.run.pk, status=PrintRunStatus.RUNNING).update(
            letters_merged=merged, lease_expires_at=now + datetime.timedelta(seconds=lease_seconds()))


def execute_print_run(run_id, worker_id="", task_id=""):
    """Merge, write and record one run (the task's work). Returns the run's status."""
    if not _take(run_id, worker_id or "worker", task_id):
        return PrintRun.objects.filter(pk=run_id).values_list("status", flat=True).first() or "gone"
    run = PrintRun.objects.get(pk=run_id)
    channel = get_channel(PRINT)
    dispatches = list(run.dispatches.filter(status=DispatchStatus.QUEUED).select_related("letter")
                      .order_by("letter__reference"))
    try:
        rows = channel.written(run.folder)
        if rows is None:
            if not dispatches:
                raise ValueError(_("none of its letters waits for print any more"))
            merged, rows = channel.merge([dispatch.letter for dispatch in dispatches], progress=_Progress(run))
            channel.write(run.folder, merged, rows)
        sha256 = channel.pdf_sha256(run.folder)
    except (OSError, ValueError) as exc:
        fail_print_run(run, str(exc))
        return PrintRunStatus.FAILED
    _finish(run, channel, dispatches, rows, sha256)
    return PrintRunStatus.DONE


def _finish(run, channel, dispatches, rows, sha256):
    paths = channel.paths(run.folder)
    by_reference = {dispatch.letter.reference: dispatch for dispatch in dispatches}
    now = timezone.now()
    with transaction.atomic():
        PrintRun.objects.filter(pk=run.pk).update(
            status=PrintRunStatus.DONE, pdf_path=paths["pdf"], manifest_path=paths["manifest"], pdf_sha256=sha256,
            letter_count=len(rows), letters_merged=len(rows), page_count=sum(row["pages"] for row in rows),
            sheet_count=sum(row["sheets"] for row in rows), finished_at=now, lease_expires_at=None, error="")
        for row in rows:
            dispatch = by_reference.get(row["reference"])
            if dispatch is None:
                continue  # recorded by an earlier worker on this run
            updated = Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.QUEUED, print_run=run).update(
                status=DispatchStatus.SENT, sent_at=now, attempts=dispatch.attempts + 1,
                provider_message_id=f"{run.uuid}#{row['first_page']}", last_error="", updated_at=now)
            if not updated:
                continue
            log(dispatch.letter, log_actions.LETTER_DISPATCHED, user=run.created_by, data={
                "reference": dispatch.letter.reference, "channel": PRINT, "recipient": dispatch.recipient,
                "attempts": dispatch.attempts + 1, "status": DispatchStatus.SENT, "error": "",
                "print_run": str(run.uuid)})
            sync_delivery(dispatch.letter)


def fail_print_run(run, error):
    """Nothing reached the print room: the run failed, its letters wait for the next one."""
    now = timezone.now()
    with transaction.atomic():
        PrintRun.objects.filter(pk=run.pk).update(status=PrintRunStatus.FAILED, error=error[:2000], finished_at=now,
                                                  lease_expires_at=None)
        Dispatch.objects.filter(print_run=run, status=DispatchStatus.QUEUED).update(
            print_run=None, last_error=f"print run failed: {error}"[:2000], updated_at=now)
    logger.error("Print run %s failed: %s", run.uuid, error)


def build_print_run(user=None, limit=2000):
    """Send the waiting print dispatches as one run, here and now (the command line).
    Returns the PrintRun, or None; raises PrintRunFailed when the run failed."""
    run = start_print_run(user=user, limit=limit, enqueue=False)
    if run is None:
        return None
    execute_print_run(run.pk, worker_id="command")
    run.refresh_from_db()
    if run.status == PrintRunStatus.FAILED:
        raise PrintRunFailed(run.error)
    return run


# Recovery --------------------------------------------------------------------------------

def resume_stale_print_runs(now=None):
    """Runs whose lease expired (their worker died, or their task was lost): queued again for
    a new task, or failed after MAX_AUTO_RESUMES. Returns (resumed, failed) run ids."""
    from .batch_leases import mark_lost, stale_leased

    now = now or timezone.now()
    resumed, failed = [], []
    for run in stale_leased(PrintRun, now):
        mark_lost([run.task_id], f"the worker ({run.worker_id or 'unknown'}) stopped working on print run {run.uuid}",
                  now)
        if run.resumes >= int(get_setting("BACKGROUND")["MAX_AUTO_RESUMES"]):
            fail_print_run(run, _("its workers stopped %(count)s times without finishing it") % {
                "count": run.resumes})
            failed.append(run.pk)
            continue
        updated = PrintRun.objects.filter(pk=run.pk, status=run.status, lease_expires_at=run.lease_expires_at).update(
            status=PrintRunStatus.QUEUED, task_id="", resumes=run.resumes + 1,
            lease_expires_at=now + datetime.timedelta(seconds=lease_seconds()))
        if updated:
            enqueue_print_run(run.pk)
            resumed.append(run.pk)
    return resumed, failed
