"""Admin viewsets of the content library, configured by attributes."""

import django_filters
from django.contrib.auth import get_user_model
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, TitleColumn, UpdatedAtColumn
from wagtail.admin.widgets import Button
from wagtail.admin.utils import get_latest_str
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.snippets.views.snippets import EditView, SnippetViewSet, SnippetViewSetGroup
from wagtail.snippets.views.snippets import IndexView as SnippetIndexView

from .exports import FormulaSafeExportMixin
from .forms import DataDictionaryForm, LetterApprovalRuleForm, MergeFieldCheckedForm
from .models import (
    ContentCategory,
    DataDictionary,
    Enclosure,
    Fragment,
    Layout,
    Letter,
    LetterApprovalRule,
    LetterBatch,
)
from .permissions import (
    batch_policy,
    guard_patterns,
    letter_policy,
    permission_rule,
    policy_rule,
    portal_response_policy,
    print_run_policy,
)
from .review.editors import form_changes_content, review_message, warn_approval_refused
from .review.rules import under_review_policy
from .review.views import ReviewedContentViewSetMixin, ReviewStatusColumn, ReviewStatusIndexMixin, review_status_filter
from .services.letter_access import search_letters
from .services.letters import can_build_letters, can_edit_draft
from .services.usage import fragment_usage
from .views.compare import FragmentSideBySideView
from .views.translation_columns import LanguageColumn, TranslationColumn, TranslationStateIndexMixin
from .views.enclosures import EnclosurePdfView
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
    BatchResultsView,
    BatchResumeView,
    BatchStartView,
)
from .views.letters.approval import LetterDecisionView, LetterWithdrawView
from .views.letters.detail import LetterInspectView, LetterPdfView, PortalAttachmentView
from .views.letters.printing import PrintRunDetailView, PrintRunFileView, PrintRunIndexView, PrintRunProgressView
from .views.merge_fields import MergeFieldsView, can_author_content


class UpdatedColumn(UpdatedAtColumn):
    """Wagtail's "Updated" column, labelled lazily: Wagtail's labels itself with gettext() when
    it is made, and the listings here are made at import, in no reader's language."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Updated"))
        super().__init__(**kwargs)


class FragmentFilterSet(WagtailFilterSet):
    review_status = review_status_filter()
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
        return str(fragment_usage(instance))


class ReviewedSnippetEditView(EditView):
    """Wagtail's snippet editor saves a new revision before every workflow action. With
    WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT that revision needs approving again, so
    "Approve" from the editor's footer would never complete. Like Wagtail's page editor, save a
    revision for a workflow action only when the reviewer changed something. Under four-eyes,
    an approval that changes the content is saved as a plain edit and approves nothing: the new
    revision is the reviewer's own and needs another reviewer (review/editors.py)."""

    approval_refused = False

    def content_changed(self):
        return form_changes_content(self.form)

    def save_instance(self):
        if self.action == "workflow-action":
            if not self.content_changed():
                self.new_revision = None
                return self.object
            if self.workflow_action == "approve" and under_review_policy(self.model):
                self.action, self.approval_refused = "edit", True
        return super().save_instance()

    def get_success_message(self, instance=None):
        if self.approval_refused:
            warn_approval_refused(self.request)  # instead of "updated", which would read as approved
            return None
        if self.action in ("workflow-action", "submit"):
            # Wagtail says "updated" after an approval and "submitted for moderation".
            return review_message(self.workflow_action if self.action == "workflow-action" else "submit",
                                  get_latest_str(instance or self.object))
        return super().get_success_message(instance)


class FragmentEditView(ReviewedSnippetEditView):
    @property
    def header_more_buttons(self):
        return super().header_more_buttons + [Button(
            _("Compare side by side"), icon_name="history", priority=40,
            url=reverse("wagtailsnippets_wagtail_correspondence_fragment:side_by_side", args=[self.object.pk]))]


