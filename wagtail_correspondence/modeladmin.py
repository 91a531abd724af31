"""The register side of the admin through wagtail-modeladmin: register entries,
departments, categories, routing rules, SLA policies and business calendars. Configured by
attributes; the register's own views live in views/register/."""

import datetime
from collections import OrderedDict
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.utils import lookup_field, quote
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import EmptyPage, InvalidPage
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Value
from django.forms.utils import flatatt
from django.http import HttpRequest, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.localization import get_localized_response
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.log_actions import log
from wagtail_modeladmin.helpers import ButtonHelper, PermissionHelper, WagtailBackendSearchHandler
from wagtail_modeladmin.options import ModelAdmin
from wagtail_modeladmin.views import IndexView, WMABaseView

from . import dates, log_actions
from .conf import get_setting
from .exports import FormulaSafeExportMixin
from .forms import BusinessCalendarForm, CategoryForm, DepartmentForm, RoutingRuleForm, VersionedForm
from .models import (
    BusinessCalendar,
    Category,
    Correspondence,
    Department,
    Direction,
    RetentionPolicy,
    RoutingRule,
    SlaPolicy,
)
from .permissions import guard_patterns, permission_rule, policy_rule, register_entry_policy
from .services import register_access as access
from .services import register_exports
from .services.register_access import search_entries
from .views.register.entries import EditEntryView, EntryInspectView, RegisterIncomingView
from .views.register.forms import workers


