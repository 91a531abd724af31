"""Where a language variant stands against its source: the revision of the source each
translation was made from, and the rule letters and the screens share.

wagtail-localize copies a source's wording into a ``TranslationSource`` (when a translation is
started, and again on "Update translations"), and writes translated strings into a variant as a
new revision, logging it (``TranslationLog``). Neither says which revision of the source the
wording came from: these two records do, from signals (``signal_handlers``).
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class TranslationCapture(models.Model):
    """The revision of the source whose wording wagtail-localize last read into a
    translation source: the source's live revision at that moment, because wagtail-localize
    reads the source's row, which holds its published (approved) wording."""

    translation_source = models.OneToOneField("wagtail_localize.TranslationSource", on_delete=models.CASCADE,
                                              primary_key=True, related_name="+")
    source_revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.SET_NULL, null=True,
                                        related_name="+")

    class Meta:
        verbose_name = _("translation capture")


class TranslatedRevision(models.Model):
    """A revision of a language variant that wagtail-localize wrote from translated strings,
    and the revision of the source they translate. A revision written by hand in the editor
    has none: it translates what the variant's last translated revision translated."""

    revision = models.OneToOneField("wagtailcore.Revision", on_delete=models.CASCADE, primary_key=True,
                                    related_name="translated_from")
    # Null when that revision is gone (purged: it was no longer live, so neither is its wording).
    source_revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.SET_NULL, null=True,
                                        related_name="+")

    class Meta:
        verbose_name = _("translated revision")


class RevisionWording(models.Model):
    """A digest of what a translator is given of a revision (wagtail-localize's segments: its
    strings, templates and related objects), noted when the revision is published or read for
    translation: a source approved again with the same wording (a change of its category, its
    expiry date) leaves its translations up to date."""

    revision = models.OneToOneField("wagtailcore.Revision", on_delete=models.CASCADE, primary_key=True,
                                    related_name="+")
    digest = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("revision wording")


NOT_RECORDED = object()  # the variant's wording was never written by wagtail-localize with a known source


def is_out_of_date(source_live_revision_id, source_published_at, variant_written_at, translated_from=NOT_RECORDED,
                   wordings=None):
    """Whether a variant's live wording says what its source used to say.

    Where the source revision it was translated from is known (``translated_from``, from
    ``translated_from_revisions``): when that is not the source's live revision and the two
    revisions' wordings (``wordings``: {revision id: digest}, from ``wordings_of``) are not
    known to be the same. Where it is not (a variant copied or written before translations were
    recorded): when the source was approved (published) again after the variant's live wording
    was written."""
    if translated_from is not NOT_RECORDED:
        if translated_from == source_live_revision_id:
            return False
        wordings = wordings or {}
        return wordings.get(translated_from) is None or wordings.get(translated_from) != wordings.get(
            source_live_revision_id)
    return bool(source_published_at and variant_written_at and source_published_at > variant_written_at)


def wordings_of(revision_ids):
    """{revision id: wording digest} of those of ``revision_ids`` whose wording was noted."""
    ids = {revision_id for revision_id in revision_ids if revision_id is not NOT_RECORDED and revision_id}
    return dict(RevisionWording.objects.filter(revision_id__in=ids).values_list("revision_id", "digest")) if ids else {}


def _base_content_type(model):
    # What Wagtail files revisions under: the model's topmost concrete parent (Page for templates).
    parents = model._meta.get_parent_list()
    return ContentType.objects.get_for_model(parents[-1] if parents else model)


def translated_from_revisions(model, live_revisions):
    """{pk: source revision id} for the rows of ``model`` (with revisions) whose live revisions
    ``live_revisions`` ({pk: live revision id}) names: what each live revision translates, taken
    from the newest translated revision up to the live one, so that a correction made in the
    editor keeps its translation's source. A row with no such revision is left out. One query."""
    live = {str(pk): revision_id for pk, revision_id in live_revisions.items() if revision_id}
    if not live:
        return {}
    rows = (TranslatedRevision.objects
            .filter(revision__base_content_type=_base_content_type(model),
                    revision__object_id__in=list(live), revision_id__lte=max(live.values()))
            .order_by("revision_id").values_list("revision__object_id", "revision_id", "source_revision_id"))
    found = {}
    for object_id, revision_id, source_revision_id in rows:
        if revision_id <= live[object_id]:
            found[object_id] = source_revision_id  # in order: the newest up to the live one wins
    return {pk: found[str(pk)] for pk in live_revisions if str(pk) in found}
