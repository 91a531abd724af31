"""Batch generation in chunks: any number of workers share a batch without waiting for each other.

A worker takes a *chunk* (models.BatchChunk: up to ``BACKGROUND["CHUNK_ROWS"]`` ready rows)
and, in that same short transaction, reserves one reference number per row
(``numbering.reserve_block``: the counter row is locked for that transaction only). It then
assembles and renders every letter of the chunk outside any transaction and lock, and writes
them in one short transaction: letters, fragment pins, outbox rows, register entries, the
rows' status, the void numbers and the log entries, sealed into the audit chain in bulk (one
head-lock acquisition per chunk). After the commit the chunk's dispatches go to one delivery
task (``dispatch.deliver_many``: one SMTP connection per group, outcomes in one commit).

Every reserved number is accounted for: the letter of its row, or a VoidReference with the
reason the row failed. A chunk whose worker died keeps its rows and its numbers; whoever takes
it over (the recovery job, a resumed batch, or any worker of the batch once the holder's
lease has expired or, on the same machine, its process is gone) renders the same rows with
the same numbers, and the ``token`` check at the write makes sure only one of two workers
that both rendered a chunk writes it. Nothing is generated twice and no number is used twice.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import log_actions
from ..conf import get_setting
from ..models import BatchChunk, BatchLease, BatchRow, BatchRowStatus, BatchStatus, LetterBatch, VoidReference
from ..models import Letter, LetterEnclosurePin, LetterFragmentPin, LetterStatus
from ..rendering.assembly import assemble
from . import audit, batch_leases, enclosures, letter_approval, numbering
from . import dispatch as dispatch_service
from . import letters as letter_service
from .indexing import index_in_bulk

logger = logging.getLogger(__name__)


def chunk_rows():
    return max(1, int(get_setting("BACKGROUND").get("CHUNK_ROWS", 200)))


class ChunkLost(Exception):
    """The chunk was taken over by another worker while this one rendered it."""


def take_chunk(batch, keeper, limit=None):
    """The next chunk for this worker: a chunk nobody works on (taken over whole, with its
    numbers), else up to CHUNK_ROWS (at most ``limit``) ready rows no chunk has, with a block
    of reference numbers reserved for them. None when there is nothing left to take."""
    now = timezone.now()
    if batch_leases.stale_chunks(batch.pk, now):
        _take_over_stale(batch, now)
    with transaction.atomic():
        for chunk in (BatchChunk.objects.select_for_update(skip_locked=True).filter(
                batch=batch, status=BatchChunk.RUNNING).order_by("pk")):
            if batch_leases.released(chunk) or batch_leases.holder_gone(chunk, now):
                chunk.takeovers += 1
                batch_leases.hold(chunk, keeper, now)
                chunk.save(update_fields=["token", "worker_id", "task_id", "host", "pid", "expires_at", "takeovers"])
                return chunk
        size = chunk_rows() if limit is None else max(1, min(chunk_rows(), limit))
        ids = list(BatchRow.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(batch=batch, status=BatchRowStatus.VALID, chunk__isnull=True)
                   .order_by("row_number").values_list("pk", flat=True)[:size])
        if not ids:
            return None
        pattern = get_setting("LETTER_REFERENCE_PATTERN")
        today = timezone.localdate(now)
        chunk = BatchChunk(batch=batch, size=len(ids), pattern=pattern, reference_date=today)
        chunk.first_seq = numbering.reserve_block(pattern, len(ids), when=today)
        batch_leases.hold(chunk, keeper, now)
        chunk.save()
        BatchRow.objects.filter(pk__in=ids).update(chunk=chunk)
    return chunk


def _take_over_stale(batch, now):
    """Chunks whose worker died while others work on the batch: the batch is resumed as the
    recovery job would (its dead task marked lost, logged, a new batch task enqueued), and
    the chunks released for this or any worker."""
    with transaction.atomic():
        locked = LetterBatch.objects.select_for_update(of=("self",)).filter(
            pk=batch.pk, status=BatchStatus.RUNNING).first()
        if locked is None:
            return
        stale = batch_leases.stale_chunks(batch.pk, now)
        if not stale:
            return
        lease = BatchLease.objects.select_for_update().filter(batch=locked).first()
        batch_leases.restart(locked, lease, reason=batch_leases.stale_reason(stale, now), now=now, chunks=stale)


# Generating a chunk -------------------------------------------------------------------------

class _Rendered:
    __slots__ = ("row", "reference", "letter", "included", "void_reason", "errors")

    def __init__(self, row, reference):
        self.row, self.reference = row, reference
        self.letter = self.included = self.void_reason = None
        self.errors = []


def run_chunk(batch, chunk, keeper):
    """Render the chunk's rows outside any transaction, then write them in one. Returns how
    many letters were written (0 if the chunk was taken over meanwhile)."""
    holder = batch_leases.ChunkHolder(chunk, keeper)
    stored = []
    try:
        rendered = _render(batch, chunk, holder, stored)
        written = _write(batch, chunk, rendered)
    except ChunkLost:
        _delete_files(stored)
        return 0
    except BaseException:
        _delete_files(stored)
        holder.release()
        raise
    return written


def _delete_files(names):
    from ..models.letters import letter_storage

    storage = letter_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Could not delete %s, the PDF of a chunk that was not written", name)


def _render(batch, chunk, holder, stored):
    rows = list(BatchRow.objects.filter(chunk=chunk).order_by("row_number"))
    results = [_Rendered(row, numbering.block_reference(chunk.pattern, chunk.first_seq + index, chunk.reference_date))
               for index, row in enumerate(rows)]
    template = batch.template.specific
    user = batch.created_by
    problem = None
    try:
        letter_service.require(letter_service.can_build_letters(user), _("You may not build letters."))
        letter_service._check_template(template)
        by_language = letter_service.SourcesByLanguage(template)  # each row's language, read once per chunk
        sources = by_language.own
        # A batch's letters carry the template's own choice of enclosures.
        chosen, enclosure_problems = enclosures.choose(sources.template, None)
        if enclosure_problems:
            raise letter_service.LetterError(enclosure_problems)
    except PermissionDenied as exc:
        problem = [{"field": "(batch)", "message": str(exc)}]
    except letter_service.LetterError as exc:
        problem = [item.as_dict() for item in exc.problems]
    if problem is not None:
        for result in results:
            result.errors = problem
            result.void_reason = problem[0]["message"]
        return results
    department = letter_service.letter_department(user, None)
    now = timezone.now()
    rules = letter_approval.active_rules()  # read once per chunk
    for result in results:
        if result.row.status != BatchRowStatus.VALID or result.row.letter_id:
            result.void_reason = _("the row was no longer ready when its chunk was generated")
            continue
        try:
            result.letter, result.included = _render_row(batch, template, by_language, result, user, department,
                                                         now, stored, rules, chosen)
        except letter_service.LetterError as exc:
            result.errors = [item.as_dict() for item in exc.problems]
            result.void_reason = "; ".join(f"{item.field}: {item.message}" for item in exc.problems)[:2000]
        holder.keeper.row_done(also=holder.renew)
    return results


def _render_row(batch, template, by_language, result, user, department, now, stored, rules, chosen):
    row = result.row
    request = _request(batch, template, row)
    data = letter_service.request_data(request)
    language = letter_service.letter_language(request, data)
    sources = by_language.get(language)
    reference = result.reference
    assembled = assemble(sources, letter_service.letter_input(request, data, reference=reference,
                                                              letter_date=timezone.localdate(now), created=now))
    if assembled.problems:
        raise letter_service.LetterError(assembled.problems)
    letter = Letter(created_by=user, department=department)
    letter_service._apply_request(letter, request, data)
    letter_service._set_revisions(letter, sources)
    letter_service._store_outputs(letter, assembled)
    letter.reference = reference
    # A letter an approval rule holds waits for a second person, as from the builder.
    letter.approval_reasons = letter_approval.approval_reasons(letter, assembled, rules)
    letter.status = LetterStatus.PENDING_APPROVAL if letter.approval_reasons else LetterStatus.GENERATED
    letter.generated_at = now
    letter.generated_by = user
    letter.idempotency_key = f"batch-{batch.uuid}-{row.row_number}"
    letter.request_fingerprint = request.fingerprint()
    pdf = letter_service._render_letter_pdf(assembled, sources, reference, chosen)
    letter._enclosures = chosen
    stored.append(letter_service.store_pdf(letter, pdf))
    letter._fragment_pins = letter_service.fragment_pins(letter, sources, set(assembled.included_fragment_ids))
    letter._fragment_revision_ids = dict(sources.fragment_revision_ids)
    return letter, set(assembled.included_fragment_ids)


def _request(batch, template, row):
    return letter_service.LetterRequest(
        template=template, customer_id=row.customer_id, data=row.data if (row.data or not row.customer_id) else None,
        slots=row.slots, channel=row.channel or batch.channel)


def _write(batch, chunk, rendered):
    """One transaction: everything the chunk made, or nothing (ChunkLost when another worker
    holds the chunk now). Returns the number of letters written."""
    from .register_links import register_letters

    user = batch.created_by
    letters = [result.letter for result in rendered if result.letter is not None]
    cancelled = []
    with transaction.atomic(), audit.sealed_in_bulk():
        held = BatchChunk.objects.select_for_update().filter(pk=chunk.pk, token=chunk.token,
                                                             status=BatchChunk.RUNNING).first()
        if held is None:
            raise ChunkLost(chunk.pk)
        if not LetterBatch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).exists():
            # Cancelled (or failed) while the chunk rendered: nothing is generated, every
            # number of the block is void; the rows stay as they were.
            cancelled = [letter.pdf.name for letter in letters]
            for result in rendered:
                result.letter, result.errors = None, []
                result.void_reason = _("the batch was cancelled while the row was generated")
            letters = []
        Letter.objects.bulk_create(letters, batch_size=200)
        pins = []
        for result in rendered:
            if result.letter is None:
                continue
            pins.extend(result.letter._fragment_pins)
        LetterFragmentPin.objects.bulk_create(pins, batch_size=500)
        LetterEnclosurePin.objects.bulk_create(
            [pin for letter in letters for pin in enclosures.pins(letter, letter._enclosures)], batch_size=500)
        # Letters held for approval are sent (and registered) when they are approved.
        released = [letter for letter in letters if letter.is_generated]
        held = [letter for letter in letters if not letter.is_generated]
        dispatches = dispatch_service.plan_dispatches_bulk(released)
        register_letters(released, user)
        audit.bulk_log(released, log_actions.LETTER_GENERATED, user=user, data=_generated_data)
        audit.bulk_log(held, log_actions.LETTER_SUBMITTED, user=user,
                       data=lambda letter: {**_generated_data(letter), "reasons": letter.approval_reasons})
        voids = [VoidReference(reference=result.reference, batch=batch, row_number=result.row.row_number,
                               reason=result.void_reason or _("not generated")) for result in rendered
                 if result.letter is None]
        VoidReference.objects.bulk_create(voids)
        if voids:
            audit.bulk_log([batch], log_actions.BATCH_REFERENCES_VOIDED, user=user, data={
                "batch": str(batch.uuid), "chunk": chunk.pk,
                "references": [{"reference": void.reference, "row": void.row_number, "reason": void.reason}
                               for void in voids]})
        rows = []
        for result in rendered:
            row = result.row
            if result.letter is not None:
                row.status, row.letter, row.errors = BatchRowStatus.GENERATED, result.letter, []
                rows.append(row)
            elif result.errors:
                row.status, row.errors = BatchRowStatus.ERROR, result.errors
                rows.append(row)
        BatchRow.objects.bulk_update(rows, ["status", "letter", "errors"], batch_size=500)
        BatchChunk.objects.filter(pk=chunk.pk).update(status=BatchChunk.DONE, finished_at=timezone.now(),
                                                      expires_at=None)
        batched = set(dispatch_service.batched_channels())
        ids = [dispatch.pk for dispatch in dispatches if dispatch.channel not in batched]
        transaction.on_commit(lambda: _after_commit(letters, ids))
    _delete_files(cancelled)
    return len(letters)


def _generated_data(letter):
    return {"reference": letter.reference, "template": letter.template.title,
            "template_revision": letter.template_revision_id, "pdf_sha256": letter.pdf_sha256,
            "fragments": letter._fragment_revision_ids and {str(k): v for k, v in letter._fragment_revision_ids.items()}}


def _after_commit(letters, dispatch_ids):
    _index(letters)
    if dispatch_ids:
        from ..tasks import DELIVERY_PRIORITY, deliver_dispatches_task, enqueue_with_priority

        try:
            enqueue_with_priority(deliver_dispatches_task, DELIVERY_PRIORITY, dispatch_ids)
        except Exception:  # the rows are safe in the outbox; process_due will find them
            logger.exception("Could not enqueue the delivery of %s dispatches", len(dispatch_ids))


def _index(letters):
    """The letters into the search index in one go (bulk_create sent no post_save)."""
    index_in_bulk(Letter, letters)
