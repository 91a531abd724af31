"""Batch generation: one template, one uploaded file (CSV or JSON Lines), one letter per row.

A batch is checked first (a dry run: every row assembled, nothing saved), then run in the
background in chunks (services.batch_pipeline): each chunk is written in one transaction
together with its rows' status, so a crash loses at most the chunk in progress, which a
resumed run generates once with the reference numbers it had reserved; bad rows are
reported (their numbers void) and never stop good ones. The task working on a batch holds its
lease (services.batch_leases): a batch whose worker dies is resumed by the recovery job, or
by hand (``resume_batch``).
"""

import csv
import io
import logging
from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import json_limits, log_actions
from ..models import BatchLease, BatchRow, BatchRowStatus, BatchStatus, LetterBatch
from ..rendering.assembly import assemble
from . import batch_leases
from . import dispatch as dispatch_service
from . import letters as letter_service

logger = logging.getLogger(__name__)

MAX_ROWS = 100_000
MAX_FILE_BYTES = 50 * 1024 * 1024
REPORTED_ERRORS = 500  # row errors kept in the report; every row keeps its own
# What the dry run's totals group rows by: where they asked to go, where they go, and why.
ROUTE_KEYS = ("requested", "requested_label", "channel", "channel_label", "reason", "delivered", "source")


class BatchFileError(ValueError):
    """The file as a whole cannot be read (not CSV, no header, too large...)."""


