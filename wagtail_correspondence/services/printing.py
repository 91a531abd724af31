"""Print runs: every print dispatch waiting in the outbox goes out in one merged PDF with a
manifest. At most once, as for every channel: the dispatches are marked ``sending`` (and
committed) before the files are written, and ``sent`` with the run afterwards."""

import hashlib

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from .. import log_actions
from ..delivery.base import get_channel
from ..models import Dispatch, DispatchStatus, PrintRun
from .register_links import sync_delivery

PRINT = "print"


def waiting_for_print():
    return Dispatch.objects.filter(channel=PRINT, status=DispatchStatus.QUEUED)


def claimable_for_print(limit):
    """The waiting print dispatches, locked, in reference order. Locks the dispatches' rows
    only, not their letters' (which other work may hold)."""
    return (waiting_for_print().select_for_update(skip_locked=True, of=("self",)).select_related("letter")
            .order_by("letter__reference")[:limit])


def build_print_run(user=None, limit=2000):
    """Send the waiting print dispatches as one run. Returns the PrintRun, or None."""
    channel = get_channel(PRINT)
    now = timezone.now()
    with transaction.atomic():
        claimed = list(claimable_for_print(limit))
        if not claimed:
            return None
        Dispatch.objects.filter(pk__in=[dispatch.pk for dispatch in claimed]).update(
            status=DispatchStatus.SENDING, claimed_at=now, updated_at=now)
    letters = [dispatch.letter for dispatch in claimed]
    try:
        merged, rows = channel.merge(letters)
        pdf_path, manifest_path = channel.write(f"{now:%Y%m%d-%H%M%S}-{len(letters)}", merged, rows)
    except (OSError, ValueError) as exc:
        # Nothing reached the print room: the letters wait for the next run.
        Dispatch.objects.filter(pk__in=[dispatch.pk for dispatch in claimed]).update(
            status=DispatchStatus.QUEUED, last_error=f"print run failed: {exc}", updated_at=timezone.now())
        raise
    with transaction.atomic():
        run = PrintRun.objects.create(
            created_by=user, pdf_path=pdf_path, manifest_path=manifest_path,
            pdf_sha256=hashlib.sha256(merged).hexdigest(), letter_count=len(rows),
            page_count=sum(row["pages"] for row in rows), sheet_count=sum(row["sheets"] for row in rows),
            duplex=channel.duplex)
        for dispatch, row in zip(claimed, rows):
            Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.SENDING).update(
                status=DispatchStatus.SENT, sent_at=timezone.now(), print_run=run, attempts=dispatch.attempts + 1,
                provider_message_id=f"{run.uuid}#{row['first_page']}", last_error="", updated_at=timezone.now())
            log(dispatch.letter, log_actions.LETTER_DISPATCHED, user=user, data={
                "reference": dispatch.letter.reference, "channel": PRINT, "recipient": dispatch.recipient,
                "attempts": dispatch.attempts + 1, "status": DispatchStatus.SENT, "error": "",
                "print_run": str(run.uuid)})
            sync_delivery(dispatch.letter)
    return run
