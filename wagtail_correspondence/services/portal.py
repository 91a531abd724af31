"""What customers do in the portal: open a letter, acknowledge it, reply."""

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..models import Dispatch, DispatchStatus, PortalResponse
from ..uploads import read_upload
from .register_links import register_portal_reply, sync_delivery


def check_upload(upload):
    """(content, content type, extension) of an acceptable attachment, or ValidationError.
    Checked by content (see uploads.py), never by the name or the browser's word."""
    settings = get_setting("PORTAL")
    try:
        return read_upload(upload, allowed=settings["ALLOWED_UPLOAD_TYPES"], max_bytes=settings["MAX_UPLOAD_BYTES"],
                           field="attachment")
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["attachment"]) from exc


def open_letter(dispatch):
    """The customer opened the link: the portal delivery is complete (once)."""
    updated = Dispatch.objects.filter(pk=dispatch.pk, status__in=[DispatchStatus.SENT, DispatchStatus.QUEUED]).update(
        status=DispatchStatus.DELIVERED, delivered_at=timezone.now(), updated_at=timezone.now())
    if updated:
        log(dispatch.letter, log_actions.LETTER_PORTAL_OPENED, data={"reference": dispatch.letter.reference})
        sync_delivery(dispatch.letter)
    return bool(updated)


@transaction.atomic
def acknowledge(dispatch):
    letter = dispatch.letter
    existing = letter.portal_responses.filter(kind=PortalResponse.ACKNOWLEDGEMENT).first()
    if existing is not None:
        return existing
    response = PortalResponse.objects.create(letter=letter, kind=PortalResponse.ACKNOWLEDGEMENT)
    log(letter, log_actions.LETTER_PORTAL_ACKNOWLEDGED, data={"reference": letter.reference})
    return response


@transaction.atomic
def reply(dispatch, text, upload=None):
    from django.core.files.base import ContentFile

    letter = dispatch.letter
    response = PortalResponse(letter=letter, kind=PortalResponse.REPLY, text=text)
    if upload is not None:
        content, content_type, extension = check_upload(upload)
        response.attachment_type = content_type
        response.attachment_size = len(content)
        response.attachment_sha256 = hashlib.sha256(content).hexdigest()
        response.attachment_name = (upload.name or "attachment").rsplit("/", 1)[-1][:255]
        response.attachment.save(f"reply.{extension}", ContentFile(content), save=False)
    response.save()
    # The register entry first: it takes the reference counter, and every writer takes the
    # counter before the audit chain's head, never the other way round (no deadlock).
    register_portal_reply(response)  # an inbound entry in the letter's thread
    log(letter, log_actions.LETTER_PORTAL_REPLIED, data={"reference": letter.reference,
                                                         "attachment": response.attachment_sha256})
    return response