def _set_path(data, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = value


def _cell_value(text, column, levels):
    """Cells are text; a cell holding a JSON list or object (a list of invoices) is parsed,
    ``levels`` down in the row (so that the row as a whole stays within the depth limit)."""
    stripped = text.strip()
    if stripped[:1] in "[{":
        return json_limits.loads(stripped, path=column, depth=levels)
    return stripped


def _json_error(exc, field):
    """A row error for a JSON value that cannot be read: nested too deep names the path
    where, anything else (bad syntax, a number too long to convert) the field."""
    if isinstance(exc, json_limits.JSONTooDeep):
        return {"field": exc.path, "message": exc.short_message}
    return {"field": field, "message": _("Not valid JSON: %(error)s") % {"error": exc}}


def _csv_records(text, dialect):
    """The header and the records of a CSV text, with every cell within the product's bound;
    a cell past it, or a file the csv module cannot read, is a BatchFileError naming the row
    (and the column)."""
    largest = json_limits.csv_max_cell_chars()
    reader = csv.reader(io.StringIO(text), dialect=dialect)
    # The csv module may read cells as long as the file: deciding on their size is ours.
    header, records = None, []
    with json_limits.csv_cells_up_to(len(text) + 1):
        try:
            header = next(reader, None)
            for record in reader:
                if not record:
                    continue  # a blank line is no row (as csv.DictReader reads it)
                for index, cell in enumerate(record):
                    if len(cell) > largest:
                        column = header[index].strip() if index < len(header) else f"#{index + 1}"
                        raise BatchFileError(_(
                            "Row %(row)s, column “%(column)s”: the cell holds %(size)s characters; at most "
                            "%(max)s are allowed (is a quote left open?).") % {
                            "row": len(records) + 1, "column": column, "size": len(cell), "max": largest})
                records.append(record)
        except csv.Error as exc:
            if header is None:
                raise BatchFileError(_("The header row cannot be read as CSV: %(error)s") % {"error": exc}) from None
            raise BatchFileError(_("Row %(row)s cannot be read as CSV: %(error)s") % {
                "row": len(records) + 1, "error": exc}) from None
    return header, records


def parse_csv(content):
    """Rows from CSV: ``customer_id``, ``channel``, ``slot.<name>`` and dotted data paths
    (``customer.first_name``, ``customer.address.city``, ``balance``) as column names. Empty
    cells keep the customer record's value."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchFileError(_("The file is not UTF-8 text: %(error)s") % {"error": exc}) from exc
    sample = text[:10_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    header, records = _csv_records(text, dialect)
    if not header or not any(name.strip() for name in header):
        raise BatchFileError(_("The CSV file has no header row."))
    columns = [name.strip() for name in header]
    # A row is level 1 and its data level 2 (as in a JSON Lines line and an API body): a
    # column "customer.address.city" puts its cell 4 levels down.
    limit = json_limits.max_depth()
    for name in columns:
        if name.count(".") + 2 > limit and not name.startswith(("slot.", "slots.")):
            raise BatchFileError(_("Column “%(column)s”: nested more than %(limit)s levels.") % {
                "column": name[:200], "limit": limit})
    for number, record in enumerate(records, start=1):
        row = {"customer_id": "", "data": {}, "slots": {}, "channel": "", "errors": []}
        if len(record) > len(columns):
            row["errors"].append({"field": "(row)", "message": _("The row has more cells than the header.")})
        for name, text in zip(columns, record):
            if not text.strip():
                continue
            if name in ("customer_id", "channel"):
                row[name] = text.strip()
            elif name.startswith(("slot.", "slots.")):
                row["slots"][name.split(".", 1)[1]] = text
            else:
                try:
                    _set_path(row["data"], name, _cell_value(text, name, name.count(".") + 2))
                except ValueError as exc:
                    row["errors"].append(_json_error(exc, name))
        yield number, row


def parse_jsonl(content):
    """Rows from JSON Lines: one object per line with ``customer_id``, ``data``, ``slots`` and
    ``channel`` (all optional)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchFileError(_("The file is not UTF-8 text: %(error)s") % {"error": exc}) from exc
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        row = {"customer_id": "", "data": {}, "slots": {}, "channel": "", "errors": []}
        try:
            value = json_limits.loads(line)
        except ValueError as exc:
            row["errors"].append(_json_error(exc, "(row)"))
            yield number, row
            continue
        if not isinstance(value, dict):
            row["errors"].append({"field": "(row)", "message": _("Each line must be a JSON object.")})
            yield number, row
            continue
        unknown = sorted(set(value) - {"customer_id", "data", "slots", "channel"})
        if unknown:
            row["errors"].append({"field": unknown[0], "message": _("Unknown key; use customer_id, data, slots, "
                                                                    "channel.")})
        for key, expected in (("data", dict), ("slots", dict), ("customer_id", str), ("channel", str)):
            if key in value and not isinstance(value[key], expected):
                row["errors"].append({"field": key, "message": _("Has the wrong type.")})
            elif key in value:
                row[key] = value[key]
        yield number, row


PARSERS = {"csv": parse_csv, "jsonl": parse_jsonl}


def detect_format(filename):
    lowered = (filename or "").lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    raise BatchFileError(_("Upload a .csv or .jsonl file."))


@transaction.atomic
def create_batch(user, template, uploaded, name="", channel="", source_format=None):
    """Store the file and its rows, then check them in the background."""
    letter_service.require(letter_service.can_build_letters(user), _("You may not build letters."))
    if template not in letter_service.available_templates():
        raise BatchFileError(_("Choose a published letter template."))
    if uploaded.size > MAX_FILE_BYTES:
        raise BatchFileError(_("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // 1024 // 1024})
    source_format = source_format or detect_format(uploaded.name)
    content = uploaded.read()
    rows = list(PARSERS[source_format](content))
    if not rows:
        raise BatchFileError(_("The file has no rows."))
    if len(rows) > MAX_ROWS:
        raise BatchFileError(_("The file has %(count)s rows; at most %(max)s are allowed.") % {
            "count": len(rows), "max": MAX_ROWS})
    uploaded.seek(0)
    batch = LetterBatch(template=template, name=name, channel=channel, created_by=user, source_format=source_format,
                        total_rows=len(rows))
    batch.source.save(uploaded.name.rsplit("/", 1)[-1], uploaded, save=False)
    batch.save()
    BatchRow.objects.bulk_create([
        BatchRow(batch=batch, row_number=number, customer_id=row["customer_id"][:100], data=row["data"],
                 slots=row["slots"], channel=row["channel"][:20],
                 status=BatchRowStatus.ERROR if row["errors"] else BatchRowStatus.PENDING, errors=row["errors"])
        for number, row in rows], batch_size=1000)
    log(batch, log_actions.BATCH_CREATED, user=user, data={"batch": str(batch.uuid), "rows": len(rows)})
    batch_leases.prepare(batch)
    transaction.on_commit(lambda: batch_leases.enqueue(batch.pk, "check_batch_task"))
    return batch


def row_request(batch, row):
    template = batch.template.specific
    return letter_service.LetterRequest(
        template=template, customer_id=row.customer_id, data=row.data if (row.data or not row.customer_id) else None,
        slots=row.slots, channel=row.channel or batch.channel)


def channel_source(batch, row, template, data):
    """Why the row asks for its channel, in words (the choice itself is ``letter_input``'s)."""
    if row.channel:
        return _("the row's own channel")
    if batch.channel:
        return _("the batch's channel")
    customer = data.get("customer") if isinstance(data, dict) else None
    preferred = customer.get("preferred_channel") if isinstance(customer, dict) else None
    if preferred and preferred in (template.channels or []):
        return _("the customer's preferred channel")
    if preferred:
        return _("the template's first channel (the customer prefers %(channel)s, which the template does not "
                 "offer)") % {"channel": dispatch_service.channel_label(preferred)}
    return _("the template's first channel")


def check_row(batch, row, sources):
    """Problems of one row ([] when it can be generated), and where it would go: the route
    the outbox will take (``dispatch.route_channel``), with why the row asks for its channel.
    ``sources``: the template's letters.SourcesByLanguage."""
    if row.errors and row.status == BatchRowStatus.ERROR and not row.letter_id:
        return row.errors, {}
    request = row_request(batch, row)
    try:
        data = letter_service.resolve_data(request.customer_id, request.data)
    except letter_service.LetterError as exc:
        return [problem.as_dict() for problem in exc.problems], {}
    try:
        sources = sources.get(letter_service.letter_language(request, data))
    except letter_service.LetterError as exc:
        return [problem.as_dict() for problem in exc.problems], {}
    letter_input = letter_service.letter_input(request, data)
    letter = assemble(sources, letter_input)
    route = dispatch_service.route_channel(letter_input.channel, data, request.template,
                                           getattr(sources.template, "fallback_channel", "") or "")
    return [problem.as_dict() for problem in letter.problems], {
        **route.as_dict(), "source": channel_source(batch, row, request.template, data)}


def check_batch(batch_id, worker_id="", task_id=""):
    """The dry run: every row assembled with live content, nothing generated. Only a batch
    that is being checked is (a check resumed after its worker died may find it done)."""
    batch = LetterBatch.objects.select_related("template").get(pk=batch_id)
    if batch.status != BatchStatus.CHECKING:
        return batch.report
    keeper = batch_leases.LeaseKeeper(batch.pk, worker_id, task_id)
    keeper.take()
    try:
        report = _check_rows(batch, keeper)
    except BaseException:
        keeper.abandon()
        raise
    keeper.release()
    return report


def _check_rows(batch, keeper):
    report = {"rows": batch.total_rows, "valid": 0, "errors": 0, "error_rows": [], "unresolved_fields": {},
              "channels": {}, "routes": [], "rerouted_rows": [], "rerouted": 0, "undelivered": 0}
    try:
        sources = letter_service.SourcesByLanguage(batch.template.specific)
    except letter_service.LetterError as exc:
        report["fatal"] = "; ".join(problem.message for problem in exc.problems)
        LetterBatch.objects.filter(pk=batch.pk, status=BatchStatus.CHECKING).update(
            status=BatchStatus.FAILED, report=report)
        return report
    unresolved, channels, routes = Counter(), Counter(), Counter()
    for row in batch.rows.order_by("row_number").iterator(chunk_size=500):
        if row.row_number % 100 == 0 and not LetterBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.CHECKING).exists():
            return report  # cancelled, or finished by another check meanwhile
        problems, route = check_row(batch, row, sources)
        # Never touches a row that has its letter (a check overtaken by the run).
        BatchRow.objects.filter(pk=row.pk, letter__isnull=True).exclude(status=BatchRowStatus.GENERATED).update(
            errors=problems, route=route, status=BatchRowStatus.ERROR if problems else BatchRowStatus.VALID)
        keeper.row_done()
        if problems:
            report["errors"] += 1
            for problem in problems:
                if problem.get("kind") == "missing":
                    unresolved[problem["field"]] += 1
                if len(report["error_rows"]) < REPORTED_ERRORS:
                    report["error_rows"].append({"row": row.row_number, **problem})
            continue
        report["valid"] += 1
        channels[route["channel"] or "none"] += 1
        routes[tuple(route[key] for key in ROUTE_KEYS)] += 1
        if route["rerouted"] or not route["delivered"]:
            report["rerouted"] += route["rerouted"]
            report["undelivered"] += not route["delivered"]
            if len(report["rerouted_rows"]) < REPORTED_ERRORS:
                report["rerouted_rows"].append({"row": row.row_number, "customer_id": row.customer_id, **route})
    report["unresolved_fields"] = dict(unresolved.most_common())
    report["channels"] = dict(channels.most_common())
    report["routes"] = [{**dict(zip(ROUTE_KEYS, key)), "rows": count} for key, count in routes.most_common()]
    LetterBatch.objects.filter(pk=batch.pk, status=BatchStatus.CHECKING).update(
        status=BatchStatus.CHECKED, report=report)
    return report


@transaction.atomic
def start_batch(user, batch):
    batch = LetterBatch.objects.select_for_update().get(pk=batch.pk)
    _require_owner(user, batch, _("Only the agent who uploaded this batch may start it."))
    letter_service.require(letter_service.can_build_letters(user), _("You may not build letters."))
    if batch.status != BatchStatus.CHECKED:
        raise ValueError(_("Only a checked batch can be started (this one is %(status)s).") % {
            "status": batch.get_status_display()})
    batch.status = BatchStatus.RUNNING
    batch.started_at = timezone.now()
    batch.save(update_fields=["status", "started_at"])
    log(batch, log_actions.BATCH_STARTED, user=user, data={"batch": str(batch.uuid),
                                                           "rows": batch.report.get("valid")})
    batch_leases.prepare(batch)
    transaction.on_commit(lambda: batch_leases.enqueue(batch.pk, "run_batch_task"))
    return batch


def _require_owner(user, batch, message):
    """Start, cancel and resume: the agent who uploaded the batch, or an administrator."""
    if batch.created_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied(message)


def lockable_row(row_id):
    """The row, locked, if it is ready and no other worker holds it. Locks the row only: the
    model's default ordering joins the batch, and a lock on the batch's row would make every
    other worker skip every row of the batch (issue 14)."""
    return (BatchRow.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=row_id, status=BatchRowStatus.VALID).order_by())


def generate_row(batch, row_id):
    """Generate one row's letter, in one transaction with the row's status. Returns False if
    another worker has the row or it is done already."""
    with transaction.atomic():
        row = lockable_row(row_id).first()
        if row is None:
            return False
        try:
            letter = letter_service.generate_letter(
                batch.created_by, row_request(batch, row), idempotency_key=f"batch-{batch.uuid}-{row.row_number}")
        except letter_service.LetterError as exc:
            row.status, row.errors = BatchRowStatus.ERROR, [problem.as_dict() for problem in exc.problems]
        except PermissionDenied as exc:
            row.status, row.errors = BatchRowStatus.ERROR, [{"field": "(batch)", "message": str(exc)}]
        else:
            row.status, row.letter, row.errors = BatchRowStatus.GENERATED, letter, []
        row.save(update_fields=["status", "letter", "errors"])
    return True


def run_batch(batch_id, limit=None, worker_id="", task_id="", chunks=None):
    """Generate the batch's ready rows, a chunk at a time (services.batch_pipeline); several
    workers may run it at once, each taking chunks of its own, and running it again after a
    crash picks up where it stopped. ``limit`` stops after that many rows, ``chunks`` after
    that many chunks (a chunk task takes one). ``worker_id`` and ``task_id`` name who holds
    the batch's lease (the task's worker). Returns the letters written by this call."""
    batch = LetterBatch.objects.select_related("template", "created_by").get(pk=batch_id)
    if batch.status != BatchStatus.RUNNING:
        return 0
    keeper = batch_leases.LeaseKeeper(batch.pk, worker_id, task_id)
    keeper.take()
    try:
        done, finished = _run_chunks(batch, keeper, limit, chunks)
    except BaseException:  # stopped (SIGTERM twice, SystemExit) or failed: resumed at the next recovery pass
        keeper.abandon()
        raise
    if finished:
        keeper.release()
    else:
        keeper.flush()
    return done


def _run_chunks(batch, keeper, limit, chunks):
    from . import batch_pipeline

    done = taken = 0
    while limit is None or done < limit:
        if chunks is not None and taken >= chunks:
            break
        if not LetterBatch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).exists():
            return done, False  # cancelled meanwhile
        chunk = batch_pipeline.take_chunk(batch, keeper, None if limit is None else limit - done)
        if chunk is None:
            break
        taken += 1
        done += batch_pipeline.run_chunk(batch, chunk, keeper)
    return done, finish_if_done(batch)


