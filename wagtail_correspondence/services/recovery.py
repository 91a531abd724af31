"""Recovery of work whose worker died: the scheduler's ``recovery`` job (``recover``).

- Batches being checked or run whose lease expired are resumed (services.batch_leases);
  one whose workers keep dying without progress is stopped as failed, for a person.
- Tasks of this app that the task table (django-tasks-db) still calls RUNNING although
  their worker is gone are marked failed (``WorkerLost``), so the table tells the truth. A
  batch task is judged by its batch's lease; any other task by its age (TASK_STALE_AFTER):
  its work is redone by the periodic sweeps (the outbox's ``process_due``, the SLA sweep),
  so it is not re-enqueued.
- Print runs whose lease expired (their worker died mid-merge) are queued again for a new
  task, which finishes them without printing anything twice (services.printing).
- Background register exports whose lease expired are queued again; a new task writes the
  file from the start (services.register_exports).
- Dispatches left ``sending`` are never resent (at most once, see services.dispatch), but
  each is marked once as "outcome unknown" on the letter and in its history, and counted.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..models import BatchLease, Dispatch, DispatchStatus, PrintRun, RegisterExport
from . import batch_leases
from .dispatch import stale_dispatches
from .printing import resume_stale_print_runs
from .register_exports import resume_stale_exports

logger = logging.getLogger(__name__)

TASKS_MODULE = "wagtail_correspondence.tasks."
BATCH_TASKS = {f"{TASKS_MODULE}run_batch_task", f"{TASKS_MODULE}check_batch_task", f"{TASKS_MODULE}run_chunk_task"}
PRINT_RUN_TASK = f"{TASKS_MODULE}print_run_task"
EXPORT_TASK = f"{TASKS_MODULE}register_export_task"
UNKNOWN_OUTCOME = "outcome unknown"


@dataclass
class RecoverySummary:
    resumed: list = field(default_factory=list)   # batch ids
    stopped: list = field(default_factory=list)
    queued: list = field(default_factory=list)    # stale lease, but the task still waits for a worker
    print_runs_resumed: list = field(default_factory=list)
    print_runs_failed: list = field(default_factory=list)
    exports_resumed: list = field(default_factory=list)
    exports_failed: list = field(default_factory=list)
    tasks_lost: int = 0
    dispatches_unknown: int = 0                   # newly marked this pass

    def __str__(self):
        parts = [f"{len(self.resumed)} batches resumed", f"{len(self.stopped)} stopped",
                 f"{len(self.queued)} waiting for a worker", f"{len(self.print_runs_resumed)} print runs resumed",
                 f"{len(self.print_runs_failed)} print runs failed", f"{len(self.exports_resumed)} exports resumed",
                 f"{len(self.exports_failed)} exports failed", f"{self.tasks_lost} lost tasks marked failed",
                 f"{self.dispatches_unknown} dispatches with an unknown outcome"]
        return ", ".join(parts)


def recover(now=None):
    now = now or timezone.now()
    summary = RecoverySummary()
    for batch_id in list(batch_leases.stale_candidates(now)):
        try:
            outcome = batch_leases.resume_if_stale(batch_id, now)
        except Exception:  # one batch must not keep the others (and the tasks) from recovery
            logger.exception("Could not recover batch %s", batch_id)
            continue
        if outcome == "resumed":
            summary.resumed.append(batch_id)
            logger.warning("Batch %s: its worker stopped; resumed", batch_id)
        elif outcome == "stopped":
            summary.stopped.append(batch_id)
            logger.error("Batch %s: stopped after repeated worker losses without progress", batch_id)
        elif outcome == "queued":
            summary.queued.append(batch_id)
            logger.warning("Batch %s waits in the task queue: is a worker running?", batch_id)
    try:
        summary.print_runs_resumed, summary.print_runs_failed = resume_stale_print_runs(now)
    except Exception:  # print runs must not keep the tasks and dispatches from recovery
        logger.exception("Could not recover print runs")
    try:
        summary.exports_resumed, summary.exports_failed = resume_stale_exports(now)
    except Exception:  # nor must exports
        logger.exception("Could not recover register exports")
    summary.tasks_lost = fail_lost_tasks(now)
    summary.dispatches_unknown = mark_unknown_outcomes(now)
    return summary


def fail_lost_tasks(now=None):
    """Mark this app's RUNNING task results whose worker is gone as failed. Returns how many."""
    if not apps.is_installed("django_tasks_db"):
        return 0
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    policy = get_setting("BACKGROUND")
    lease_limit = now - datetime.timedelta(seconds=batch_leases.lease_seconds())
    age_limit = now - datetime.timedelta(seconds=float(policy["TASK_STALE_AFTER"]))
    running = (DBTaskResult.objects.filter(status="RUNNING", task_path__startswith=TASKS_MODULE)
               .only("id", "task_path", "args_kwargs", "started_at", "worker_ids"))
    lost = []
    for result in running.iterator():
        started = result.started_at or now
        if result.task_path in BATCH_TASKS:
            # Alive while its batch's lease is (whichever worker on the batch renewed it).
            batch_id = ((result.args_kwargs or {}).get("args") or [None])[0]
            alive = BatchLease.objects.filter(batch_id=batch_id, expires_at__gt=now).exists()
            if not alive and started < lease_limit:
                lost.append((result.id, "its batch's lease expired"))
        elif result.task_path == PRINT_RUN_TASK:
            run_id = ((result.args_kwargs or {}).get("args") or [None])[0]
            alive = PrintRun.objects.filter(pk=run_id, lease_expires_at__gt=now).exists()
            if not alive and started < lease_limit:
                lost.append((result.id, "its print run's lease expired"))
        elif result.task_path == EXPORT_TASK:
            # A million entries take minutes: alive while the export's lease is renewed.
            export_id = ((result.args_kwargs or {}).get("args") or [None])[0]
            alive = RegisterExport.objects.filter(pk=export_id, lease_expires_at__gt=now).exists()
            if not alive and started < lease_limit:
                lost.append((result.id, "its export's lease expired"))
        elif started < age_limit:
            lost.append((result.id, f"still running after {policy['TASK_STALE_AFTER']} s"))
    count = 0
    for task_id, why in lost:
        count += batch_leases.mark_lost([task_id], f"the worker stopped: {why}", now)
    if count:
        logger.warning("%s tasks whose worker stopped were marked failed", count)
    return count


