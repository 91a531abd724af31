"""Admin viewsets of the content library, configured by attributes."""

import django_filters
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, UpdatedAtColumn
from django.urls import path, reverse
from wagtail.admin.widgets import Button
from wagtail.snippets.views.snippets import EditView, SnippetViewSet, SnippetViewSetGroup

from .forms import MergeFieldCheckedForm
from .models import ContentCategory, DataDictionary, Fragment, Layout
from .views.compare import FragmentSideBySideView


class FragmentFilterSet(WagtailFilterSet):
    review_overdue = django_filters.BooleanFilter(label=_("Review overdue"), method="filter_review_overdue")

    class Meta:
        model = Fragment
        fields = ["live", "language", "category", "owning_department", "data_dictionary"]

    def filter_review_overdue(self, queryset, name, value):
        from django.utils import timezone

        today = timezone.localdate()
        if value:
            return queryset.filter(review_by__lt=today)
        return queryset.exclude(review_by__lt=today)


class UsageColumn(Column):
    def get_value(self, instance):
        return instance.usage_summary.total


class FragmentEditView(EditView):
    @property
    def header_more_buttons(self):
        return super().header_more_buttons + [Button(
            _("Compare side by side"), icon_name="history", priority=40,
            url=reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[self.object.pk]))]


class FragmentViewSet(SnippetViewSet):
    model = Fragment
    icon = "doc-full"
    menu_label = _("Fragments")
    menu_order = 100
    url_prefix = "correspondence/fragments"
    list_display = [
        "title", "key", Column("language", label=_("Language")), Column("category", label=_("Category")),
        UsageColumn("usage", label=_("Used in templates")), DateColumn("review_by", label=_("Review by")),
        UpdatedAtColumn(),
    ]
    list_export = ["title", "key", "language", "category", "owning_department", "live", "review_by"]
    filterset_class = FragmentFilterSet
    search_fields = ["title", "key"]
    inspect_view_enabled = True
    copy_view_enabled = True

    edit_handler = ObjectList(Fragment.panels, base_form_class=MergeFieldCheckedForm)
    edit_view_class = FragmentEditView

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("side-by-side/<int:pk>/", FragmentSideBySideView.as_view(), name="side_by_side"),
        ]


class LayoutViewSet(SnippetViewSet):
    model = Layout
    icon = "doc-empty"
    menu_label = _("Layouts")
    menu_order = 200
    url_prefix = "correspondence/layouts"
    list_display = [
        "name", "page_size", "address_window", BooleanColumn("show_page_numbers", label=_("Page X of Y")),
        UpdatedAtColumn(),
    ]
    inspect_view_enabled = True


class DataDictionaryViewSet(SnippetViewSet):
    model = DataDictionary
    icon = "list-ul"
    menu_label = _("Data dictionaries")
    menu_order = 300
    url_prefix = "correspondence/data-dictionaries"
    list_display = ["name", Column("field_count", label=_("Fields"), accessor="fields.count"), UpdatedAtColumn()]
    inspect_view_enabled = True


class ContentCategoryViewSet(SnippetViewSet):
    model = ContentCategory
    icon = "tag"
    menu_label = _("Categories")
    menu_order = 400
    url_prefix = "correspondence/categories"
    list_display = ["name", "description"]
    panels = [FieldPanel("name"), FieldPanel("description")]


class ContentLibraryViewSetGroup(SnippetViewSetGroup):
    menu_label = _("Content library")
    menu_icon = "folder-open-inverse"
    menu_order = 150
    items = (FragmentViewSet, LayoutViewSet, DataDictionaryViewSet, ContentCategoryViewSet)