class FormulaSafeSnippetIndexView(FormulaSafeExportMixin, SnippetIndexView):
    """Snippet lists export formula-safe spreadsheets (exports.py)."""


class ReviewedSnippetIndexView(TranslationStateIndexMixin, ReviewStatusIndexMixin, FormulaSafeSnippetIndexView):
    """Lists of content under review, with each row's review status and, for translatable
    content, where it stands as a translation."""


class LayoutFilterSet(WagtailFilterSet):
    review_status = review_status_filter()

    class Meta:
        model = Layout
        fields = ["live"]


class FragmentViewSet(ReviewedContentViewSetMixin, SnippetViewSet):
    model = Fragment
    index_view_class = ReviewedSnippetIndexView
    icon = "doc-full"
    menu_label = _("Fragments")
    menu_order = 100
    url_prefix = "correspondence/fragments"
    list_display = [
        "title", "key", LanguageColumn("language", label=_("Language")), TranslationColumn(),
        Column("category", label=_("Category")), UsageColumn("usage", label=_("Used in")), ReviewStatusColumn(),
        DateColumn("review_by", label=_("Review by")), UpdatedColumn(),
    ]
    list_export = ["title", "key", "language", "category", "owning_department", "live", "review_by"]
    filterset_class = FragmentFilterSet
    # The model's own index fields: restricting the search to named fields fails on SQLite's
    # full-text tables ("no such column: key", a 500 for any search).
    search_fields = None
    inspect_view_enabled = True
    copy_view_enabled = True

    edit_handler = ObjectList(Fragment.panels, base_form_class=MergeFieldCheckedForm)
    edit_view_class = FragmentEditView

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("side-by-side/<int:pk>/", FragmentSideBySideView.as_view(), name="side_by_side"),
        ]


class LayoutViewSet(ReviewedContentViewSetMixin, SnippetViewSet):
    index_view_class = ReviewedSnippetIndexView
    model = Layout
    icon = "doc-empty"
    menu_label = _("Layouts")
    menu_order = 200
    url_prefix = "correspondence/layouts"
    list_display = [
        "name", Column("locale", label=_("Language")), TranslationColumn(), "page_size", "address_window",
        BooleanColumn("show_page_numbers", label=_("Page X of Y")), ReviewStatusColumn(), UpdatedColumn(),
    ]
    filterset_class = LayoutFilterSet
    inspect_view_enabled = True
    edit_view_class = ReviewedSnippetEditView


class DataDictionaryViewSet(SnippetViewSet):
    index_view_class = FormulaSafeSnippetIndexView
    model = DataDictionary
    icon = "list-ul"
    menu_label = _("Data dictionaries")
    menu_order = 300
    url_prefix = "correspondence/data-dictionaries"
    list_display = ["name", Column("field_count", label=_("Fields"), accessor="fields.count"), UpdatedColumn()]
    inspect_view_enabled = True
    edit_handler = ObjectList(DataDictionary.panels, base_form_class=DataDictionaryForm)

    def get_urlpatterns(self):
        # The merge-field picker of the fragment and template editors reads the fields here.
        picker = [path("merge-fields/<int:pk>/", MergeFieldsView.as_view(), name="merge_fields")]
        return super().get_urlpatterns() + guard_patterns(picker, rules={"merge_fields": [
            permission_rule("pk", can_author_content, "authors of fragments and templates")]})


class ContentCategoryViewSet(SnippetViewSet):
    index_view_class = FormulaSafeSnippetIndexView
    model = ContentCategory
    icon = "tag"
    menu_label = _("Categories")
    menu_order = 400
    url_prefix = "correspondence/categories"
    list_display = ["name", "description"]
    panels = [FieldPanel("name"), FieldPanel("description")]


def can_view_enclosures(user):
    return user.is_active and user.has_perm("wagtail_correspondence.view_enclosure")


class EnclosureFilterSet(WagtailFilterSet):
    review_status = review_status_filter()

    class Meta:
        model = Enclosure
        fields = ["live", "owning_department"]


