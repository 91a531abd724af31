"""Signal receivers, connected from AppConfig.ready()."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from wagtail.models import ModelLogEntry, PageLogEntry

from .models import AuditSeal
from .services import audit


@receiver(post_save, sender=ModelLogEntry, dispatch_uid="correspondence_seal_model_log")
def seal_model_log_entry(sender, instance, created, raw=False, using=None, **kwargs):
    if created and not raw:
        audit.seal(AuditSeal.MODEL, instance, using=using)


@receiver(post_save, sender=PageLogEntry, dispatch_uid="correspondence_seal_page_log")
def seal_page_log_entry(sender, instance, created, raw=False, using=None, **kwargs):
    if created and not raw:
        audit.seal(AuditSeal.PAGE, instance, using=using)