def mark_unknown_outcomes(now=None):
    """Dispatches left ``sending`` by a worker that stopped: marked "outcome unknown" once,
    on the dispatch (shown on the letter) and in the letter's history. Never resent."""
    marked = 0
    for dispatch in (stale_dispatches(now).exclude(last_error__contains=UNKNOWN_OUTCOME)
                     .select_related("letter").order_by("pk")):
        message = (f"{UNKNOWN_OUTCOME}: the worker stopped while sending (claimed {dispatch.claimed_at:%Y-%m-%d %H:%M:%S} "
                   "UTC); not resent automatically. Check with the provider whether it arrived, then send it again by "
                   "hand if it did not.")
        with transaction.atomic():
            updated = Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.SENDING).exclude(
                last_error__contains=UNKNOWN_OUTCOME).update(last_error=message)
            if updated:
                dispatch.last_error = message
                log(dispatch.letter, log_actions.LETTER_DISPATCH_FAILED, data={
                    "reference": dispatch.letter.reference, "channel": dispatch.channel,
                    "recipient": dispatch.recipient, "attempts": dispatch.attempts, "status": dispatch.status,
                    "error": message})
                marked += updated
    if marked:
        logger.warning("%s dispatches were left sending by a stopped worker: outcome unknown, not resent", marked)
    return marked


def unknown_outcomes():
    """Dispatches whose outcome is unknown (left sending by a stopped worker, or the provider
    did not answer): for people to check. Never resent automatically."""
    return Dispatch.objects.filter(status=DispatchStatus.SENDING, last_error__contains=UNKNOWN_OUTCOME)