class EnclosureViewSet(ReviewedContentViewSetMixin, SnippetViewSet):
    """The enclosure library: PDFs sent with letters, reviewed like the wording."""

    index_view_class = ReviewedSnippetIndexView
    model = Enclosure
    icon = "doc-full-inverse"
    menu_label = _("Enclosures")
    menu_order = 250
    url_prefix = "correspondence/enclosures"
    list_display = ["title", "key", Column("pages", label=_("Pages")), ReviewStatusColumn(), UpdatedColumn()]
    list_export = ["title", "key", "pages", "file_sha256", "live"]
    filterset_class = EnclosureFilterSet
    search_fields = None  # the model's own index fields (see FragmentViewSet)
    inspect_view_enabled = True
    edit_view_class = ReviewedSnippetEditView

    def get_urlpatterns(self):
        # The editor's "Current PDF" link: the file sits in private storage, which has no URL.
        return super().get_urlpatterns() + guard_patterns(
            [path("pdf/<int:pk>/", EnclosurePdfView.as_view(), name="pdf")],
            rules={"pdf": [permission_rule("pk", can_view_enclosures, "staff who may see the enclosure library")]})


class ContentLibraryViewSetGroup(SnippetViewSetGroup):
    menu_label = _("Content library")
    menu_icon = "folder-open-inverse"
    menu_order = 150
    items = (FragmentViewSet, LayoutViewSet, EnclosureViewSet, DataDictionaryViewSet, ContentCategoryViewSet)


# Letters --------------------------------------------------------------------------------


class LetterIndexView(FormulaSafeExportMixin, generic.IndexView):
    add_item_label = _("New letter")

    def get_base_queryset(self):
        return letter_policy.scope(self.request.user, "view",
                                   super().get_base_queryset().select_related("template", "created_by"))

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


def letter_authors(request):
    """Who wrote letters the user may see: the only people the "Agent" filter offers and
    accepts. Any other id, of an account or of no one, is refused the same way, and the
    list does not show every account of the site."""
    if request is None:
        return get_user_model().objects.none()
    letters = letter_policy.instances_user_has_permission_for(request.user, "view")
    return get_user_model().objects.filter(pk__in=letters.values("created_by")).order_by(
        "first_name", "last_name", "pk")


def letter_batches(request):
    """The batches the user may see: the only ones the "Batch" filter offers and accepts."""
    if request is None:
        return LetterBatch.objects.none()
    return batch_policy.scope(request.user, "view", LetterBatch.objects.select_related("template"))


