"""Exports of large register lists, written by a background task instead of the request.

A list of more than ``REGISTER["EXPORT_INLINE_LIMIT"]`` entries (or one too large or too slow
to count: ``register_access.capped_count`` says None or UNCOUNTED) is not exported during
the request: ``queue_export`` records a ``RegisterExport`` with the list's query string and
hands it to ``tasks.register_export_task`` once the request commits. The user follows it on
the Exports page and downloads the file there.

``run_export`` is the task's work. It checks again that the user is active and may export
(the file is theirs, written with their scope as it is now), then opens the same list as that
user through the admin's own list code, which reaches it through a port (``connect``, filled
from ``AppConfig.ready``: the register list lives in the admin layer above this one, see
docs/architecture.md, "Layers"). So the file holds the rows, columns and cells the inline
export of that list would give, the formula rule included (``exports.py``). Rows are read in
chunks and written to a temporary file, then stored in parts of ``PART_BYTES`` in the
register's private storage (an encrypting storage encrypts a whole file in memory, so a part
bounds what it holds). The export is audited as the inline one is, and each download too.

Only the user who asked may see or download an export (``permissions.register``), and only
while they still may export. Files are deleted ``REGISTER["EXPORT_KEEP_HOURS"]`` after they
are written (``delete_expired``, the scheduler's ``register-exports`` job); the row stays.
A worker that dies leaves the export to the recovery job (``resume_stale_exports``), which
queues it again, at most ``BACKGROUND["MAX_AUTO_RESUMES"]`` times.
"""

import datetime
import hashlib
import logging
import tempfile

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..models import RegisterExport, RegisterExportFormat, RegisterExportStatus
from ..models.attachments import register_storage
from . import register_access
from .batch_leases import enqueue_recorded, lease_seconds, mark_lost, stale_leased

logger = logging.getLogger(__name__)

