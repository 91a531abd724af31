"""Signal receivers, connected from AppConfig.ready()."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from wagtail.models import ModelLogEntry, PageLogEntry

from .models import AuditSeal
from .services import audit


def _seal(kind, instance, using):
    pending = audit.sealing_deferred()
    if pending is not None:  # inside audit.sealed_in_bulk(): sealed with the others at its end
        pending.append((kind, instance))
    else:
        audit.seal(kind, instance, using=using)


@receiver(post_save, sender=ModelLogEntry, dispatch_uid="correspondence_seal_model_log")
def seal_model_log_entry(sender, instance, created, raw=False, using=None, **kwargs):
    if created and not raw:
        _seal(AuditSeal.MODEL, instance, using)


@receiver(post_save, sender=PageLogEntry, dispatch_uid="correspondence_seal_page_log")
def seal_page_log_entry(sender, instance, created, raw=False, using=None, **kwargs):
    if created and not raw:
        _seal(AuditSeal.PAGE, instance, using)
