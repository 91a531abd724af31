"""What customers do in the portal: open a letter, acknowledge it, reply."""

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import log_actions
from ..conf import get_setting
from ..models import Dispatch, DispatchStatus, PortalResponse

# Content is checked by its first bytes, never by the name or the browser's word.
SIGNATURES = [(b"%PDF-", "application/pdf", "pdf"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
              (b"\xff\xd8\xff", "image/jpeg", "jpg")]


def sniff(head):
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None, None


def check_upload(upload):
    """(content, content type, extension) of an acceptable attachment, or ValidationError."""
    settings = get_setting("PORTAL")
    if upload.size > settings["MAX_UPLOAD_BYTES"]:
        raise ValidationError(_("The file is larger than %(mb)s MB.") % {
            "mb": settings["MAX_UPLOAD_BYTES"] // 1024 // 1024})
    content = upload.read()
    content_type, extension = sniff(content[:16])
    if content_type is None or content_type not in settings["ALLOWED_UPLOAD_TYPES"]:
        raise ValidationError(_("Attach a PDF, PNG or JPEG file."))
    return content, content_type, extension


def open_letter(dispatch):
    """The customer opened the link: the portal delivery is complete (once)."""
    updated = Dispatch.objects.filter(pk=dispatch.pk, status__in=[DispatchStatus.SENT, DispatchStatus.QUEUED]).update(
        status=DispatchStatus.DELIVERED, delivered_at=timezone.now(), updated_at=timezone.now())
    if updated:
        log(dispatch.letter, log_actions.LETTER_PORTAL_OPENED, data={"reference": dispatch.letter.reference})
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
    log(letter, log_actions.LETTER_PORTAL_REPLIED, data={"reference": letter.reference,
                                                         "attachment": response.attachment_sha256})
    return response
