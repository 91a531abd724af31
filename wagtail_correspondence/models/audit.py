from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditChainHead(models.Model):
    """The end of the audit chain: one row, locked while a link is added, so that links are
    numbered and chained one after the other however many processes write log entries. Its
    HMAC (``mac``, under the key ``key_id``) says how long the chain is, so that cutting links
    off the end is seen by whoever lacks the key."""

    sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    key_id = models.CharField(max_length=16, blank=True, default="")
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("audit chain head")
        permissions = [("view_audit_log", "Can browse, export and verify the whole audit log")]

    def __str__(self):
        return str(_("Audit log"))


class AuditSeal(models.Model):
    """One link of the audit chain: the SHA-256 of a Wagtail log entry's content chained to
    the link before it (``entry_hash``), and the seal proper, an HMAC-SHA256 of that hash under
    an audit key from the environment (``mac``; ``key_id`` names the key, never the key itself).
    Editing or deleting a log entry (or a link) breaks the chain where it happened, and
    recomputing the chain without the key breaks the seals; ``services.audit.verify`` reports
    both, and checkpoints (``services/audit_checkpoints.py``) catch a chain recomputed with it."""

    MODEL, PAGE = "model", "page"

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    log_model = models.CharField(_("log"), max_length=10, choices=[(MODEL, _("Model log")), (PAGE, _("Page log"))])
    log_id = models.PositiveBigIntegerField(_("log entry"))
    entry_hash = models.CharField(_("hash"), max_length=64)
    previous_hash = models.CharField(_("previous hash"), max_length=64)
    key_id = models.CharField(_("key id"), max_length=16, blank=True, default="")
    mac = models.CharField(_("seal (HMAC)"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        ordering = ["sequence"]
        constraints = [models.UniqueConstraint(fields=["log_model", "log_id"], name="unique_audit_seal")]

    def __str__(self):
        return f"#{self.sequence} {self.log_model} {self.log_id}"