# Query parameters of the list that do not choose its rows: the page, the export itself.
NOT_FILTERS = ("p", "export")
# Stored parts of a file: what one part costs in memory to write or to read back.
PART_BYTES = 8 * 1024 * 1024
# How often a running export records its rows (and renews its lease): every this many rows, or
# sooner when a tenth of the lease has passed.
PROGRESS_EVERY = 5000
STREAM_BYTES = 64 * 1024
CONTENT_TYPES = {RegisterExportFormat.CSV: "text/csv; charset=utf-8",
                 RegisterExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ExportUnavailable(Exception):
    """An export that cannot be downloaded (not written yet, failed, expired); the message says
    which, for the person who asked."""


# The port to the register list -------------------------------------------------------------

_list_writer = None


def connect(writer):
    """Called once, from ``AppConfig.ready``. ``writer(user, query_string, spreadsheet_format,
    output, progress)`` writes the register list ``user`` sees at ``query_string`` to the binary
    file ``output``, as the list's own export would, telling ``progress.counted(total)`` its
    size first and ``progress(rows)`` the rows written as it goes."""
    global _list_writer
    _list_writer = writer


def _writer():
    if _list_writer is None:
        raise ImproperlyConfigured("The register list is not connected to background exports: the app's "
                                   "AppConfig.ready() has not run (is wagtail_correspondence in INSTALLED_APPS?).")
    return _list_writer


# Asking for an export ------------------------------------------------------------------------

def inline_limit():
    return int(get_setting("REGISTER")["EXPORT_INLINE_LIMIT"])


def is_large(count):
    """Whether a list of ``count`` entries (``capped_count``'s answer) is exported in the
    background: above the inline limit, above the count's own limit (None) or too slow to
    count (UNCOUNTED)."""
    return count is None or count is register_access.UNCOUNTED or count > inline_limit()


def list_filters(query_string):
    """The list's query string without what does not choose rows (page, export format)."""
    params = QueryDict(query_string, mutable=True)
    for name in NOT_FILTERS:
        params.pop(name, None)
    return params.urlencode()


def queue_export(user, spreadsheet_format, query_string, list_title=""):
    """Record an export of the register list ``user`` sees at ``query_string`` and hand it to a
    worker once this commits. Refused (PermissionDenied) without the export permission."""
    register_access.require(register_access.can_export(user), _("You may not export the register."))
    if spreadsheet_format not in RegisterExportFormat.values:
        raise ValueError(f"Unknown export format {spreadsheet_format!r}")
    now = timezone.now()
    with transaction.atomic():
        export = RegisterExport.objects.create(
            requested_by=user, requested_at=now, format=spreadsheet_format, query_string=list_filters(query_string),
            list_title=str(list_title)[:100], lease_expires_at=now + datetime.timedelta(seconds=lease_seconds()))
        transaction.on_commit(lambda: enqueue_export(export.pk))
    return export


def enqueue_export(export_id):
    """Hand an export to the task queue (or, if it cannot be reached, to the recovery job)."""
    from .. import tasks

    return enqueue_recorded(tasks.register_export_task, RegisterExport, export_id, "register export")


def exports_of(user):
    """The user's own exports, newest first: nobody sees another's, whatever their role."""
    if not register_access.can_export(user):
        return RegisterExport.objects.none()
    return RegisterExport.objects.filter(requested_by=user)


# Writing it (the task) -------------------------------------------------------------------------

class _Progress:
    """Records the list's size and the rows written so far, renewing the lease, now and then."""

    def __init__(self, export, attempt):
        self.export, self.attempt = export, attempt
        self.rows, self.recorded, self.at = 0, 0, timezone.now()

    def _mine(self):
        return RegisterExport.objects.filter(pk=self.export.pk, attempts=self.attempt,
                                             status=RegisterExportStatus.RUNNING)

    def counted(self, total):
        self._mine().update(total_rows=total)

    def __call__(self, rows):
        self.rows = rows
        now = timezone.now()
        if rows - self.recorded < PROGRESS_EVERY and (now - self.at).total_seconds() < lease_seconds() / 10:
            return
        self.record(rows, now)

    def record(self, rows, now):
        self.recorded, self.at = rows, now
        self._mine().update(rows_written=rows, lease_expires_at=now + datetime.timedelta(seconds=lease_seconds()))


def _take(export_id, task_id):
    """The export, taken for this run (queued, or running with an expired lease); its attempt
    number, which every later write checks. None when another run holds it or it is over."""
    now = timezone.now()
    takeable = RegisterExport.objects.filter(pk=export_id).filter(
        Q(status=RegisterExportStatus.QUEUED)
        | Q(status=RegisterExportStatus.RUNNING, lease_expires_at__lte=now))
    export = takeable.first()
    if export is None:
        return None, 0
    attempt = export.attempts + 1
    values = {"status": RegisterExportStatus.RUNNING, "attempts": attempt, "rows_written": 0, "total_rows": None,
              "started_at": now, "lease_expires_at": now + datetime.timedelta(seconds=lease_seconds())}
    if task_id:
        values["task_id"] = str(task_id)[:64]
    if not takeable.filter(attempts=export.attempts).update(**values):
        return None, 0
    return RegisterExport.objects.select_related("requested_by").get(pk=export_id), attempt


def refusal(user):
    """Why ``user`` may not have a register export written now, or ""."""
    if not user.is_active:
        return _("%(user)s's account is no longer active, so the export was not written.") % {
            "user": user.get_username()}
    if not register_access.can_export(user):
        return _("%(user)s may no longer export the register, so the export was not written.") % {
            "user": user.get_username()}
    return ""


def run_export(export_id, worker_id="", task_id=""):
    """Write one export (the task's work). Returns its status. (``worker_id``: the tasks'
    common arguments; an export records which task holds it, not which worker.)"""
    export, attempt = _take(export_id, task_id)
    if export is None:
        return RegisterExport.objects.filter(pk=export_id).values_list("status", flat=True).first() or "gone"
    user = export.requested_by
    reason = refusal(user)
    if reason:
        return _fail(export, attempt, reason)
    progress = _Progress(export, attempt)
    try:
        with tempfile.TemporaryFile() as output:
            _writer()(user, export.query_string, export.format, output, progress)
            output.seek(0)
            stored = _store(export, attempt, output)
    except PermissionDenied:
        return _fail(export, attempt, _("%(user)s may no longer see the register, so the export was not "
                                        "written.") % {"user": user.get_username()})
    except Exception as exc:  # a storage or database error: the export failed, the worker goes on
        logger.exception("Register export %s failed", export.uuid)
        return _fail(export, attempt, _("The file could not be written (%(error)s). Export the list again; "
                                        "if it fails again, tell your administrator.") % {
            "error": exc.__class__.__name__})
    return _finish(export, attempt, progress.rows, stored)


def _store(export, attempt, output):
    storage = register_storage()
    folder = f"correspondence/register/exports/{export.uuid}/{attempt}"
    parts, size, digest = [], 0, hashlib.sha256()
    try:
        while True:
            chunk = output.read(PART_BYTES)
            if not chunk and parts:
                break
            digest.update(chunk)
            size += len(chunk)
            parts.append(storage.save(f"{folder}/part-{len(parts) + 1:05}", ContentFile(chunk)))
            if len(chunk) < PART_BYTES:
                break
    except Exception:
        _delete_parts(parts)
        raise
    return {"parts": parts, "size": size, "sha256": digest.hexdigest()}


def _finish(export, attempt, rows, stored):
    now = timezone.now()
    user = export.requested_by
    with transaction.atomic():
        done = RegisterExport.objects.filter(pk=export.pk, attempts=attempt, status=RegisterExportStatus.RUNNING).update(
            status=RegisterExportStatus.DONE, rows_written=rows, total_rows=rows, finished_at=now, error="",
            lease_expires_at=None, file_name=f"register-{timezone.localtime(export.requested_at):%Y%m%d-%H%M}"
                                             f".{export.format}",
            expires_at=now + datetime.timedelta(hours=float(get_setting("REGISTER")["EXPORT_KEEP_HOURS"])), **stored)
        if done:
            # As the inline export logs itself: on the user, with what was exported.
            log(user, log_actions.REGISTER_EXPORTED, user=user, data={
                "format": export.format, "count": rows, "filters": export.query_string, "export": str(export.uuid)})
    if not done:  # another run took the export over meanwhile: its file is the one kept
        _delete_parts(stored["parts"])
        return RegisterExport.objects.filter(pk=export.pk).values_list("status", flat=True).first()
    return RegisterExportStatus.DONE


def _fail(export, attempt, reason, status=RegisterExportStatus.RUNNING):
    """Failed, unless another run holds the export now (or the recovery job queued it again)."""
    RegisterExport.objects.filter(pk=export.pk, attempts=attempt, status=status).update(
        status=RegisterExportStatus.FAILED, error=reason[:2000], finished_at=timezone.now(), lease_expires_at=None)
    logger.warning("Register export %s failed: %s", export.uuid, reason)
    return RegisterExportStatus.FAILED


# Downloading it ---------------------------------------------------------------------------------

def open_download(user, export):
    """The file of ``user``'s own ``export``, as chunks of bytes to stream, after checking that
    it may be had; the download is audited. Raises PermissionDenied (not theirs, or no longer
    allowed to export) or ExportUnavailable (its message says why)."""
    if export.requested_by_id != user.pk or not register_access.can_export(user):
        raise PermissionDenied
    if export.status == RegisterExportStatus.EXPIRED or (
            export.status == RegisterExportStatus.DONE and not export.is_downloadable()):
        raise ExportUnavailable(_("This export has expired: its file was deleted %(hours)s hours after it was "
                                  "written. Export the list again.") % {
            "hours": get_setting("REGISTER")["EXPORT_KEEP_HOURS"]})
    if export.status == RegisterExportStatus.FAILED:
        raise ExportUnavailable(_("This export failed, so there is no file: %(error)s") % {"error": export.error})
    if export.status != RegisterExportStatus.DONE:
        raise ExportUnavailable(_("This export is not written yet: it is ready when its status says so."))
    storage = register_storage()
    if not all(storage.exists(name) for name in export.parts):
        raise ExportUnavailable(_("The file of this export is no longer in storage. Export the list again."))
    log(user, log_actions.REGISTER_EXPORT_DOWNLOADED, user=user, data={
        "format": export.format, "count": export.rows_written, "filters": export.query_string,
        "export": str(export.uuid)})
    return _chunks(storage, list(export.parts))


def _chunks(storage, parts):
    for name in parts:
        with storage.open(name, "rb") as handle:
            while chunk := handle.read(STREAM_BYTES):
                yield chunk


# Housekeeping: expiry and recovery --------------------------------------------------------------

def _delete_parts(parts):
    storage = register_storage()
    for name in parts:
        try:
            storage.delete(name)
        except Exception:  # noqa: BLE001 - the others are still deleted; the next sweep tries again
            logger.exception("Could not delete %s of a register export", name)
            return False
    return True


def delete_expired(now=None):
    """Delete the files of exports past their expiry (the scheduler's ``register-exports``
    job); the exports stay, as "expired". Returns a summary."""
    now = now or timezone.now()
    deleted = 0
    due = RegisterExport.objects.filter(status=RegisterExportStatus.DONE, expires_at__lte=now)
    for export in due.order_by("pk").iterator():
        if _delete_parts(export.parts):
            deleted += RegisterExport.objects.filter(pk=export.pk, status=RegisterExportStatus.DONE).update(
                status=RegisterExportStatus.EXPIRED, parts=[])
    return f"{deleted} expired register exports deleted"


def resume_stale_exports(now=None):
    """Exports whose lease expired (their worker died, or their task was lost): queued again
    for a new task, or failed after MAX_AUTO_RESUMES. Returns (resumed, failed) export ids."""
    now = now or timezone.now()
    resumed, failed = [], []
    for export in stale_leased(RegisterExport, now):
        mark_lost([export.task_id], f"the worker stopped writing register export {export.uuid}", now)
        if export.attempts > int(get_setting("BACKGROUND")["MAX_AUTO_RESUMES"]):
            _fail(export, export.attempts, _("Its workers stopped %(count)s times without finishing it. Export the "
                                             "list again.") % {"count": export.attempts}, status=export.status)
            failed.append(export.pk)
            continue
        updated = RegisterExport.objects.filter(
            pk=export.pk, status=export.status, attempts=export.attempts).filter(
            Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True)).update(
            status=RegisterExportStatus.QUEUED, task_id="",
            lease_expires_at=now + datetime.timedelta(seconds=lease_seconds()))
        if updated:
            enqueue_export(export.pk)
            resumed.append(export.pk)
    return resumed, failed
