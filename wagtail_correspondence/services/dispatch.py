"""The outbox: every generated letter gets a Dispatch per channel (and one for the archive);
workers claim due rows, call the channel, and record the outcome.

At most once: a row is marked ``sending`` and committed before the provider is called, so a
worker that dies after the provider accepted the message leaves it ``sending``, and nothing
resends it on its own (``stale_dispatches`` reports it for a person to check). Failures that
prove nothing was delivered are retried with exponential back-off up to a limit, on every
path: there is no "urgent" shortcut that skips the outbox.
"""

import datetime
import logging
from dataclasses import asdict, dataclass
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Case, CharField, F, Prefetch, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import log_actions, public_urls
from ..conf import get_setting
from ..delivery.base import (
    ARCHIVE,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    channel_backends,
    get_channel,
)
from ..models import Dispatch, DispatchStatus, Letter
from .register_links import sync_delivery, sync_delivery_many

logger = logging.getLogger(__name__)


def retry_policy():
    return {"MAX_ATTEMPTS": 6, "BASE_DELAY": 60, "MAX_DELAY": 3600, "STALE_AFTER": 900,
            **get_setting("DISPATCH_RETRY")}


def backoff(attempts):
    policy = retry_policy()
    return datetime.timedelta(seconds=min(policy["BASE_DELAY"] * 2 ** max(attempts - 1, 0), policy["MAX_DELAY"]))


def channel_label(name):
    return str(dict(get_setting("CHANNELS")).get(name, name)) if name else _("none")


@dataclass(frozen=True)
class ChannelRoute:
    """The channel a letter asked for, the one its dispatch really takes, and why they differ.
    ``delivered`` is False when the customer will not get the letter on any channel (it is
    only archived, or the dispatch will fail for want of an address)."""

    requested: str
    channel: str
    reason: str = ""
    delivered: bool = True

    @property
    def rerouted(self):
        return self.channel != self.requested

    def as_dict(self):
        return {**asdict(self), "rerouted": self.rerouted, "requested_label": channel_label(self.requested),
                "channel_label": channel_label(self.channel)}


def route_channel(requested, data, template, fallback):
    """Where a letter on ``requested`` really goes, decided before anything is sent: a channel
    without a backend, or whose backend finds no address in the data, is replaced by the
    template's ``fallback`` channel. The outbox (``plan_dispatches``) and the batch dry run
    both ask this, so the dry run shows what the dispatch will do."""
    configured = channel_backends()
    addressee = SimpleNamespace(data=data, template=template)  # what backends read of a letter
    if requested not in configured:
        why = _("no %(channel)s backend configured") % {"channel": channel_label(requested)} if requested else _(
            "no channel chosen")
        return _to_fallback(requested, why, fallback, addressee, configured) or ChannelRoute(
            requested, "", _("%(why)s and no fallback channel: the letter is only archived") % {"why": why},
            delivered=False)
    backend = get_channel(requested)
    if backend.recipient_for(addressee):
        return ChannelRoute(requested, requested)
    why = backend.no_recipient_reason()
    return _to_fallback(requested, why, fallback, addressee, configured) or ChannelRoute(
        requested, requested, _("%(why)s and no fallback channel: delivery will fail") % {"why": why},
        delivered=False)


def _to_fallback(requested, why, fallback, addressee, configured):
    if not fallback or fallback == requested or fallback not in configured:
        return None
    backend = get_channel(fallback)
    if backend.recipient_for(addressee):
        return ChannelRoute(requested, fallback, why)
    return ChannelRoute(requested, fallback, _("%(why)s; %(fallback)s: %(missing)s too") % {
        "why": why, "fallback": channel_label(fallback), "missing": backend.no_recipient_reason()}, delivered=False)


def letter_routes(letter):
    """The route of each of the letter's channels (``route_channel`` on its stored data)."""
    fallback = fallback_channel(letter)
    return [route_channel(channel, letter.data, letter.template, fallback) for channel in letter.channels]


def deliverable_channels(letter):
    """The channels the letter's dispatches take (``route_channel``: a channel without a
    backend or without an address in the data is replaced by the template's fallback), then
    the archive, always."""
    channels = []
    for route in letter_routes(letter):
        if route.channel and route.channel not in channels:
            channels.append(route.channel)
    return channels + [ARCHIVE]


