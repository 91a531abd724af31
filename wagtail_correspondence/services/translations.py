"""Language variants of the wording library (wagtail-localize), under the review rules.

wagtail-localize makes a variant by copying its source and writes translated strings into it
when its editor publishes (``Translation.save_target``). Content under the review policy is
never published that way: ``submit_for_review`` writes the translated strings into the
variant as a new draft revision and sends that revision to the review workflow, where another
person approves it, as for any other change of wording.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from wagtail.permission_policies.base import ModelPermissionPolicy
from wagtail_localize.models import Translation

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
    policy = ModelPermissionPolicy(type(instance))
    if not (user.is_active and (user.is_superuser or policy.user_has_permission(user, "change"))):
        raise PermissionDenied(_("You may not change this wording."))
    translation.save_target(user=user, publish=False)
    return type(instance).objects.get(pk=instance.pk)


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
