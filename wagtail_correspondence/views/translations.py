"""wagtail-localize's translation editor under the review rules."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

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
    messages.success(request, _("'%(object)s' (%(language)s) was saved and sent for review: it is used once "
                                "someone else approves it.") % {
        "object": variant, "language": translation.target_locale.get_display_name()})
    return redirect(request.path)