def batched_channels():
    """Channels whose dispatches go out together (print runs), not one by one."""
    names = []
    for name in channel_backends():
        if getattr(get_channel(name), "batched", False):
            names.append(name)
    return names


def plan_dispatches(letter):
    """Create the outbox rows of a just-generated letter. Runs inside the generating
    transaction; the rows are handed to the workers once it commits."""
    now = timezone.now()
    origin = public_urls.request_origin()
    rows = []
    for channel in deliverable_channels(letter):
        backend = get_channel(channel)
        rows.append(Dispatch(letter=letter, channel=channel, recipient=(backend.recipient_for(letter) or "")[:255],
                             idempotency_key=f"{letter.uuid}.{channel}", next_attempt_at=now,
                             link_origin=origin[:200]))
    created = Dispatch.objects.bulk_create(rows)
    for route in letter_routes(letter):
        if route.rerouted and route.channel:
            log(letter, log_actions.LETTER_DISPATCH_FALLBACK, data={
                "reference": letter.reference, "channel": route.channel, "instead_of": route.requested,
                "reason": route.reason})
    batched = batched_channels()
    ids = [row.pk for row in created if row.channel not in batched]
    transaction.on_commit(lambda: enqueue(ids))
    return created


def plan_dispatches_bulk(letters):
    """``plan_dispatches`` for many just-generated letters in one insert, inside the
    transaction that writes them. Enqueues nothing: returns the rows, and the caller hands
    the non-batched ones to one delivery task (``deliver_many``) after the commit."""
    now = timezone.now()
    origin = public_urls.request_origin()[:200]
    rows, fallbacks = [], []
    backends, template_fallbacks = {}, {}
    for letter in letters:
        # The letters of a chunk share their template revision: its fallback is read once.
        if letter.template_revision_id not in template_fallbacks:
            template_fallbacks[letter.template_revision_id] = fallback_channel(letter)
        fallback = template_fallbacks[letter.template_revision_id]
        routes = [route_channel(channel, letter.data, letter.template, fallback) for channel in letter.channels]
        channels = []
        for route in routes:
            if route.rerouted and route.channel:
                fallbacks.append((letter, route))
            if route.channel and route.channel not in channels:
                channels.append(route.channel)
        for channel in channels + [ARCHIVE]:
            backend = backends.get(channel) or backends.setdefault(channel, get_channel(channel))
            rows.append(Dispatch(letter=letter, channel=channel, recipient=(backend.recipient_for(letter) or "")[:255],
                                 idempotency_key=f"{letter.uuid}.{channel}", next_attempt_at=now, link_origin=origin))
    created = Dispatch.objects.bulk_create(rows, batch_size=500)
    for letter, route in fallbacks:
        log(letter, log_actions.LETTER_DISPATCH_FALLBACK, data={
            "reference": letter.reference, "channel": route.channel, "instead_of": route.requested,
            "reason": route.reason})
    return created


def fallback_channel(letter):
    """The fallback of the template revision the letter was built from."""
    from ..rendering.assembly import revision_object

    if not letter.template_revision_id:
        return ""
    return getattr(revision_object(letter.template_revision_id), "fallback_channel", "") or ""


def plan_fallback(dispatch):
    """After a final failure or a bounce: the same letter on the template's fallback channel,
    once per letter."""
    letter = dispatch.letter
    channel = fallback_channel(letter)
    if not channel or channel == dispatch.channel or channel not in channel_backends():
        return None
    if Dispatch.objects.filter(letter=letter, channel=channel).exists():
        return None
    backend = get_channel(channel)
    fallback = Dispatch.objects.create(
        letter=letter, channel=channel, recipient=(backend.recipient_for(letter) or "")[:255],
        idempotency_key=f"{letter.uuid}.{channel}", fallback_of=dispatch, next_attempt_at=timezone.now(),
        link_origin=dispatch.link_origin)
    log(letter, log_actions.LETTER_DISPATCH_FALLBACK, data={**_log_data(fallback), "instead_of": dispatch.channel})
    if not getattr(backend, "batched", False):
        transaction.on_commit(lambda: enqueue([fallback.pk]))
    return fallback


