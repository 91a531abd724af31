"""Admin viewsets of the content library, configured by attributes."""

import json
import re

import django_filters
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, TitleColumn, UpdatedAtColumn
from wagtail.admin.widgets import Button
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.snippets.views.snippets import EditView, SnippetViewSet, SnippetViewSetGroup

from .forms import MergeFieldCheckedForm
from .models import ContentCategory, DataDictionary, Fragment, Layout, Letter
from .services.letter_access import search_letters, visible_letters
from .services.letters import can_edit_draft
from .views.compare import FragmentSideBySideView
from .views.letters.builder import (
    ChooseTemplateView,
    CustomerRecordView,
    CustomerSearchView,
    DiscardDraftView,
    LetterBuilderView,
    LetterPdfPreviewView,
    LetterPreviewView,
)
from .views.letters.batches import (
    BatchCancelView,
    BatchCreateView,
    BatchDetailView,
    BatchIndexView,
    BatchProgressView,
    BatchResumeView,
    BatchStartView,
)
from .views.letters.detail import LetterInspectView, LetterPdfView, PortalAttachmentView
from .views.letters.printing import PrintRunFileView, PrintRunIndexView


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
        return str(instance.usage_summary)


BLOCK_KEY_RE = re.compile(r'\s+data-block-key=\\?"[^"\\]*\\?"')  # also inside JSON strings


class ReviewedSnippetEditView(EditView):
    """Wagtail's snippet editor saves a new revision before every workflow action. With
    WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT that revision needs approving again, so
    "Approve" from the editor's footer would never complete. Like Wagtail's page editor, save a
    revision for a workflow action only when the reviewer changed something."""

    def content_changed(self):
        for name in self.form.changed_data:
            field = self.form.fields[name]
            if not hasattr(field, "block"):
                return True
            # The rich text editor adds data-block-key attributes to text saved by code (the
            # demo, imports); that alone is not a change of wording.
            before = json.dumps(field.block.get_prep_value(self.form[name].initial))
            after = json.dumps(field.block.get_prep_value(self.form.cleaned_data[name]))
            if BLOCK_KEY_RE.sub("", before) != BLOCK_KEY_RE.sub("", after):
                return True
        return False

    def save_instance(self):
        if self.action == "workflow-action" and not self.content_changed():
            self.new_revision = None
            return self.object
        return super().save_instance()


class FragmentEditView(ReviewedSnippetEditView):
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
        UsageColumn("usage", label=_("Used in")), DateColumn("review_by", label=_("Review by")),
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
    edit_view_class = ReviewedSnippetEditView


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


# Letters --------------------------------------------------------------------------------


class LetterIndexView(generic.IndexView):
    add_item_label = _("New letter")

    def get_base_queryset(self):
        return visible_letters(self.request.user, super().get_base_queryset().select_related("template", "created_by"))

    def search_queryset(self, queryset):
        # Words matched within the scoped queryset: Wagtail's search backend could not apply
        # the department scope (its filters are index fields only).
        if not self.is_searching:
            return queryset
        return search_letters(queryset, self.search_query)

    def get_edit_url(self, instance):
        # Generated letters open on their page; drafts in the builder (for their agent).
        if instance.is_draft and can_edit_draft(self.request.user, instance):
            return reverse("wagtail_correspondence_letters:edit", args=[instance.pk])
        return reverse("wagtail_correspondence_letters:inspect", args=[instance.pk])


class LetterStatusColumn(Column):
    def get_value(self, instance):
        return instance.get_status_display()


class LetterViewSet(ModelViewSet):
    """Letters: the list with filters, each letter's page and history. Creating and editing
    go through the letter builder, never through a model form."""

    model = Letter
    icon = "mail"
    menu_label = _("Letters")
    add_to_admin_menu = False  # the "Letters" menu (wagtail_hooks) holds New letter and the list
    url_prefix = "correspondence/letters"
    url_namespace = "wagtail_correspondence_letters"
    index_view_class = LetterIndexView
    inspect_view_enabled = True
    inspect_view_class = LetterInspectView
    copy_view_enabled = False
    list_display = [
        TitleColumn("letter", label=_("Letter"), accessor="__str__",
                    get_url=lambda letter: reverse("wagtail_correspondence_letters:inspect", args=[letter.pk])),
        LetterStatusColumn("status", label=_("Status")),
        Column("template", label=_("Template")), Column("recipient_name", label=_("Recipient")),
        Column("customer_id", label=_("Customer")), Column("created_by", label=_("Agent")),
        DateColumn("generated_at", label=_("Generated")), UpdatedAtColumn(),
    ]
    list_filter = ["status", "template", "created_by", "created_at"]
    list_export = ["reference", "status", "template", "recipient_name", "customer_id", "created_by", "created_at",
                   "generated_at", "pdf_sha256"]
    search_fields = ["reference", "recipient_name", "customer_id", "subject"]
    form_fields = []

    @property
    def add_view(self):
        return ChooseTemplateView.as_view()

    @property
    def edit_view(self):
        return LetterBuilderView.as_view()

    @property
    def delete_view(self):
        return DiscardDraftView.as_view()

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("new/<int:template_id>/", LetterBuilderView.as_view(), name="build"),
            path("preview/<int:template_id>/", LetterPreviewView.as_view(), name="preview"),
            path("preview-pdf/<int:template_id>/", LetterPdfPreviewView.as_view(), name="preview_pdf"),
            path("pdf/<int:pk>/", LetterPdfView.as_view(), name="pdf"),
            path("customers/", CustomerSearchView.as_view(), name="customer_search"),
            path("customers/<str:customer_id>/", CustomerRecordView.as_view(), name="customer_record"),
            path("batches/", BatchIndexView.as_view(), name="batches"),
            path("batches/new/", BatchCreateView.as_view(), name="batch_create"),
            path("batches/<int:pk>/", BatchDetailView.as_view(), name="batch"),
            path("batches/<int:pk>/progress/", BatchProgressView.as_view(), name="batch_progress"),
            path("batches/<int:pk>/start/", BatchStartView.as_view(), name="batch_start"),
            path("batches/<int:pk>/cancel/", BatchCancelView.as_view(), name="batch_cancel"),
            path("batches/<int:pk>/resume/", BatchResumeView.as_view(), name="batch_resume"),
            path("portal-attachments/<int:pk>/", PortalAttachmentView.as_view(), name="portal_attachment"),
            path("print-runs/", PrintRunIndexView.as_view(), name="print_runs"),
            path("print-runs/<int:pk>/<str:kind>/", PrintRunFileView.as_view(), name="print_run_file"),
        ]
