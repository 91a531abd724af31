"""Admin list columns that say which language a row is in and where it stands as a
translation: the fragment, layout and letter template lists share them."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, StatusTagColumn

from ..conf import language_name
from ..services.translations import SOURCE, translation_states


class TranslationStateIndexMixin:
    """An index view whose rows carry ``translation_state``, read for the whole page of rows
    at once (``services.translations.translation_states``)."""

    def get_table(self, object_list):
        rows = list(object_list)
        states = translation_states(rows)
        for row in rows:
            row.translation_state = states.get(row.pk)
        return super().get_table(rows)


class LanguageColumn(Column):
    """A language code as its name in the reader's language ("French" for "fr")."""

    def get_value(self, instance):
        return language_name(super().get_value(instance)) or "—"


class TranslationColumn(StatusTagColumn):
    """A source: the languages it is translated into, and those out of date. A variant: up to
    date, or out of date since its source was approved again."""

    def __init__(self, **kwargs):
        super().__init__("translation_state", label=_("Translations"), sort_key=None, primary=self.up_to_date,
                         **kwargs)

    @staticmethod
    def up_to_date(instance):
        state = getattr(instance, "translation_state", None)
        return state is not None and not state.is_out_of_date and not state.out_of_date

    def get_value(self, instance):
        state = getattr(instance, "translation_state", None)
        if state is None:
            return "—"
        if state.state == SOURCE:
            languages = ", ".join(code.upper() for code in state.languages)
            if state.out_of_date:
                return _("Translated: %(languages)s · out of date: %(stale)s") % {
                    "languages": languages, "stale": ", ".join(code.upper() for code in state.out_of_date)}
            return _("Translated: %(languages)s") % {"languages": languages}
        return _("Out of date") if state.is_out_of_date else _("Up to date")
