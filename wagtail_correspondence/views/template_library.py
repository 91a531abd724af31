"""The letter template library in Wagtail's admin: the flat list of templates with their review
status, and their count on the dashboard."""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django_filters import DateFromToRangeFilter
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.site_summary import SummaryItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.ui.tables.pages import PageTitleColumn, ParentPageColumn
from wagtail.admin.views.pages.listing import IndexView as PageIndexView
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.views.pages.choose_parent import ChooseParentView
from wagtail.admin.viewsets.pages import PageListingViewSet
from wagtail.admin.widgets.button import HeaderButton

from ..models.fields import channel_choices
from ..models import Department, LetterTemplatePage, TemplateFolderPage, TemplateLibraryPage
from ..review.views import ReviewStatusColumn, ReviewStatusIndexMixin, review_status_filter
from .translation_columns import TranslationColumn, TranslationStateIndexMixin


class LetterTemplatesSummaryItem(SummaryItem):
    """In place of Wagtail's "N Pages": how many letter templates the library holds."""

    order = 100
    template_name = "wagtail_correspondence/admin/summary_letter_templates.html"

    def __init__(self, request, library):
        super().__init__(request)
        self.library = library

    def get_context_data(self, parent_context):
        return {"library": self.library,
                "count": LetterTemplatePage.objects.descendant_of(self.library).count()}

    def is_shown(self):
        return user_has_any_page_permission(self.request.user)


class LetterTemplateFilterSet(WagtailFilterSet):
    """Wagtail's page filters without the web ones (site, child pages): where a template stands,
    how it is sent, who owns it and when it last changed."""

    review_status = review_status_filter()
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=channel_choices, method="filter_channel")
    owning_department = django_filters.ModelChoiceFilter(
        label=_("Owning department"), queryset=lambda request: Department.objects.order_by("path"))
    latest_revision_created_at = DateFromToRangeFilter(label=_("Date updated"), widget=DateRangePickerWidget)

    class Meta:
        model = LetterTemplatePage
        fields = []

    def filter_channel(self, queryset, name, value):
        # A JSON list of channel names: the quoted name is unambiguous inside it, on SQLite and PostgreSQL.
        return queryset.filter(channels__icontains=f'"{value}"') if value else queryset


class LetterTemplateIndexView(TranslationStateIndexMixin, ReviewStatusIndexMixin, PageIndexView):
    """Every letter template at once, with where it stands in its review: the list authors and
    reviewers work from. Folders stay in the library's tree, one click away."""

    page_title = _("Letter templates")
    template_name = "wagtail_correspondence/admin/letter_template_index.html"
    add_item_label = _("New letter template")

    @cached_property
    def header_buttons(self):
        buttons = super().header_buttons
        library = TemplateLibraryPage.objects.first()
        if library is not None:
            buttons.append(HeaderButton(_("Folders"), url=reverse("wagtailadmin_explore", args=[library.pk]),
                                        icon_name="folder-open-inverse"))
        return buttons


class FolderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, page):
        # The folder's path inside the library: "Letter templates › Claims › Motor".
        ancestors = page.get_ancestors(inclusive=True).type(TemplateLibraryPage, TemplateFolderPage)
        return " › ".join(str(ancestor.title) for ancestor in ancestors)


class FolderForm(forms.Form):
    """Wagtail's form offers a page chooser, which the library stays out of (see
    ``keep_template_library_out_of_link_choosers``): here a list of the folders this user may add to."""

    def __init__(self, folders, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["parent_page"] = FolderChoiceField(
            queryset=folders, label=_("Folder"), empty_label=None,
            help_text=_("Where the new letter template is filed in the library"))

    def clean_parent_page(self):
        folder = self.cleaned_data["parent_page"].specific_deferred
        if not folder.permissions_for_user(self.user).can_add_subpage():
            raise forms.ValidationError(_("You may not add letter templates to this folder."))
        return folder


class ChooseFolderView(ChooseParentView):
    page_title = _("New letter template")

    def dispatch(self, request, *args, **kwargs):
        # Someone who may add templates nowhere (an agent) has nothing to choose: refused, not
        # shown an empty list.
        if request.user.is_authenticated and not self.get_valid_parent_pages(request.user).exists():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return ""

    def get_form(self):
        folders = self.get_valid_parent_pages(self.request.user).order_by("path")
        return FolderForm(folders, self.request.user, self.request.POST if self.request.method == "POST" else None)

    @cached_property
    def submit_button_label(self):
        return _("Continue")


class LetterTemplateListingViewSet(PageListingViewSet):
    model = LetterTemplatePage
    name = "letter_templates"
    url_prefix = "correspondence/letter-templates"
    icon = "doc-full"
    menu_label = _("Letter templates")
    add_to_admin_menu = False  # the "Letter templates" entry replaces Wagtail's Pages (wagtail_hooks)
    index_view_class = LetterTemplateIndexView
    choose_parent_view_class = ChooseFolderView
    filterset_class = LetterTemplateFilterSet
    # No bulk actions: publishing goes through review one template at a time (four-eyes), and
    # moving between folders happens in the library's tree.
    columns = [
        PageTitleColumn("title", label=_("Title"), sort_key="title", classname="title"),
        ParentPageColumn("parent", label=_("Folder")),
        ReviewStatusColumn(width="16%"),
        TranslationColumn(width="14%"),
        Column("channels", label=_("Channels"), accessor=lambda page: ", ".join(
            str(dict(channel_choices()).get(name, name)) for name in page.channels), width="18%"),
        DateColumn("latest_revision_created_at", label=_("Updated"), sort_key="latest_revision_created_at",
                   width="14%"),
    ]
