"""Language variants of the wording library (wagtail-localize), under the review rules.

wagtail-localize makes a variant by copying its source and writes translated strings into it
when its editor publishes (``Translation.save_target``). Content under the review policy is
never published that way: ``submit_for_review`` writes the translated strings into the
variant as a new draft revision and sends that revision to the review workflow, where another
person approves it, as for any other change of wording.
"""

import hashlib
import json
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from wagtail.models import Locale, Page
from wagtail.permission_policies.base import ModelPermissionPolicy
from wagtail_localize.models import Translation, TranslationSource

from ..models.translation_state import (
    NOT_RECORDED, RevisionWording, TranslatedRevision, TranslationCapture, is_out_of_date, translated_from_revisions,
    wordings_of)
from ..review.rules import under_review_policy


def active_translation(instance):
    """The enabled translation ``instance`` is the target of (its variant in its language), or
    None when it is nobody's translation (a source, or a variant edited on its own since)."""
    if not hasattr(instance, "translation_key"):
        return None
    return (Translation.objects.filter(source__object_id=instance.translation_key, target_locale_id=instance.locale_id,
                                       enabled=True).select_related("source", "target_locale").first())


def reviewed_translation(instance):
    """The translation of ``instance`` whose publication goes through the review instead."""
    return active_translation(instance) if under_review_policy(instance) else None


def keep_as_draft(user, instance, translation):
    """Write the translation's strings into the variant as a draft revision by ``user``."""
    if not may_change(user, instance):
        raise PermissionDenied(_("You may not change this wording."))
    translation.save_target(user=user, publish=False)
    return type(instance).objects.get(pk=instance.pk)


def may_change(user, instance):
    """Whether ``user`` may change ``instance``: a page (a letter template) by its tree's page
    permissions, a snippet by its model permission."""
    if not user.is_active:
        return False
    if isinstance(instance, Page):
        return instance.permissions_for_user(user).can_edit()
    return user.is_superuser or ModelPermissionPolicy(type(instance)).user_has_permission(user, "change")


def submit_for_review(user, instance, translation):
    """Write the translation's strings into the variant as a draft revision by ``user`` and
    send the variant to its review workflow (unless a review of it is under way: the review then
    goes on from the new revision). Returns the variant as saved.

    The translation is then stopped (wagtail-localize's "synced translation"): the variant is
    reviewed in Wagtail's own editor, with its comparisons and review actions, which
    wagtail-localize's editor does not offer. When the source changes, "Start synced
    translation" on the variant brings the new strings to translate."""
    variant = keep_as_draft(user, instance, translation)
    workflow = variant.get_workflow()
    if workflow is not None and not variant.workflow_in_progress:
        workflow.start(variant, user)
    translation.enabled = False
    translation.save(update_fields=["enabled"])
    return variant


def untranslated_count(translation):
    """How many of the source's strings have no translation yet: the variant says them in the
    source's language until they do."""
    total, translated = translation.get_progress()
    return total - translated


# Out of date ------------------------------------------------------------------------------
#
# A language variant is out of date when the source revision its approved wording was
# translated from is no longer the source's live (approved) one: the translation says what the
# source used to say. The source is the object in the locale its translations were made from
# (wagtail-localize's TranslationSource), else the one in the default locale. A correction made
# in the editor keeps the source revision its translation had: only translating again from the
# new source ("Sync translated …" in wagtail-localize, then the changed strings) brings a
# variant up to date. For variants written before sources were recorded, the rule falls back
# to dates (models/translation_state.py).


def record_capture(translation_source):
    """Note which revision of the source wagtail-localize just read into ``translation_source``:
    the live one (it reads the source's row, which holds the published wording)."""
    model = translation_source.specific_content_type.model_class()
    if model is None or not hasattr(model, "live_revision"):
        return
    source = model.objects.filter(translation_key=translation_source.object_id,
                                  locale_id=translation_source.locale_id).first()
    live_revision_id = source.live_revision_id if source is not None else None
    TranslationCapture.objects.update_or_create(translation_source=translation_source,
                                                defaults={"source_revision_id": live_revision_id})
    if live_revision_id and not RevisionWording.objects.filter(revision_id=live_revision_id).exists():
        note_wording(source, live_revision_id)


