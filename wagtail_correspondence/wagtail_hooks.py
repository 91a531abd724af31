import copy

from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from . import log_actions
from .modeladmin import (
    BusinessCalendarAdmin,
    CategoryAdmin,
    CorrespondenceAdmin,
    DepartmentAdmin,
    RetentionPolicyAdmin,
    RoutingRuleAdmin,
    SlaPolicyAdmin,
)
from .review import editors as review_editors
from .services import register_access
from .services.letters import can_build_letters
from .services.subject_access import can_export_subject_access
from .views import translations as translation_views
from .views.register import dashboard
from .views.register import urls as register_urls
from .services.letter_approval import may_approve_letters
from .views.letters.dashboard import LetterApprovalPanel
from .viewsets import ContentLibraryViewSetGroup, LetterApprovalRuleViewSet, LetterViewSet

register_snippet(ContentLibraryViewSetGroup)
modeladmin_register(DepartmentAdmin)

# Four-eyes review of content (review/): no Publish button; an approval that carries changes is
# saved as an edit; content edited in review is reviewed again from its new revision.
hooks.register("construct_snippet_action_menu", review_editors.remove_publish_from_snippet_menu)
hooks.register("before_edit_page", review_editors.page_approval_with_changes)
hooks.register("after_edit_snippet", review_editors.review_latest_revision)
hooks.register("after_edit_page", review_editors.review_latest_revision)
hooks.register("before_edit_snippet", review_editors.show_requested_changes)
# Before wagtail-localize's own hook, which would publish the variant.
hooks.register("before_edit_snippet", translation_views.translation_publish_sends_to_review, order=-1)
hooks.register("before_edit_page", translation_views.translation_publish_sends_to_review, order=-1)
hooks.register("before_edit_snippet", translation_views.warn_out_of_date, order=-1)
hooks.register("before_edit_page", translation_views.warn_out_of_date, order=-1)
hooks.register("before_edit_page", review_editors.show_requested_changes)
hooks.register("after_edit_page", review_editors.review_words_in_page_messages)
hooks.register("after_create_page", review_editors.review_words_in_page_messages)


def _registered(model_admin_class):
    """Register a ModelAdmin and keep the instance, for the menu's links and permissions."""
    instance = model_admin_class()
    instance.register_with_wagtail()
    return instance


register_admin = _registered(CorrespondenceAdmin)
category_admin = _registered(CategoryAdmin)
routing_admin = _registered(RoutingRuleAdmin)
sla_admin = _registered(SlaPolicyAdmin)
calendar_admin = _registered(BusinessCalendarAdmin)
retention_admin = _registered(RetentionPolicyAdmin)
letter_viewset = LetterViewSet()
approval_rule_viewset = LetterApprovalRuleViewSet()


@hooks.register("register_admin_viewset")
def register_letter_viewset():
    return letter_viewset


@hooks.register("register_admin_viewset")
def register_approval_rule_viewset():
    return approval_rule_viewset


@hooks.register("register_admin_viewset")
def register_letter_template_listing():
    from .views.template_library import LetterTemplateListingViewSet

    return LetterTemplateListingViewSet()


@hooks.register("register_log_actions")
def register_correspondence_log_actions(actions):
    log_actions.register(actions)


class NewLetterMenuItem(MenuItem):
    def is_shown(self, request):
        return can_build_letters(request.user)


class LetterListMenuItem(MenuItem):
    def is_shown(self, request):
        return letter_viewset.permission_policy.user_has_any_permission(request.user, ["add", "change", "view"])


class ApprovalQueueMenuItem(MenuItem):
    def is_shown(self, request):
        return may_approve_letters(request.user)


class ApprovalRulesMenuItem(MenuItem):
    def is_shown(self, request):
        return approval_rule_viewset.permission_policy.user_has_any_permission(
            request.user, ["add", "change", "delete", "view"])


@hooks.register("register_admin_menu_item")
def register_letters_menu():
    menu = Menu(items=[
        NewLetterMenuItem(_("New letter"), reverse("wagtail_correspondence_letters:add"), icon_name="plus", order=100),
        LetterListMenuItem(_("Drafts"), reverse("wagtail_correspondence_letters:index") + "?status=draft",
                           icon_name="draft", order=200),
        LetterListMenuItem(_("All letters"), reverse("wagtail_correspondence_letters:index"), icon_name="mail",
                           order=300),
        ApprovalQueueMenuItem(_("Awaiting approval"),
                              reverse("wagtail_correspondence_letters:index") + "?status=pending_approval",
                              icon_name="tasks", order=350),
        LetterListMenuItem(_("Batches"), reverse("wagtail_correspondence_letters:batches"), icon_name="table",
                           order=400),
        LetterListMenuItem(_("Print runs"), reverse("wagtail_correspondence_letters:print_runs"), icon_name="doc-full-inverse",
                           order=500),
        ApprovalRulesMenuItem(_("Approval rules"), reverse("wagtail_correspondence_letter_approval_rules:index"),
                              icon_name="tasks", order=600),
    ])
    return SubmenuMenuItem(_("Letters"), menu, icon_name="mail", name="letters", order=140)