class CheckedIndexView(IndexView):
    """wagtail-modeladmin takes every unknown query parameter for a field lookup and raises
    (a 500 for ``?search=x``); Django's admin would say the filter is wrong. So do we."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except IncorrectLookupParameters:
            kept = request.GET.copy()
            for name in list(kept):
                if name not in self.IGNORED_PARAMS:
                    del kept[name]
            messages.error(request, _("That filter is not available here; the list is shown without it."))
            return redirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)


class GuardedModelAdmin(ModelAdmin):
    """wagtail-modeladmin's views behind the object scope of ``object_rule`` (permissions/):
    a URL naming an object answers 404 unless the user may see that object, whatever the
    view does itself. Its history view is not offered: it checked no permission at all, and
    the audit log (views/audit.py) is where the history of records is read. ``removed_views``
    names other generated views the product does not need."""

    history_view_enabled = False
    removed_views = ()
    index_view_class = CheckedIndexView

    def object_rule(self):
        # Settings-like models are not scoped per object: whoever may list them may open one.
        return permission_rule("instance_pk", self.permission_helper.user_can_list)

    def get_admin_urls_for_registration(self):
        names = {self.url_helper.get_action_url_name(view) for view in self.removed_views}
        patterns = [url for url in super().get_admin_urls_for_registration() if url.name not in names]
        return tuple(guard_patterns(patterns, rules={}, default=[self.object_rule()]))


class DepartmentAdmin(GuardedModelAdmin):
    model = Department
    menu_label = _("Departments")
    menu_icon = "group"
    menu_order = 900
    add_to_settings_menu = True
    list_display = ("indented_name", "code", "email", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    ordering = ("path",)
    edit_handler = ObjectList([
        FieldPanel("parent"), FieldPanel("name"), FieldPanel("code"), FieldPanel("email"),
        FieldPanel("description"), FieldPanel("members"), FieldPanel("supervisor"), FieldPanel("calendar"),
        FieldPanel("is_active"),
    ], base_form_class=DepartmentForm)

    def indented_name(self, obj):
        return obj.indented_name

    indented_name.short_description = _("Name")
    indented_name.admin_order_field = "path"


# The register -------------------------------------------------------------------------

SELECT_FILTER = "wagtail_correspondence/register/select_filter.html"


class SelectFilter:
    """A filter shown as one select instead of a column of links: the register has ten
    filters, and as links they filled the sidebar with some sixty buttons.

    ``as_html`` writes what ``SELECT_FILTER`` renders (the template stays the reference, and
    what modeladmin's own tag would render) directly: the department, category and assignee
    selects have an option per node or person, and rendering each option through the template
    cost some 10 ms of every list page. The register's index template calls it through
    ``{% register_list_filter %}``."""

    template = SELECT_FILTER

    def as_html(self, changelist):
        title = conditional_escape(self.title)
        slug = slugify(self.title)
        options = "".join(
            f'<option value="{conditional_escape(iri_to_uri(choice["query_string"]))}"'
            f'{" selected" if choice["selected"] else ""}>{conditional_escape(choice["display"])}</option>'
            for choice in self.choices(changelist))
        label = gettext("By %(filter_title)s") % {"filter_title": title}
        return mark_safe(
            f'<div class="cc-filter" data-filter="{slug}">'
            f'<label class="cc-filter__label" for="{slugify("cc-filter-" + str(self.title))}">{label}</label>'
            f'<select id="{slugify("cc-filter-" + str(self.title))}" data-filter-select>{options}</select></div>')


class ChoiceSelectFilter(SelectFilter, admin.ChoicesFieldListFilter):
    """A field's choices (direction, status, priority, kind, channel) as one select."""


class OverdueFilter(SelectFilter, admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("soon", _("Due within a day")), ("paused", _("Clock paused"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.overdue(now)
        if self.value() == "soon":
            return queryset.open().filter(due_at__gte=now, due_at__lt=now + timedelta(
                hours=get_setting("REGISTER")["DUE_SOON_HOURS"]), sla_paused_at__isnull=True)
        if self.value() == "paused":
            return queryset.open().filter(sla_paused_at__isnull=False)
        return queryset


class TreeFilter(SelectFilter, admin.SimpleListFilter):
    """A department or category and everything below it (the select shows the tree indented);
    with ``<parameter>_only=1``, that node alone (the dashboard's bars count each department's
    own entries, and open the list that shows exactly those)."""

    model = None
    field = ""

    def __init__(self, request, params, model, model_admin):
        only = params.pop(f"{self.parameter_name}_only", None)
        self.only = (only[-1] if isinstance(only, list) else only) == "1"
        super().__init__(request, params, model, model_admin)

    def expected_parameters(self):
        return [self.parameter_name, f"{self.parameter_name}_only"]

    def lookups(self, request, model_admin):
        return [(node.code, node.indented_name) for node in self.model.objects.order_by("path")]

    def choices(self, changelist):
        only = f"{self.parameter_name}_only"
        yield {"selected": self.value() is None, "display": _("All"),
               "query_string": changelist.get_query_string(remove=[self.parameter_name, only])}
        for code, title in self.lookup_choices:
            if self.only and self.value() == str(code):
                yield {"selected": True, "display": _("%(name)s only (not below it)") % {"name": title},
                       "query_string": changelist.get_query_string()}
            yield {"selected": self.value() == str(code) and not self.only, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: code}, [only])}

    def queryset(self, request, queryset):
        node = self.model.objects.filter(code=self.value()).first() if self.value() else None
        if node is None:
            return queryset
        if self.only:
            return queryset.filter(**{f"{self.field}__path": node.path})
        return queryset.filter(**{f"{self.field}__path__startswith": node.path})


class DepartmentFilter(TreeFilter):
    title = _("department")
    parameter_name = "department"
    model = Department
    field = "department"


class CategoryFilter(TreeFilter):
    title = _("category")
    parameter_name = "category"
    model = Category
    field = "category"


class AssigneeFilter(SelectFilter, admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        people = [(str(user.pk), user.get_full_name() or user.get_username()) for user in workers()]
        return [("me", _("Me")), ("none", _("Nobody"))] + people

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class DateRangeFilter(admin.ListFilter):
    """From–to dates on one date field, as two date inputs (the presets of Django's date
    filter cannot say "received between 1 and 15 March")."""

    field = "received_at"
    title = _("received between")
    template = "wagtail_correspondence/register/date_range_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.parameters = (f"{self.field}_from", f"{self.field}_to")
        self.values, self.errors = {}, []
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                value = (value[-1] if isinstance(value, list) else value).strip()
                try:
                    self.values[name] = datetime.date.fromisoformat(value) if value else None
                except ValueError:
                    self.errors.append(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value})
        self.request = request

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def choices(self, changelist):
        others = [(name, value) for name, values in self.request.GET.lists() for value in values
                  if name not in self.parameters and name != "p"]
        yield {"from": self.values.get(self.parameters[0]), "to": self.values.get(self.parameters[1]),
               "from_name": self.parameters[0], "to_name": self.parameters[1], "others": others,
               "errors": self.errors, "clear": changelist.get_query_string(remove=list(self.parameters))}

    def queryset(self, request, queryset):
        start, end = (self.values.get(name) for name in self.parameters)
        if start:
            queryset = queryset.filter(**{f"{self.field}__date__gte": start})
        if end:
            queryset = queryset.filter(**{f"{self.field}__date__lte": end})
        return queryset


class RegisteredRangeFilter(DateRangeFilter):
    field = "registered_at"
    title = _("registered between")


class ScopedSearchHandler(WagtailBackendSearchHandler):
    """Full-text search through Wagtail's search backend, limited to what the user may see:
    the backend answers which entries match, the scope queryset decides which are shown."""

    def search_queryset(self, queryset, search_term, preserve_order=False, **kwargs):
        return search_entries(queryset, search_term)


class RegisterPermissionHelper(PermissionHelper):
    """Model permissions, narrowed to the user's scope (services/register_access.py).
    Register entries are records: nobody deletes them."""

    def user_can_list(self, user):
        return user.is_active and user.has_perm(access.VIEW)

    def user_can_create(self, user):
        return access.can_register(user)

    def user_can_inspect_obj(self, user, obj):
        # Rows of the list come from the user's scoped queryset, marked as such: asking the
        # database again for each row's buttons would cost several queries per row.
        return getattr(obj, "in_user_scope", False) or access.can_view(user, obj)

    def user_can_edit_obj(self, user, obj):
        if getattr(obj, "in_user_scope", False):
            return user.is_active and user.has_perm(access.CHANGE)
        return access.can_change(user, obj)

    def user_can_delete_obj(self, user, obj):
        return False


class RegisterButtonHelper(ButtonHelper):
    def add_button(self, classnames_add=None, classnames_exclude=None):
        button = super().add_button(classnames_add, classnames_exclude)
        button.update(label=_("Register incoming mail"), title=_("Register mail that arrived"))
        return button

    def inspect_button(self, pk, classnames_add=None, classnames_exclude=None):
        return self._row_button("inspect", super().inspect_button, pk, classnames_add, classnames_exclude)

    def edit_button(self, pk, classnames_add=None, classnames_exclude=None):
        return self._row_button("edit", super().edit_button, pk, classnames_add, classnames_exclude)

    # Stands for an entry's key in an action's address, made once per list (see _row_button).
    PK_PLACEHOLDER = "cc_pk_placeholder"

    def _row_button(self, action, make, pk, classnames_add, classnames_exclude):
        # A row's button differs from the next row's only by its address: its words and classes
        # are made (and translated) once per list, not once per row, and its address is the
        # action's, reversed once, with the row's key put in.
        key = (action, tuple(classnames_add or ()), tuple(classnames_exclude or ()))
        made = self.__dict__.setdefault("_row_buttons", {})
        if key not in made:
            made[key] = (make(pk, classnames_add, classnames_exclude),
                         self.url_helper.get_action_url(action, self.PK_PLACEHOLDER))
        button, address = made[key]
        return {**button, "url": address.replace(self.PK_PLACEHOLDER, str(quote(pk)))}


class RegisterPaginator(WagtailPaginator):
    """Numbered pages over a count that stops at ``EXACT_COUNT_LIMIT`` (``capped_count``):
    beyond it the list says "more than" and pages through the first entries of that many; the
    filters and the date ranges narrow it from there. An exact count of a large register
    would cost a full scan on every page. When counting took too long (``UNCOUNTED``), each
    page reads one entry more than it shows, to know whether another page follows."""

    exact = None
    known_to_end = True

    def __init__(self, *args, count_limit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_limit = access.count_limit() if count_limit is None else count_limit

    @cached_property
    def count(self):
        self.exact = access.capped_count(self.object_list, self.count_limit)
        if self.exact is None or self.exact is access.UNCOUNTED:
            self.known_to_end = False
            return self.count_limit
        return self.exact

    def page(self, number):
        self.count  # noqa: B018 - counts first
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if self.exact is not access.UNCOUNTED:
            top = bottom + self.per_page
            if top + self.orphans >= self.count:
                top = self.count
            return self._get_page(access.page_of(self.object_list, bottom, top), number, self)
        rows = access.page_of(self.object_list, bottom, bottom + self.per_page + 1)
        if not rows and number > 1:
            raise EmptyPage(_("That page contains no results"))
        more = len(rows) > self.per_page
        # What this page shows of the list: the pages up to here, and one more if it follows.
        self.__dict__.update(count=bottom + len(rows), num_pages=number + more)
        self.__dict__.pop("page_range", None)
        self.known_to_end = not more
        return self._get_page(rows[:self.per_page], number, self)

    @cached_property
    def items_count_label(self):
        if not self.known_to_end:
            return _("More than %(count)s register entries") % {"count": intcomma(
                self.count - 1 if self.exact is access.UNCOUNTED else self.count)}
        return ngettext("%(count)s register entry", "%(count)s register entries", self.count) % {
            "count": intcomma(self.count)}


class RegisterIndexView(FormulaSafeExportMixin, CheckedIndexView):
    paginator_class = RegisterPaginator

    def get_context_data(self, **kwargs):
        # IndexView counts the whole scope and the filtered list, and its paginator counts the
        # list again: three full counts per page. Here one count, capped, is enough.
        # The list dispatch() already filtered and searched (self.queryset), not a second one.
        paginator = self.paginator_class(self.queryset, self.items_per_page,
                                         count_limit=access.count_limit(searched=bool(self.query)))
        try:
            page_obj = paginator.page(self.page_num)
        except InvalidPage:
            page_obj = paginator.page(1)
        context = {
            "view": self,
            "paginator": paginator,
            "page_obj": page_obj,
            "elided_page_range": paginator.get_elided_page_range(self.page_num),
            "object_list": page_obj.object_list,
            "result_count": paginator.count,
            "result_count_label": paginator.items_count_label,
            "count_is_capped": not paginator.known_to_end,
            "count_timed_out": paginator.exact is access.UNCOUNTED,
            # Only whether the user has any entry at all (the empty state, the filter column).
            "all_count": paginator.count or self.get_base_queryset().exists(),
            "user_can_create": self.permission_helper.user_can_create(self.request.user),
            "show_search": self.search_handler.show_search_form,
            "result_headers": list(result_headers(self)),
            "rows": self.result_rows(page_obj.object_list),
        }
        context.update(kwargs)
        return WMABaseView.get_context_data(self, **context)

    def dispatch(self, request, *args, **kwargs):
        if request.GET.get(self.EXPORT_VAR) and not access.can_export(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def result_rows(self, entries):
        """The list's rows as HTML, each made in one pass: the cells modeladmin's result_list
        tag renders (the same classes, attributes and action buttons), without its lookup,
        display and template per cell, which cost a third of the page's time. Text is escaped
        with ``conditional_escape`` as ``format_html`` would; the string is built directly (a
        page of 50 rows made some 800 ``format_html`` calls)."""
        admin, request = self.model_admin, self.request
        first = admin.get_list_display_add_buttons(request)
        columns = []
        for name in admin.get_list_display(request):
            method = getattr(admin, name, None)
            nowrap = method is None and isinstance(Correspondence._meta.get_field(name),
                                                   (models.DateField, models.ForeignKey))
            columns.append((name, method, f"field-{name} title" + (" nowrap" if nowrap else "")))
        empty = admin.get_empty_value_display()
        rows = []
        for index, entry in enumerate(entries):
            attrs = admin.get_extra_attrs_for_row(entry, {})
            attrs["data-object-pk"] = entry.pk
            attrs["class"] = " ".join(filter(None, [attrs.get("class", ""), "even" if index % 2 else "odd"]))
            cells = []
            for name, method, classes in columns:
                value = method(entry) if method is not None else getattr(entry, name)
                shown = empty if value is None or value == "" else value
                if name == first:
                    cells.append(self.first_cell(entry, classes, shown))
                else:
                    cells.append(f'<td class="{classes}">{conditional_escape(shown)}</td>')
            rows.append({"attrs": flatatt(attrs), "cells": mark_safe("".join(cells))})
        return rows

    def first_cell(self, entry, classes, shown):
        shown = conditional_escape(shown)
        primary = self.button_helper.get_primary_button(entry)
        if primary and primary.get("url"):
            shown = (f'<div class="title-wrapper"><a href="{conditional_escape(primary["url"])}" '
                     f'title="{conditional_escape(primary.get("title", ""))}">{shown}</a></div>')
        buttons = "".join(
            f'<li><a href="{conditional_escape(button["url"])}" class="{conditional_escape(button["classname"])}" '
            f'title="{conditional_escape(button["title"])}">{conditional_escape(button["label"])}</a></li>'
            for button in self.get_buttons_for_obj(entry))
        actions = f'<ul class="actions">{buttons}</ul>' if buttons else ""
        return f'<td class="{classes}">{shown}{actions}</td>'

    # Set by ``write_register_list`` (a background export): (binary file, progress). The view
    # then writes the list's export there instead of answering with it.
    background_export = None

    def as_spreadsheet(self, queryset, spreadsheet_format):
        if self.background_export is not None:
            output, progress = self.background_export
            progress.counted(queryset.count())
            return self.write_spreadsheet(queryset, spreadsheet_format, output, progress)
        if register_exports.is_large(access.capped_count(queryset)):
            return self.queue_export(spreadsheet_format)
        # The export is about many entries: its log entry is on the user who exported.
        log(self.request.user, log_actions.REGISTER_EXPORTED, user=self.request.user, data={
            "format": spreadsheet_format, "count": queryset.count(), "filters": self.request.GET.urlencode()})
        return super().as_spreadsheet(queryset, spreadsheet_format)

    def queue_export(self, spreadsheet_format):
        """Too many entries to write during the request: a background export of this list, on
        the Exports page."""
        register_exports.queue_export(self.request.user, spreadsheet_format, self.request.GET.urlencode(),
                                      self.get_page_title())
        messages.success(self.request, _(
            "This list has more than %(limit)s entries: its export is being written in the background. Download "
            "it here once it is ready.") % {"limit": intcomma(register_exports.inline_limit())})
        return redirect("wagtail_correspondence_register:exports")

    def to_row_dict(self, item):
        # Empty cells stay empty: modeladmin would write "-", which the formula rule quotes.
        return OrderedDict((field, lookup_field(field, item, self.model_admin)[2]) for field in self.list_export)

    def get_page_title(self):
        """The list the menu entry opened, by name: the menus link to filtered lists."""
        params = self.request.GET
        if params.get("assignee") == "me":
            return _("My work")
        if params.get("deadline") == "overdue":
            return _("Overdue")
        direction = params.get("direction__exact")
        return {Direction.INBOUND: _("Inbound register"), Direction.OUTBOUND: _("Outbound register"),
                Direction.INTERNAL: _("Internal memos")}.get(direction, _("Register"))


class CorrespondenceAdmin(GuardedModelAdmin):
    model = Correspondence
    removed_views = ("delete",)  # register entries are records: nobody deletes them
    menu_label = _("Register")
    menu_icon = "mail"
    add_to_admin_menu = False  # the Register menu in wagtail_hooks.py links here
    base_url_path = "correspondence/register/entries"
    permission_helper_class = RegisterPermissionHelper
    button_helper_class = RegisterButtonHelper
    index_view_class = RegisterIndexView
    index_template_name = "wagtail_correspondence/register/index.html"
    create_view_class = RegisterIncomingView
    edit_view_class = EditEntryView
    inspect_view_class = EntryInspectView
    inspect_view_enabled = True
    index_view_extra_css = ["wagtail_correspondence/css/register.css"]
    index_view_extra_js = ["wagtail_correspondence/js/register-filters.js"]
    list_display = ("reference", "subject_and_party", "status_badge", "department", "assignee_name", "due")
    list_filter = (("direction", ChoiceSelectFilter), ("status", ChoiceSelectFilter), DepartmentFilter,
                   AssigneeFilter, OverdueFilter, CategoryFilter, ("priority", ChoiceSelectFilter),
                   ("kind", ChoiceSelectFilter), ("channel", ChoiceSelectFilter), DateRangeFilter,
                   RegisteredRangeFilter)
    list_select_related = ("department", "assignee", "category")
    list_per_page = 50
    search_fields = ("reference", "subject", "body", "sender_name", "sender_organisation", "sender_email",
                     "customer_id", "external_reference")
    search_handler_class = ScopedSearchHandler
    list_export = ("reference", "direction", "kind", "channel", "subject", "sender_name", "sender_organisation",
                   "sender_email", "customer_id", "external_reference", "status", "priority", "confidentiality",
                   "category", "department", "assignee", "received_at", "sent_at", "registered_at", "due_at",
                   "responded_at", "closed_at", "delivery_status")
    export_filename = "register"
    ordering = ("-registered_at", "-pk")

    def object_rule(self):
        return policy_rule(register_entry_policy, kwarg="instance_pk")

    def get_queryset(self, request):
        return register_entry_policy.scope(request.user, "view", super().get_queryset(request)).annotate(
            in_user_scope=Value(True))

    def get_list_export(self, request):
        return self.list_export if access.can_export(request.user) else ()

    def get_extra_attrs_for_row(self, obj, context):
        return {"data-entry": obj.reference, "class": "cc-overdue" if obj.is_overdue else ""}

    # The cells below build their HTML with conditional_escape and mark_safe, as format_html
    # would, without its formatting machinery: they run for every row of every list page.

    @admin.display(description=_("Subject"), ordering="subject")
    def subject_and_party(self, obj):
        received = obj.received_at or obj.sent_at or obj.registered_at
        priority = (f' · <span class="w-status w-status--label">{conditional_escape(obj.get_priority_display())}'
                    '</span>') if obj.priority in ("high", "urgent") else ""
        return mark_safe(f'{conditional_escape(obj.subject)}<br><small class="cc-muted">'
                         f'{conditional_escape(obj.party or "—")} · {conditional_escape(dates.day(received))}'
                         f'{priority}</small>')

    @admin.display(description=_("Status"), ordering="status")
    def status_badge(self, obj):
        primary = " w-status--primary" if obj.is_open else ""
        return mark_safe(f'<span class="w-status{primary}">{conditional_escape(obj.get_status_display())}</span>')

    @admin.display(description=_("Assignee"), ordering="assignee__first_name")
    def assignee_name(self, obj):
        return (obj.assignee.get_full_name() or obj.assignee.get_username()) if obj.assignee_id else "—"

    @admin.display(description=_("Due"), ordering="due_at")
    def due(self, obj):
        if not obj.due_at or not obj.is_open:
            return "—"
        label = conditional_escape(dates.when(obj.due_at))
        if obj.sla_paused_at:
            return mark_safe(f'{label} <span class="w-status">{conditional_escape(_("paused"))}</span>')
        if obj.is_overdue:
            return mark_safe(f'<strong class="cc-overdue-label">{label}</strong> <span class="w-status '
                             f'w-status--label">{conditional_escape(_("overdue"))}</span>')
        return label


def write_register_list(user, query_string, spreadsheet_format, output, progress):
    """Background exports' way to the register list (``services.register_exports.connect``):
    the list ``user`` sees at ``query_string``, opened by the list's own view as the admin opens
    it for them (their scope, the filters, the search, the order, their language and time zone),
    its export written to ``output`` with the columns and cells of the inline export."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(query_string, mutable=True)
    request.GET["export"] = spreadsheet_format
    request.user = user
    view = RegisterIndexView(model_admin=CorrespondenceAdmin())
    view.setup(request)
    view.background_export = (output, progress)
    get_localized_response(view.dispatch, request)


class CategoryAdmin(GuardedModelAdmin):
    model = Category
    menu_label = _("Categories")
    menu_icon = "tag"
    add_to_admin_menu = False
    base_url_path = "correspondence/register/categories"
    list_display = ("indented_name", "code", "is_active")
    search_fields = ("name", "code")
    ordering = ("path",)
    edit_handler = ObjectList([FieldPanel("parent"), FieldPanel("name"), FieldPanel("code"),
                               FieldPanel("description"), FieldPanel("is_active")], base_form_class=CategoryForm)

    @admin.display(description=_("Name"), ordering="path")
    def indented_name(self, obj):
        return obj.indented_name


class RoutingRuleAdmin(GuardedModelAdmin):
    model = RoutingRule
    menu_label = _("Routing rules")
    menu_icon = "redirect"
    add_to_admin_menu = False
    base_url_path = "correspondence/register/routing-rules"
    list_display = ("sort_order", "name", "department", "assignment", "priority", "sla_policy", "is_active")
    list_filter = ("is_active", "department", "assignment")
    search_fields = ("name", "keywords", "senders")
    ordering = ("sort_order", "pk")
    form_view_extra_js = []
    edit_handler = ObjectList([
        FieldPanel("name"), FieldPanel("sort_order"), FieldPanel("is_active"), FieldPanel("direction"),
        FieldPanel("kinds"), FieldPanel("channels"), FieldPanel("categories"), FieldPanel("senders"),
        FieldPanel("keywords"), FieldPanel("customer_condition"), FieldPanel("department"),
        FieldPanel("assignment"), FieldPanel("assignee"), FieldPanel("priority"), FieldPanel("sla_policy"),
    ], base_form_class=RoutingRuleForm)


class SlaPolicyAdmin(GuardedModelAdmin):
    model = SlaPolicy
    menu_label = _("SLA policies")
    menu_icon = "time"
    add_to_admin_menu = False
    base_url_path = "correspondence/register/sla-policies"
    list_display = ("name", "category", "priority", "response_time", "unit", "reminder_percentages", "is_active")
    list_filter = ("is_active", "unit", "priority")
    search_fields = ("name",)
    edit_handler = ObjectList([FieldPanel("name"), FieldPanel("category"), FieldPanel("priority"),
                               FieldPanel("response_time"), FieldPanel("unit"), FieldPanel("reminder_percentages"),
                               FieldPanel("escalation_interval_hours"), FieldPanel("is_active")],
                              base_form_class=VersionedForm)


class RetentionPolicyAdmin(GuardedModelAdmin):
    model = RetentionPolicy
    menu_label = _("Retention policies")
    menu_icon = "bin"
    add_to_admin_menu = False
    base_url_path = "correspondence/register/retention-policies"
    list_display = ("name", "category", "period", "action", "is_active")
    list_filter = ("is_active", "action")
    search_fields = ("name",)
    edit_handler = ObjectList([FieldPanel("name"), FieldPanel("category"), FieldPanel("retain_years"),
                               FieldPanel("retain_days"), FieldPanel("action"), FieldPanel("is_active")],
                              base_form_class=VersionedForm)

    @admin.display(description=_("Kept for"))
    def period(self, obj):
        return obj.period_display


class BusinessCalendarAdmin(GuardedModelAdmin):
    model = BusinessCalendar
    menu_label = _("Business calendars")
    menu_icon = "date"
    add_to_admin_menu = False
    base_url_path = "correspondence/register/calendars"
    list_display = ("name", "country", "subdivision", "day_start", "day_end")
    search_fields = ("name",)
    edit_handler = ObjectList([FieldPanel("name"), FieldPanel("country"), FieldPanel("subdivision"),
                               FieldPanel("working_days"), FieldPanel("day_start"), FieldPanel("day_end"),
                               FieldPanel("time_zone"), FieldPanel("extra_closed_days")],
                              base_form_class=BusinessCalendarForm)