class LetterFilterSet(WagtailFilterSet):
    created_by = django_filters.ModelChoiceFilter(queryset=letter_authors, label=_("Agent"))
    # The batch page links here for its letters.
    batch = django_filters.ModelChoiceFilter(field_name="batch_row__batch", queryset=letter_batches,
                                             label=_("Batch"))

    class Meta:
        model = Letter
        fields = ["status", "template", "created_by", "created_at"]


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
        Column("template", label=_("Template")), LanguageColumn("language", label=_("Language")),
        Column("recipient_name", label=_("Recipient")),
        Column("customer_id", label=_("Customer")), Column("created_by", label=_("Agent")),
        DateColumn("generated_at", label=_("Generated")), UpdatedColumn(),
    ]
    filterset_class = LetterFilterSet
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
        # Every pattern that names an object reaches its view only for objects in the user's
        # scope (404 otherwise): Wagtail's generated history, usage and inspect views included.
        builder = permission_rule("template_id", can_build_letters, "builders pick any published template")
        batch = [policy_rule(batch_policy)]
        return guard_patterns(self.letter_urlpatterns(), default=[policy_rule(letter_policy)], exempt=["kind"], rules={
            "build": [builder], "preview": [builder], "preview_pdf": [builder],
            "customer_record": [permission_rule("customer_id", can_build_letters, "builders look customers up")],
            "batch": batch, "batch_progress": batch, "batch_start": batch, "batch_cancel": batch, "batch_resume": batch,
            "batch_results": batch,
            "portal_attachment": [policy_rule(portal_response_policy)],
            "print_run_file": [policy_rule(print_run_policy)],
            "print_run": [policy_rule(print_run_policy)], "print_run_progress": [policy_rule(print_run_policy)],
        })

    def letter_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("new/<int:template_id>/", LetterBuilderView.as_view(), name="build"),
            path("preview/<int:template_id>/", LetterPreviewView.as_view(), name="preview"),
            path("preview-pdf/<int:template_id>/", LetterPdfPreviewView.as_view(), name="preview_pdf"),
            path("pdf/<int:pk>/", LetterPdfView.as_view(), name="pdf"),
            path("decide/<int:pk>/", LetterDecisionView.as_view(), name="decide"),
            path("withdraw/<int:pk>/", LetterWithdrawView.as_view(), name="withdraw"),
            path("customers/", CustomerSearchView.as_view(), name="customer_search"),
            path("customers/<str:customer_id>/", CustomerRecordView.as_view(), name="customer_record"),
            path("batches/", BatchIndexView.as_view(), name="batches"),
            path("batches/new/", BatchCreateView.as_view(), name="batch_create"),
            path("batches/<int:pk>/", BatchDetailView.as_view(), name="batch"),
            path("batches/<int:pk>/progress/", BatchProgressView.as_view(), name="batch_progress"),
            path("batches/<int:pk>/start/", BatchStartView.as_view(), name="batch_start"),
            path("batches/<int:pk>/cancel/", BatchCancelView.as_view(), name="batch_cancel"),
            path("batches/<int:pk>/resume/", BatchResumeView.as_view(), name="batch_resume"),
            path("batches/<int:pk>/results.csv", BatchResultsView.as_view(), name="batch_results"),
            path("portal-attachments/<int:pk>/", PortalAttachmentView.as_view(), name="portal_attachment"),
            path("print-runs/", PrintRunIndexView.as_view(), name="print_runs"),
            path("print-runs/<int:pk>/", PrintRunDetailView.as_view(), name="print_run"),
            path("print-runs/<int:pk>/progress/", PrintRunProgressView.as_view(), name="print_run_progress"),
            path("print-runs/<int:pk>/<str:kind>/", PrintRunFileView.as_view(), name="print_run_file"),
        ]


class ApprovalRuleConditionsColumn(Column):
    def get_value(self, instance):
        return instance.describe()


class ApprovalRuleIndexView(FormulaSafeExportMixin, generic.IndexView):
    """Approval rules export formula-safe spreadsheets (exports.py)."""


class LetterApprovalRuleViewSet(ModelViewSet):
    """The rules that hold letters for a second person's approval (services/letter_approval.py).
    Supervisors and administrators manage them; auditors read them; every change is in the
    rule's history."""

    model = LetterApprovalRule
    index_view_class = ApprovalRuleIndexView
    icon = "tasks"
    menu_label = _("Approval rules")
    add_to_admin_menu = False  # in the "Letters" menu (wagtail_hooks)
    url_prefix = "correspondence/letter-approval-rules"
    url_namespace = "wagtail_correspondence_letter_approval_rules"
    list_display = [
        TitleColumn("name", label=_("Name"), get_url=lambda rule: reverse(
            "wagtail_correspondence_letter_approval_rules:edit", args=[rule.pk])),
        ApprovalRuleConditionsColumn("conditions", label=_("Holds letters when")),
        BooleanColumn("is_active", label=_("Active")), UpdatedColumn(),
    ]
    list_filter = ["is_active", "channel"]
    list_export = ["name", "is_active", "template", "channel", "department", "agent_wrote_text", "confidential_reply",
                   "field", "operator", "value"]
    search_fields = ["name"]
    search_backend_name = None  # a few rows, matched in the database
    copy_view_enabled = False
    edit_handler = ObjectList(LetterApprovalRule.panels, base_form_class=LetterApprovalRuleForm)