def enqueue(dispatch_ids, run_after=None):
    from ..tasks import send_dispatch

    for dispatch_id in dispatch_ids:
        task = send_dispatch
        if run_after is not None:
            if not task.get_backend().supports_defer:
                continue  # picked up by process_due (the scheduler's outbox job, or correspondence_dispatch)
            task = task.using(run_after=run_after)
        try:
            task.enqueue(dispatch_id)
        except Exception:  # the row is safe in the outbox; process_due will find it
            logger.exception("Could not enqueue dispatch %s", dispatch_id)


def claimable(dispatch_id, now):
    """The dispatch, locked, if it is due and nobody holds it. Locks the dispatch's row only,
    not the joined letter's: a lock on the letter would make other workers skip the
    letter's other dispatches (and anything else that locks the letter)."""
    return (Dispatch.objects.select_for_update(skip_locked=True, of=("self",)).select_related("letter")
            .filter(pk=dispatch_id, status=DispatchStatus.QUEUED).exclude(channel__in=batched_channels())
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))


def claim(dispatch_id, now=None):
    """Take a due dispatch for sending, or None if it is not due, already taken or done."""
    now = now or timezone.now()
    with transaction.atomic():
        dispatch = claimable(dispatch_id, now).first()
        if dispatch is None:
            return None
        dispatch.status = DispatchStatus.SENDING
        dispatch.attempts += 1
        dispatch.claimed_at = now
        dispatch.save(update_fields=["status", "attempts", "claimed_at", "updated_at"])
    return dispatch


def _finish(dispatch, **changes):
    """Record an outcome, unless someone changed the row meanwhile (cancelled it)."""
    changes["updated_at"] = timezone.now()
    updated = Dispatch.objects.filter(pk=dispatch.pk, status=DispatchStatus.SENDING).update(**changes)
    for name, value in changes.items():
        setattr(dispatch, name, value)
    return bool(updated)


def deliver(dispatch, now=None):
    """Send a claimed dispatch and record the outcome. Returns the dispatch. ``now`` is the
    clock the back-off counts from (the worker's, or a test's)."""
    try:
        result = get_channel(dispatch.channel).send(dispatch)
    except DeliveryError as exc:
        return record_failure(dispatch, exc, now)
    except Exception as exc:
        _outcome_unknown(dispatch, exc)
        raise
    record_success(dispatch, result)
    return dispatch


def _outcome_unknown(dispatch, exc):
    # Unknown whether anything left: keep the row "sending" (never resent on its own).
    Dispatch.objects.filter(pk=dispatch.pk).update(last_error=f"unexpected error, outcome unknown: {exc!r}")
    dispatch.last_error = f"unexpected error, outcome unknown: {exc!r}"
    logger.exception("Dispatch %s failed unexpectedly; left as sending for a person to check", dispatch.pk)


def record_success(dispatch, result):
    _finish(dispatch, status=DispatchStatus.SENT, sent_at=timezone.now(), last_error="", next_attempt_at=None,
            provider_message_id=(result.provider_message_id or "")[:255],
            recipient=(result.recipient or dispatch.recipient)[:255])
    log(dispatch.letter, log_actions.LETTER_DISPATCHED, data=_log_data(dispatch))
    return dispatch


def record_failure(dispatch, exc, now=None):
    """The outcome of a send that raised a DeliveryError: retried later, failed (and its
    fallback planned), or left "sending" when the provider may have it."""
    letter = dispatch.letter
    if isinstance(exc, TemporaryDeliveryError):
        if dispatch.attempts >= retry_policy()["MAX_ATTEMPTS"]:
            _finish(dispatch, status=DispatchStatus.FAILED, last_error=f"gave up after {dispatch.attempts} "
                                                                       f"attempts: {exc}", next_attempt_at=None)
            log(letter, log_actions.LETTER_DISPATCH_FAILED, data=_log_data(dispatch))
            plan_fallback(dispatch)
        else:
            next_attempt = (now or timezone.now()) + backoff(dispatch.attempts)
            _finish(dispatch, status=DispatchStatus.QUEUED, last_error=str(exc), next_attempt_at=next_attempt)
            enqueue([dispatch.pk], run_after=next_attempt)
        return dispatch
    if isinstance(exc, PermanentDeliveryError):
        _finish(dispatch, status=DispatchStatus.FAILED, last_error=str(exc), next_attempt_at=None)
        log(letter, log_actions.LETTER_DISPATCH_FAILED, data=_log_data(dispatch))
        plan_fallback(dispatch)
        return dispatch
    # UncertainDeliveryError, or a backend's own kind: nothing proves it was not delivered.
    # Stays "sending": reported by stale_dispatches(), resent only by a person (requeue).
    Dispatch.objects.filter(pk=dispatch.pk).update(last_error=f"outcome unknown: {exc}")
    dispatch.last_error = f"outcome unknown: {exc}"
    log(letter, log_actions.LETTER_DISPATCH_FAILED, data=_log_data(dispatch))
    return dispatch


