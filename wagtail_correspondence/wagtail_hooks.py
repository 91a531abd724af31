from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from . import log_actions
from .modeladmin import DepartmentAdmin
from .services.letters import can_build_letters
from .viewsets import ContentLibraryViewSetGroup, LetterViewSet

register_snippet(ContentLibraryViewSetGroup)
modeladmin_register(DepartmentAdmin)
letter_viewset = LetterViewSet()


@hooks.register("register_admin_viewset")
def register_letter_viewset():
    return letter_viewset


@hooks.register("register_log_actions")
def register_correspondence_log_actions(actions):
    log_actions.register(actions)


class NewLetterMenuItem(MenuItem):
    def is_shown(self, request):
        return can_build_letters(request.user)


class LetterListMenuItem(MenuItem):
    def is_shown(self, request):
        return letter_viewset.permission_policy.user_has_any_permission(request.user, ["add", "change", "view"])


@hooks.register("register_admin_menu_item")
def register_letters_menu():
    menu = Menu(items=[
        NewLetterMenuItem(_("New letter"), reverse("wagtail_correspondence_letters:add"), icon_name="plus", order=100),
        LetterListMenuItem(_("Drafts"), reverse("wagtail_correspondence_letters:index") + "?status=draft",
                           icon_name="draft", order=200),
        LetterListMenuItem(_("All letters"), reverse("wagtail_correspondence_letters:index"), icon_name="mail",
                           order=300),
        LetterListMenuItem(_("Batches"), reverse("wagtail_correspondence_letters:batches"), icon_name="table",
                           order=400),
        LetterListMenuItem(_("Print runs"), reverse("wagtail_correspondence_letters:print_runs"), icon_name="doc-full-inverse",
                           order=500),
    ])
    return SubmenuMenuItem(_("Letters"), menu, icon_name="mail", name="letters", order=140)


@hooks.register("construct_page_chooser_queryset")
def keep_template_library_out_of_link_choosers(pages, request):
    """Letter templates are internal; website editors should not link to them."""
    from .models import LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage

    return pages.not_type(TemplateLibraryPage, TemplateFolderPage, LetterTemplatePage)
