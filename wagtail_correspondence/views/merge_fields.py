"""The fields a merge-field picker offers, as JSON (static/wagtail_correspondence/js/merge-fields.js)."""

import json

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views import View
from wagtail.admin.staticfiles import versioned_static
from wagtail.permission_policies.pages import PagePermissionPolicy

from ..merge_fields import picker_payload
from ..models import DataDictionary, LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage


def can_author_content(user):
    """Who writes merge fields: those who may add or change fragments, or letter templates in
    the template library. Agents fill letters; they never write merge fields."""
    if not user.is_active:
        return False
    if user.has_perm("wagtail_correspondence.add_fragment") or user.has_perm("wagtail_correspondence.change_fragment"):
        return True
    pages = PagePermissionPolicy().instances_user_has_any_permission_for(user, ["add", "change"])
    return pages.type(TemplateLibraryPage, TemplateFolderPage, LetterTemplatePage).exists()


class MergeFieldsView(View):
    """The picker's list for one dictionary. The URL guard (viewsets.py) admits authors only."""

    def get(self, request, pk):
        dictionary = get_object_or_404(DataDictionary, pk=pk)
        response = JsonResponse(picker_payload(dictionary))
        response["Cache-Control"] = "private, no-store"  # the dictionary changes as it is edited
        return response


def picker_script():
    """The picker's stylesheet and script for the editor pages, with the endpoint and wording in
    data attributes (no inline script); and the script that names the rich-text editors."""
    strings = {
        "button": _("Insert merge field"),
        "title": _("Insert a merge field"),
        "search": _("Search the fields"),
        "search_placeholder": _("Label, name or type, e.g. balance"),
        "close": _("Close"),
        "loading": _("Loading the fields…"),
        "failed": _("The fields could not be loaded. Try again."),
        "no_results": _("No field matches."),
        "example": _("e.g."),
        "choose_dictionary": _("Choose the data dictionary first: the picker lists its fields."),
    }
    url = reverse("wagtailsnippets_wagtail_correspondence_datadictionary:merge_fields", args=[0])
    return format_html(
        '<link rel="stylesheet" href="{}">'
        '<script src="{}"></script>'
        '<script src="{}" data-merge-fields-url="{}" data-strings="{}"></script>',
        versioned_static("wagtail_correspondence/css/merge-fields.css"),
        versioned_static("wagtail_correspondence/js/rich-text-labels.js"),
        versioned_static("wagtail_correspondence/js/merge-fields.js"),
        url[: -len("0/")], json.dumps({key: str(value) for key, value in strings.items()}),
    )
