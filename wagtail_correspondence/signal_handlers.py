"""Signal receivers, connected from AppConfig.ready()."""

import logging

from django.core.signals import setting_changed
from django.db.models.signals import post_save
from django.dispatch import receiver
from wagtail.models import ModelLogEntry, PageLogEntry
from wagtail.signals import copy_for_translation_done, page_published, published
from wagtail_localize.models import TranslationLog, TranslationSource

from . import dates
from .models import AuditSeal, TemplateLibraryPage
from .services import audit
from .services.setup import attach_library_rules
from .services.translations import note_wording, record_capture, record_translated_revision

logger = logging.getLogger(__name__)


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


# What changes how a date is written: the formatted dates dates.py keeps are forgotten.
DATE_SETTINGS = frozenset({"DATE_FORMAT", "DATETIME_FORMAT", "FORMAT_MODULE_PATH", "USE_L10N", "USE_TZ", "TIME_ZONE",
                           "LANGUAGE_CODE", "LANGUAGES"})


@receiver(setting_changed, dispatch_uid="correspondence_date_formats_changed")
def date_formats_changed(sender, setting, **kwargs):
    if setting in DATE_SETTINGS:
        dates.forget_formats()


@receiver(copy_for_translation_done, dispatch_uid="correspondence_library_translated")
def library_translated(sender, source_obj, target_obj, **kwargs):
    """Translating a template copies its library into the new language first: the copy gets the
    review workflow and the roles' permissions of the library."""
    if isinstance(target_obj, TemplateLibraryPage):
        attach_library_rules(target_obj)


@receiver(post_save, sender=TranslationSource, dispatch_uid="correspondence_translation_source_captured")
def translation_source_captured(sender, instance, raw=False, **kwargs):
    """wagtail-localize read the source's wording again: which revision it read."""
    if not raw:
        record_capture(instance)


@receiver(post_save, sender=TranslationLog, dispatch_uid="correspondence_translation_written")
def translation_written(sender, instance, created, raw=False, **kwargs):
    """wagtail-localize wrote translated strings into a variant: which source revision they translate."""
    if created and not raw:
        record_translated_revision(instance)


@receiver(published, dispatch_uid="correspondence_wording_published")
@receiver(page_published, dispatch_uid="correspondence_page_wording_published")
def wording_published(sender, instance, revision=None, **kwargs):
    """Content in several languages published: what a translator would be given of it, so that
    approving a source again with the same wording leaves its translations up to date."""
    if revision is not None and hasattr(instance, "translation_key") and hasattr(instance, "live_revision"):
        try:
            note_wording(instance, revision.pk)
        except Exception:  # noqa: BLE001 (a digest not noted only means "changed": never fail a publication)
            logger.exception("Could not note the wording of %s revision %s", type(instance).__name__, revision.pk)