@hooks.register("construct_page_chooser_queryset")
def keep_template_library_out_of_link_choosers(pages, request):
    """Letter templates are internal; website editors should not link to them."""
    from .models import LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage

    return pages.not_type(TemplateLibraryPage, TemplateFolderPage, LetterTemplatePage)


@hooks.register("construct_main_menu")
def letter_templates_instead_of_pages(request, menu_items):
    """Wagtail's "Pages" menu entry leads to the list of letter templates (its folders one click
    further, in the library's tree), named as such. A site
    that also serves web pages (pages outside the library besides its sites' root pages) keeps
    Wagtail's entry and gets this one beside it."""
    from .models import TemplateLibraryPage
    from .services.setup import library_without_web_pages

    position = next((index for index, item in enumerate(menu_items) if item.name == "explorer"), None)
    if position is None:
        return  # no page permission: Wagtail left its entry out
    item = MenuItem(_("Letter templates"), reverse("letter_templates:index"),
                    name="letter-templates", icon_name="doc-full", order=menu_items[position].order)
    if library_without_web_pages(request):
        menu_items[position] = item
    elif TemplateLibraryPage.objects.exists():
        menu_items.insert(position + 1, item)


# After Wagtail's own hook (order 0), which adds the page count this one replaces.
@hooks.register("construct_homepage_summary_items", order=10)
def letter_templates_instead_of_page_count(request, summary_items):
    """The dashboard counts letter templates, not "Pages" (same rule as the menu above)."""
    from wagtail.admin.site_summary import PagesSummaryItem

    from .services.setup import library_without_web_pages
    from .views.template_library import LetterTemplatesSummaryItem

    library = library_without_web_pages(request)
    if library is None:
        return
    summary_items[:] = [item for item in summary_items if not isinstance(item, PagesSummaryItem)]
    summary_items.append(LetterTemplatesSummaryItem(request, library))


@hooks.register("register_admin_urls")
def register_register_action_urls():
    return [path("correspondence/register/", include(register_urls, namespace="wagtail_correspondence_register"))]


class ListMenuItem(MenuItem):
    """Shown to users who may list what ``model_admin`` manages."""

    def __init__(self, label, url, model_admin, **kwargs):
        self.model_admin = model_admin
        super().__init__(label, url, **kwargs)

    def is_shown(self, request):
        return self.model_admin.permission_helper.user_can_list(request.user)


class RegisterMailMenuItem(MenuItem):
    def is_shown(self, request):
        return register_access.can_register(request.user)


class ExportsMenuItem(MenuItem):
    def is_shown(self, request):
        return register_access.can_export(request.user)


class SubjectAccessMenuItem(MenuItem):
    def is_shown(self, request):
        return can_export_subject_access(request.user)


@hooks.register("register_admin_menu_item")
def register_register_menu():
    index = register_admin.url_helper.index_url
    menu = Menu(items=[
        ListMenuItem(_("My work"), index + "?assignee=me&status__in=registered,assigned,in_progress,awaiting_customer",
                     register_admin, icon_name="user", order=100),
        ListMenuItem(_("Inbound"), index + "?direction__exact=inbound", register_admin, icon_name="download",
                     order=200),
        ListMenuItem(_("Outbound"), index + "?direction__exact=outbound", register_admin, icon_name="upload",
                     order=300),
        ListMenuItem(_("Overdue"), index + "?deadline=overdue", register_admin, icon_name="warning", order=400),
        RegisterMailMenuItem(_("Register incoming mail"), register_admin.url_helper.create_url, icon_name="plus",
                             order=500),
        ListMenuItem(_("Routing rules"), routing_admin.url_helper.index_url, routing_admin, icon_name="redirect",
                     order=600),
        ListMenuItem(_("SLA policies"), sla_admin.url_helper.index_url, sla_admin, icon_name="time", order=700),
        ListMenuItem(_("Categories"), category_admin.url_helper.index_url, category_admin, icon_name="tag",
                     order=800),
        ListMenuItem(_("Business calendars"), calendar_admin.url_helper.index_url, calendar_admin,
                     icon_name="date", order=900),
        ListMenuItem(_("Retention policies"), retention_admin.url_helper.index_url, retention_admin,
                     icon_name="bin", order=1000),
        ExportsMenuItem(_("Exports"), reverse("wagtail_correspondence_register:exports"), icon_name="download",
                        order=1050),
        SubjectAccessMenuItem(_("Subject access export"), reverse("wagtail_correspondence_register:subject_access"),
                              icon_name="download", order=1100),
    ])
    return SubmenuMenuItem(_("Register"), menu, icon_name="folder-open-inverse", name="register", order=130)