def finish_if_done(batch):
    """Completed once no row is left to generate (rows another worker holds are its to finish)."""
    if batch.rows.filter(status=BatchRowStatus.VALID).exists():
        return False
    LetterBatch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).update(
        status=BatchStatus.COMPLETED, finished_at=timezone.now())
    return True


def fan_out(batch_id):
    """Enqueue one chunk task per chunk-sized share of the ready rows beyond the first (which
    the calling task takes): idle workers pick them up, so the batch is shared by as many
    workers as there are chunks. A chunk task that finds nothing left does nothing."""
    from . import batch_pipeline

    ready = BatchRow.objects.filter(batch_id=batch_id, status=BatchRowStatus.VALID, chunk__isnull=True).count()
    extra = -(-ready // batch_pipeline.chunk_rows()) - 1
    if extra <= 0:
        return 0
    from .. import tasks

    enqueued = 0
    for _number in range(extra):
        try:
            tasks.run_chunk_task.enqueue(batch_id)
        except Exception:  # the batch task works through every chunk itself anyway
            logger.exception("Could not enqueue a chunk task for batch %s", batch_id)
            break
        enqueued += 1
    return enqueued


@transaction.atomic
def resume_batch(user, batch, now=None):
    """Put a batch whose worker stopped back to work, by hand: an administrator or the agent
    who uploaded it. Refused (ValueError, with the reason) when the batch is alive or waits
    in the queue, or is not one that can be resumed."""
    batch = LetterBatch.objects.select_for_update().get(pk=batch.pk)
    _require_owner(user, batch, _("Only the agent who uploaded this batch, or an administrator, may resume it."))
    letter_service.require(letter_service.can_build_letters(user), _("You may not build letters."))
    if batch.status not in (BatchStatus.CHECKING, BatchStatus.RUNNING, BatchStatus.FAILED):
        raise ValueError(_("Only a batch that is being checked or run, or that failed, can be resumed (this one is "
                           "%(status)s).") % {"status": batch.get_status_display()})
    now = now or timezone.now()
    lease = BatchLease.objects.select_for_update().filter(batch=batch).first()
    state = batch_leases.liveness(lease, now)
    if state is batch_leases.Liveness.ALIVE:
        if lease.worker_id:
            # Said to people (the batch page shows it): the worker's id is for the API and the logs.
            raise ValueError(_("The batch is alive: its worker completed a row %(ago)s ago. Resume a batch only "
                               "when its worker has stopped; one whose worker stops is resumed automatically after "
                               "%(seconds)s s without progress.") % {
                "ago": timesince(lease.renewed_at, now), "seconds": f"{batch_leases.lease_seconds():g}"})
        raise ValueError(_("The batch was just handed to the task queue and is waiting for a worker to pick it up: "
                           "nothing to resume."))
    if state is batch_leases.Liveness.QUEUED:
        raise ValueError(_("The batch is waiting in the task queue for a worker: nothing to resume. Check that a "
                           "worker is running."))
    return batch_leases.restart(batch, lease, user=user, reason=_("resumed by %(user)s") % {
        "user": user.get_username()}, now=now)


@transaction.atomic
def cancel_batch(user, batch):
    batch = LetterBatch.objects.select_for_update().get(pk=batch.pk)
    _require_owner(user, batch, _("Only the agent who uploaded this batch may cancel it."))
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
        return batch
    batch.status, batch.finished_at = BatchStatus.CANCELLED, timezone.now()
    batch.save(update_fields=["status", "finished_at"])
    log(batch, log_actions.BATCH_CANCELLED, user=user, data={"batch": str(batch.uuid)})
    return batch


def unknown_outcomes(batch):
    """The batch's dispatches whose outcome is unknown (left sending by a worker that
    stopped): never resent automatically, shown for a person to check."""
    from .dispatch import stale_dispatches
    from .recovery import unknown_outcomes as marked

    return (stale_dispatches() | marked()).filter(letter__batch_row__batch=batch).distinct()


# After the run: its letters, its results, its print runs ----------------------------------

RESULT_COLUMNS = ["row", "customer_id", "status", "reference", "requested_channel", "channel", "channel_reason",
                  "delivery", "print_run", "errors", "void_reference"]


def batch_letters(batch):
    from ..models import Letter

    return Letter.objects.filter(batch_row__batch=batch)


def batch_print_runs(batch):
    """The print runs that printed letters of the batch, newest first, each with how many of
    its letters came from the batch (``from_batch``: a run takes every letter waiting)."""
    from ..models import PrintRun

    of_batch = Q(dispatches__letter__batch_row__batch=batch)
    runs = PrintRun.objects.filter(pk__in=PrintRun.objects.filter(of_batch).values("pk"))
    return runs.annotate(from_batch=Count("dispatches", filter=of_batch)).order_by("-created_at")


def waiting_for_print(batch):
    """The batch's letters queued for the next print run."""
    from ..models import Dispatch, DispatchStatus
    from .printing import PRINT

    return Dispatch.objects.filter(letter__batch_row__batch=batch, channel=PRINT, status=DispatchStatus.QUEUED)


def result_rows(batch, offset=0, limit=None):
    """One result per row, in row order (``limit`` rows from position ``offset``): its status,
    its letter's reference, the channel the dry run planned and why, the channel(s) its letter
    really took with their delivery state, and its errors. The admin's CSV and the API's
    ``rows`` read the same."""
    from ..delivery.base import ARCHIVE
    from ..models import Dispatch

    dispatches = Dispatch.objects.exclude(channel=ARCHIVE).select_related("print_run").order_by("pk")
    rows = (batch.rows.order_by("row_number").select_related("letter")
            .prefetch_related(Prefetch("letter__dispatches", queryset=dispatches)))
    rows = rows[offset:offset + limit] if limit is not None else rows[offset:]
    voids = dict(batch.void_references.values_list("row_number", "reference"))
    for row in rows.iterator(chunk_size=500):
        route = row.route or {}
        taken = list(row.letter.dispatches.all()) if row.letter_id else []
        yield {
            "row": row.row_number, "customer_id": row.customer_id, "status": row.get_status_display(),
            "reference": row.letter.reference if row.letter_id else "",
            "requested_channel": route.get("requested_label", ""),
            "channel": ", ".join(dispatch_service.channel_label(dispatch.channel) for dispatch in taken)
            or route.get("channel_label", ""),
            "channel_reason": route.get("reason", ""),
            "delivery": ", ".join(dispatch.get_status_display() for dispatch in taken),
            "print_run": ", ".join(f"{timezone.localtime(dispatch.print_run.created_at):%Y-%m-%d %H:%M}" for dispatch in taken
                                   if dispatch.print_run_id),
            "errors": "; ".join(f"{error.get('field')}: {error.get('message')}" for error in row.errors or []),
            # The number reserved for the row when it failed in its chunk (never used again).
            "void_reference": voids.get(row.row_number, "") if not row.letter_id else "",
        }


def batch_summary(batch):
    lease = BatchLease.objects.filter(batch=batch).first()
    return {"id": str(batch.uuid), "name": str(batch), "template": batch.template_id, "status": batch.status,
            "format": batch.source_format, "channel": batch.channel, "created_at": batch.created_at,
            "started_at": batch.started_at, "finished_at": batch.finished_at, "progress": batch.progress(),
            "report": batch.report, "created_by": batch.created_by.get_username(),
            "worker": batch_leases.describe(batch, lease), "unknown_outcomes": unknown_outcomes(batch).count(),
            "void_references": batch.void_references.count()}