def _log_data(dispatch):
    return {"reference": dispatch.letter.reference, "channel": dispatch.channel, "recipient": dispatch.recipient,
            "attempts": dispatch.attempts, "status": dispatch.status, "error": dispatch.last_error}


def deliver_and_sync(dispatch, now=None):
    try:
        return deliver(dispatch, now)
    finally:
        sync_delivery(dispatch.letter)


def process_dispatch(dispatch_id):
    dispatch = claim(dispatch_id)
    return deliver_and_sync(dispatch) if dispatch is not None else None


def due_dispatches(now=None):
    now = now or timezone.now()
    return Dispatch.objects.filter(status=DispatchStatus.QUEUED).exclude(channel__in=batched_channels()).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).order_by("next_attempt_at", "pk")


def process_due(limit=500, now=None):
    """Send every due dispatch (several workers may run this at once), in groups
    (``deliver_many``). Returns how many were claimed by this call."""
    return deliver_many(list(due_dispatches(now).values_list("pk", flat=True)[:limit]), now)


# Delivery in bulk: a batch chunk's dispatches ---------------------------------------------

def delivery_claim_size():
    return max(1, int(get_setting("BACKGROUND").get("DELIVERY_CLAIM", 25)))


def claim_many(dispatch_ids, now=None):
    """Take the due, unclaimed ones among ``dispatch_ids`` for sending, in one transaction:
    each is ``sending`` (committed) before anything is sent, as with ``claim``."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(Dispatch.objects.select_for_update(skip_locked=True, of=("self",)).order_by("pk")
                   .filter(pk__in=dispatch_ids, status=DispatchStatus.QUEUED).exclude(channel__in=batched_channels())
                   .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).values_list("pk", flat=True))
        if not ids:
            return []
        Dispatch.objects.filter(pk__in=ids).update(status=DispatchStatus.SENDING, attempts=F("attempts") + 1,
                                                   claimed_at=now, updated_at=now)
    return list(Dispatch.objects.filter(pk__in=ids).order_by("pk"))


def _with_letters(dispatches):
    """The dispatches' letters loaded once each (one Letter per letter, shared by its
    dispatches, so the PDF is read once), with what the archive sidecar reads."""
    from ..models import LetterFragmentPin

    pins = Prefetch("fragment_pins", queryset=LetterFragmentPin.objects.select_related("fragment"))
    letters = Letter.objects.select_related("template", "generated_by").prefetch_related(pins).in_bulk(
        {dispatch.letter_id for dispatch in dispatches})
    for dispatch in dispatches:
        dispatch.letter = letters[dispatch.letter_id]
    return letters


def deliver_many(dispatch_ids, now=None):
    """Send the due ones among ``dispatch_ids``: claimed ``DELIVERY_CLAIM`` at a time (one
    commit), each channel's share sent through its ``send_many`` (email: one SMTP connection
    for the whole call, a chunk's emails), the outcomes recorded together in one transaction with their log entries
    sealed in bulk and the letters' register entries updated. A dispatch whose send raised
    something that is not a DeliveryError stays ``sending`` (outcome unknown), as in
    ``deliver``. Returns how many were claimed."""
    claimed = 0
    size = delivery_claim_size()
    channels = {}  # one backend per channel for the whole call: email keeps its SMTP connection
    try:
        claimed = _deliver_groups(dispatch_ids, size, channels, now)
    finally:
        for channel in channels.values():
            channel.close()
    return claimed


def _deliver_groups(dispatch_ids, size, channels, now):
    from .audit import sealed_in_bulk

    claimed = 0
    for start in range(0, len(dispatch_ids), size):
        dispatches = claim_many(dispatch_ids[start:start + size], now)
        if not dispatches:
            continue
        claimed += len(dispatches)
        letters = _with_letters(dispatches)
        outcomes = []
        by_channel = {}
        for dispatch in dispatches:
            by_channel.setdefault(dispatch.channel, []).append(dispatch)
        for channel, group in by_channel.items():
            if channel not in channels:
                channels[channel] = get_channel(channel)
            try:
                for dispatch, outcome in channels[channel].send_many(group):
                    outcomes.append((dispatch, outcome))
            except Exception as exc:
                done = {dispatch.pk for dispatch, _outcome in outcomes}
                for dispatch in group:
                    if dispatch.pk not in done:
                        _outcome_unknown(dispatch, exc)
        with transaction.atomic(), sealed_in_bulk():
            _record_many(outcomes, now)
            sync_delivery_many(list(letters))
    return claimed


def _record_many(outcomes, now=None):
    from .audit import bulk_log

    sent = []
    when = timezone.now()
    for dispatch, outcome in outcomes:
        if isinstance(outcome, DeliveryError):
            record_failure(dispatch, outcome, now)
            continue
        dispatch.status, dispatch.sent_at, dispatch.last_error, dispatch.next_attempt_at = (
            DispatchStatus.SENT, when, "", None)
        dispatch.provider_message_id = (outcome.provider_message_id or "")[:255]
        dispatch.recipient = (outcome.recipient or dispatch.recipient)[:255]
        dispatch.updated_at = when
        sent.append(dispatch)
    # Only rows still "sending" (nobody cancelled them meanwhile) record the outcome: those
    # are locked, then updated by one statement for the group.
    still = set(Dispatch.objects.select_for_update().filter(
        pk__in=[dispatch.pk for dispatch in sent], status=DispatchStatus.SENDING).values_list("pk", flat=True))
    sent = [dispatch for dispatch in sent if dispatch.pk in still]
    if not sent:
        return

    def per_dispatch(field):
        return Case(*[When(pk=dispatch.pk, then=Value(getattr(dispatch, field))) for dispatch in sent],
                    output_field=CharField())

    Dispatch.objects.filter(pk__in=[dispatch.pk for dispatch in sent]).update(
        status=DispatchStatus.SENT, sent_at=when, last_error="", next_attempt_at=None, updated_at=when,
        provider_message_id=per_dispatch("provider_message_id"), recipient=per_dispatch("recipient"))
    bulk_log([dispatch.letter for dispatch in sent], log_actions.LETTER_DISPATCHED,
             data=_DispatchLogData(sent))


class _DispatchLogData:
    """``bulk_log``'s data for each letter of ``sent``, in order (a letter may come twice)."""

    def __init__(self, sent):
        self.items = iter(sent)

    def __call__(self, letter):
        return _log_data(next(self.items))


def stale_dispatches(now=None):
    """Dispatches left "sending" by a worker that stopped: the provider may or may not have
    accepted them. Reported, never resent automatically."""
    now = now or timezone.now()
    limit = now - datetime.timedelta(seconds=retry_policy()["STALE_AFTER"])
    return Dispatch.objects.filter(status=DispatchStatus.SENDING, claimed_at__lt=limit)


@transaction.atomic
def requeue(dispatch, user):
    """A person decided to send again (after checking a stale or failed dispatch)."""
    dispatch = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
    if dispatch.status not in (DispatchStatus.FAILED, DispatchStatus.SENDING, DispatchStatus.BOUNCED):
        raise ValueError(f"a {dispatch.status} dispatch cannot be sent again")
    dispatch.status = DispatchStatus.QUEUED
    dispatch.next_attempt_at = timezone.now()
    dispatch.save(update_fields=["status", "next_attempt_at", "updated_at"])
    log(dispatch.letter, log_actions.LETTER_DISPATCH_REQUEUED, user=user, data=_log_data(dispatch))
    sync_delivery(dispatch.letter)
    transaction.on_commit(lambda: enqueue([dispatch.pk]))
    return dispatch