@hooks.register("construct_homepage_panels")
def add_register_panels(request, panels):
    if register_admin.permission_helper.user_can_list(request.user):
        panels.insert(0, dashboard.MyWorkPanel(request.user))
        panels.append(dashboard.DepartmentVolumesPanel(request.user, request.GET))
    panels.insert(0, LetterApprovalPanel(request.user))
    panels.append(translation_views.OutOfDateTranslationsPanel(request.user))


@hooks.register("register_admin_urls")
def register_translation_urls():
    # At wagtail-localize's own address, matched first (this app's hooks run before its hooks).
    return [path("localize/translate/<int:translation_id>/disable/", translation_views.stop_translation,
                 name="wagtail_correspondence_stop_translation")]


@hooks.register("register_admin_urls")
def register_audit_log_urls():
    from .views.audit import AuditLogView, VerifyAuditChainView

    return [path("correspondence/audit-log/", include(([
        path("", AuditLogView.as_view(), name="index"),
        path("results/", AuditLogView.as_view(results_only=True), name="results"),
        path("verify/", VerifyAuditChainView.as_view(), name="verify"),
    ], "wagtail_correspondence_audit")))]


class AuditLogMenuItem(MenuItem):
    def is_shown(self, request):
        from .views.audit import can_read_audit_log

        return can_read_audit_log(request.user)


@hooks.register("register_reports_menu_item")
def register_audit_log_menu_item():
    return AuditLogMenuItem(_("Audit log"), reverse("wagtail_correspondence_audit:index"), icon_name="history",
                            order=50)


@hooks.register("construct_reports_menu")
def hide_site_history(request, menu_items):
    # The audit log above replaces it (see views/audit.py).
    menu_items[:] = [item for item in menu_items if item.name != "site-history"]


# Reports about web pages, on a site whose only pages are the template library.
WEB_PAGE_REPORTS = {"aging-pages", "page-types-usage"}


@hooks.register("construct_reports_menu")
def reports_in_the_librarys_words(request, menu_items):
    """Without web pages (same rule as the main menu above), Wagtail's page reports speak of
    letter templates: the locked ones keep their report under that name, and the reports that
    only make sense for a website (aging pages, page types) are left out."""
    from .services.setup import library_without_web_pages

    if library_without_web_pages(request) is None:
        return
    menu_items[:] = [relabelled(item, _("Locked letter templates")) if item.name == "locked-pages" else item
                     for item in menu_items if item.name not in WEB_PAGE_REPORTS]


def relabelled(menu_item, label):
    # A copy: Wagtail hands every request the same registered instances.
    menu_item = copy.copy(menu_item)
    menu_item.label = label
    return menu_item


@hooks.register("construct_help_menu")
def help_without_wagtails_release_notes(request, menu_items):
    """The Help menu keeps the keyboard shortcuts; Wagtail's release notes and editor guide
    (outside links about Wagtail, with a "new" badge on every upgrade) are not this product's."""
    menu_items[:] = [item for item in menu_items
                     if item.name != "editor-guide" and not item.name.startswith("whats-new-in-wagtail")]


@hooks.register("insert_global_admin_js")
def name_admin_widgets():
    """Accessible names for the admin widgets Wagtail leaves unnamed: tables, the minimap, the
    filter button (rich-text areas are named by js/rich-text-labels.js, with the picker)."""
    return format_html('<script src="{}"></script>', static("wagtail_correspondence/js/admin-a11y.js"))


# Authoring: the merge-field picker (merge_fields.py, js/merge-fields.js) ---------------------


@hooks.register("register_rich_text_features")
def register_merge_field_picker(features):
    from wagtail.admin.rich_text.editors.draftail.features import ControlFeature

    # The control's script comes with the editor pages (below), where it learns its endpoint.
    features.register_editor_plugin("draftail", "merge_field", ControlFeature({"type": "merge-field"}))


@hooks.register("insert_editor_js")
def merge_field_picker_script():
    from .views.merge_fields import picker_script

    return picker_script()