def note_wording(instance, revision_id):
    """Note the digest of what a translator is given of ``instance`` (wagtail-localize's
    segments, which stand for revision ``revision_id``). Overridable segments (an image a
    variant may replace) are not wording."""
    from wagtail_localize.segments import (
        RelatedObjectSegmentValue, StringSegmentValue, TemplateSegmentValue)
    from wagtail_localize.segments.extract import extract_segments

    parts = []
    for segment in extract_segments(instance):
        if isinstance(segment, StringSegmentValue):
            parts.append(["string", segment.path, segment.string.data, segment.attrs])
        elif isinstance(segment, TemplateSegmentValue):
            parts.append(["template", segment.path, segment.format, segment.template])
        elif isinstance(segment, RelatedObjectSegmentValue):
            parts.append(["object", segment.path, segment.content_type.natural_key(), str(segment.translation_key)])
    digest = hashlib.sha256(json.dumps(sorted(parts, key=str), sort_keys=True, default=str).encode()).hexdigest()
    RevisionWording.objects.update_or_create(revision_id=revision_id, defaults={"digest": digest})
    return digest


def record_translated_revision(log):
    """Note, for the variant revision ``log`` (a wagtail-localize TranslationLog) records, the
    source revision its strings translate: the one captured in its translation source."""
    if log.revision_id is None:
        return
    capture = TranslationCapture.objects.filter(translation_source_id=log.source_id).first()
    TranslatedRevision.objects.update_or_create(
        revision_id=log.revision_id, defaults={"source_revision_id": capture.source_revision_id if capture else None})


SOURCE, UP_TO_DATE, OUT_OF_DATE = "source", "up_to_date", "out_of_date"


@dataclass(frozen=True)
class TranslationState:
    state: str  # SOURCE, UP_TO_DATE or OUT_OF_DATE
    languages: tuple = ()  # of a source: the languages it has variants in
    out_of_date: tuple = ()  # of a source: the languages whose variants are out of date
    source: int = None  # of a variant: its source's pk

    @property
    def is_out_of_date(self):
        return self.state == OUT_OF_DATE


def translation_states(objects):
    """{pk: TranslationState} for ``objects`` of one translatable model (with revisions) that
    have variants in other languages; an object with none is left out. A few queries for all."""
    objects = list(objects)
    if not objects or not hasattr(objects[0], "translation_key"):
        return {}
    model = type(objects[0])
    keys = {obj.translation_key for obj in objects}
    rows = list(model.objects.filter(translation_key__in=keys).values(
        "pk", "translation_key", "locale_id", "locale__language_code", "last_published_at", "live_revision_id",
        "live_revision__created_at"))
    live = {row["pk"]: row["live_revision_id"] for row in rows}
    translated_from = translated_from_revisions(model, live)
    # Only where a variant translates another revision than a live one: are the wordings the same?
    behind = set(translated_from.values()) - set(live.values())
    wordings = wordings_of([*behind, *live.values()]) if behind else {}
    by_key = {}
    for row in rows:
        by_key.setdefault(row["translation_key"], []).append(row)
    source_locales = dict(TranslationSource.objects.filter(
        object_id__in=[str(key) for key in keys], specific_content_type=ContentType.objects.get_for_model(model))
        .values_list("object_id", "locale_id"))
    default_locale = Locale.get_default().pk
    states = {}
    for key, family in by_key.items():
        if len(family) < 2:
            continue
        source_locale = source_locales.get(str(key), default_locale)
        source = next((row for row in family if row["locale_id"] == source_locale), None)
        if source is None:
            continue
        behind = {row["pk"] for row in family if row is not source and is_out_of_date(
            source["live_revision_id"], source["last_published_at"], row["live_revision__created_at"],
            translated_from.get(row["pk"], NOT_RECORDED), wordings)}
        for row in family:
            if row is source:
                states[row["pk"]] = TranslationState(
                    SOURCE, tuple(sorted(other["locale__language_code"] for other in family if other is not source)),
                    tuple(sorted(other["locale__language_code"] for other in family if other["pk"] in behind)))
            else:
                states[row["pk"]] = TranslationState(OUT_OF_DATE if row["pk"] in behind else UP_TO_DATE,
                                                     source=source["pk"])
    return {obj.pk: states[obj.pk] for obj in objects if obj.pk in states}


def out_of_date_variants(model):
    """(variant, source) of the live variants of ``model`` that are out of date."""
    candidates = list(model.objects.filter(live=True).select_related("locale"))
    states = translation_states(candidates)
    stale = [obj for obj in candidates if states.get(obj.pk) and states[obj.pk].is_out_of_date]
    sources = model.objects.in_bulk([states[obj.pk].source for obj in stale])
    return [(obj, sources[states[obj.pk].source]) for obj in stale]
