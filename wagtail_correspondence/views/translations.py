"""wagtail-localize's translation editor under the review rules."""

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import get_template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from wagtail.admin.ui.components import Component
from wagtail.models import Page
from wagtail.permission_policies.base import ModelPermissionPolicy
from wagtail_localize.models import Translation
from wagtail_localize.views.edit_translation import stop_translation as localize_stop_translation

from ..conf import language_name
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


def warn_out_of_date(request, instance):
    """On the edit page of a source with out-of-date translations, and of such a translation:
    a warning that says so and what brings the changes to translate. A ``before_edit_snippet``
    and ``before_edit_page`` hook."""
    if request.method != "GET" or not hasattr(instance, "translation_key"):
        return None
    instance = instance.specific if isinstance(instance, Page) else instance
    state = translations.translation_states([instance]).get(instance.pk)
    if state is None:
        return None
    sync = _("Sync translated pages") if isinstance(instance, Page) else _("Sync translated snippets")
    if state.state == translations.SOURCE and state.out_of_date:
        messages.warning(request, _(
            "Translations out of date (%(languages)s): they translate what this said before it was last approved. "
            "“%(sync)s” brings the changes to translate.") % {
            "languages": ", ".join(str(language_name(code)) for code in state.out_of_date), "sync": sync})
    elif state.is_out_of_date:
        messages.warning(request, _(
            "This translation is out of date: its source was approved again after it was translated, and a letter "
            "in %(language)s cannot use it. “%(sync)s” on the source brings the changes to translate.") % {
            "language": language_name(instance.locale.language_code), "sync": sync})
    return None


class OutOfDateTranslationsPanel(Component):
    """The translators' dashboard: the live translations whose source was approved again since
    (fragments, layouts and letter templates), to translate again. Shown to whoever may change
    wording, and only when there is something to do."""

    name = "correspondence_translations_out_of_date"
    order = 70
    template_name = "wagtail_correspondence/panels/translations_out_of_date.html"
    SHOWN = 20

    def __init__(self, user):
        self.user = user

    def stale(self):
        from ..models import Fragment, Layout, LetterTemplatePage

        found = []
        for model, kind, name_of, url_of in (
                (Fragment, _("Fragment"), lambda obj: obj.key, _snippet_edit_url),
                (Layout, _("Layout"), lambda obj: obj.name, _snippet_edit_url),
                (LetterTemplatePage, _("Letter template"), lambda obj: obj.title,
                 lambda obj: reverse("wagtailadmin_pages:edit", args=[obj.pk]))):
            for variant, source in translations.out_of_date_variants(model):
                found.append({"name": name_of(variant), "kind": kind, "url": url_of(variant),
                              "source_url": url_of(source), "language": variant.locale.language_code,
                              "language_name": variant.locale.get_display_name(),
                              "source_published_at": source.last_published_at})
        return sorted(found, key=lambda item: item["source_published_at"], reverse=True)[:self.SHOWN]

    def render_html(self, parent_context=None):
        from ..models import Fragment

        if not ModelPermissionPolicy(Fragment).user_has_permission(self.user, "change"):
            return ""
        stale = self.stale()
        if not stale:
            return ""
        return get_template(self.template_name).render({"stale": stale})


def _snippet_edit_url(instance):
    return reverse(f"wagtailsnippets_{instance._meta.app_label}_{instance._meta.model_name}:edit", args=[instance.pk])
