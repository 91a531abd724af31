import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..conf import get_setting


def register_storage():
    """Scans and mail attachments hold personal data: a storage alias of their own, never
    publicly served (files are read through permission-checked views)."""
    return storages[get_setting("REGISTER")["STORAGE"]]


def attachment_path(instance, filename):
    stamp = instance.uploaded_at
    return (f"correspondence/register/{stamp:%Y/%m}/{instance.attachment.correspondence.uuid}/"
            f"{instance.attachment.uuid}/v{instance.number}-{filename}")


class Attachment(models.Model):
    """A document on a register entry (a scan, a mail attachment). Uploading a new version
    keeps every earlier one; the latest is the one shown by default."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    correspondence = models.ForeignKey("wagtail_correspondence.Correspondence", on_delete=models.PROTECT,
                                       related_name="attachments", verbose_name=_("entry"))
    title = models.CharField(_("title"), max_length=255)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.title

    @property
    def latest(self):
        versions = getattr(self, "_prefetched_objects_cache", {}).get("versions")
        if versions is not None:
            return max(versions, key=lambda version: version.number, default=None)
        return self.versions.order_by("-number").first()


class AttachmentVersion(models.Model):
    attachment = models.ForeignKey(Attachment, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), storage=register_storage, upload_to=attachment_path, max_length=255)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("attachment version")
        verbose_name_plural = _("attachment versions")
        ordering = ["attachment", "-number"]
        constraints = [models.UniqueConstraint(fields=["attachment", "number"], name="unique_attachment_version")]

    def __str__(self):
        return f"{self.attachment} v{self.number}"
