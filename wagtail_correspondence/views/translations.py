"""wagtail-localize's translation editor under the review rules."""

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from wagtail_localize.models import Translation
from wagtail_localize.views.edit_translation import stop_translation as localize_stop_translation

from ..services import translations


def translation_publish_sends_to_review(request, instance):
    """wagtail-localize's translation editor publishes a variant directly ("Publish in French").
    For content under the review policy that would skip the review: the variant is saved as a
    draft with its translated strings and sent to review instead, and the translator is told.
    A ``before_edit_snippet`` hook, run before wagtail-localize's own."""
    if request.method != "POST" or request.POST.get("action") != "publish":
        return None
    translation = translations.reviewed_translation(instance)
    if translation is None:
        return None
    variant = translations.submit_for_review(request.user, instance, translation)
    warn_untranslated(request, translation)
    messages.success(request, _("'%(object)s' (%(language)s) was saved and sent for review: it is used once "
                                "someone else approves it.") % {
        "object": variant, "language": translation.target_locale.get_display_name()})
    return redirect(request.path)


@require_POST
def stop_translation(request, translation_id):
    """wagtail-localize's "Stop Synced translation" (served at its address, before its own
    view). For content under the review policy, what was translated is first written into the
    variant as a draft: the translator then submits it for review in Wagtail's editor, which is
    how those who may not publish (authors) send a translation to review."""
    translation = get_object_or_404(Translation, id=translation_id)
    try:
        instance = translation.get_target_instance()
    except ObjectDoesNotExist:
        instance = None
    if instance is not None and translations.reviewed_translation(instance) == translation:
        translations.keep_as_draft(request.user, instance, translation)
        warn_untranslated(request, translation)
        messages.info(request, _("What was translated is kept as a draft: submit it for review when it is ready."))
    return localize_stop_translation(request, translation_id)


def warn_untranslated(request, translation):
    missing = translations.untranslated_count(translation)
    if missing:
        messages.warning(request, ngettext(
            "%(count)s string is not translated yet: the variant keeps it in the source language (%(language)s).",
            "%(count)s strings are not translated yet: the variant keeps them in the source language "
            "(%(language)s).", missing) % {
            "count": missing, "language": translation.source.locale.get_display_name()})
